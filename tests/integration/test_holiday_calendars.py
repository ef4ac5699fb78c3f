"""The shipped holiday calendars do not run out unnoticed (docs/compliance.md, "Holiday calendars").

A rule pack that closes on public holidays blocks every contact with `no_holiday_data` once its
calendar (deploy/compliance/holidays/<CC>.txt) has no year for the date. So:

* the suite fails when any shipped calendar has less than a year left from today: this is the one
  test that reads today's date on purpose, as an alarm a year ahead of the outage;
* a real router exports each loaded pack's end as hilo_compliance_holidays_until_seconds{pack,
  calendar} (Unix time, 00:00 UTC after the calendar's last day), the value the HiloHolidayCalendarEnding
  alert compares with time(); a reload after the calendar is edited changes it.
"""

import calendar
import datetime
import glob
import os
import re
import shutil
import signal
import unittest

from engine_helpers import COMPLIANCE, EngineTestCase
from hilo_harness import wait_until

YEAR_S = 365 * 86400
LINE = re.compile(r"^(\d{4})-\d{2}-\d{2} \S")


def last_year(path):
    """The last year a calendar file has holidays for."""
    with open(path, encoding="utf-8") as f:
        years = [int(m.group(1)) for m in (LINE.match(l) for l in f) if m]
    assert years, "%s: no holidays" % path
    return max(years)


def year_end(year):
    """00:00 UTC on 1 January after `year`, Unix seconds."""
    return calendar.timegm((year + 1, 1, 1, 0, 0, 0))


def packs_with_calendars(directory):
    """{pack id: calendar country code} for the packs that close or shorten contact on holidays."""
    out = {}
    for path in glob.glob(os.path.join(directory, "*.pack")):
        with open(path, encoding="utf-8") as f:
            m = re.search(r"^holidays\s*=\s*(\S+)", f.read(), re.M)
        if m and m.group(1) != "none":
            out[os.path.basename(path)[:-5]] = m.group(1)
    return out


class HolidayCalendars(EngineTestCase):
    def test_every_shipped_calendar_has_a_year_left(self):
        now = datetime.datetime.now(datetime.timezone.utc).timestamp()
        files = sorted(glob.glob(os.path.join(COMPLIANCE, "holidays", "*.txt")))
        self.assertGreaterEqual(len(files), 5, files)
        short = {os.path.basename(p): datetime.date(last_year(p), 12, 31).isoformat()
                 for p in files if year_end(last_year(p)) - now < YEAR_S}
        self.assertEqual(short, {}, "calendars that end within a year (add the next years' holidays, "
                         "docs/compliance.md): %s" % short)

    def test_the_router_exports_each_packs_calendar_end(self):
        packs = os.path.join(self.workdir, "compliance")
        shutil.copytree(COMPLIANCE, packs)
        self.start_engine(channels=(), compliance_dir=packs)
        want = packs_with_calendars(packs)
        self.assertTrue({"co_ley_2300", "cl", "pe"} <= set(want), want)
        m = self.router_.metrics()
        got = {(l["pack"], l["calendar"]): v for n, l, v in m.series if n == "hilo_compliance_holidays_until_seconds"}
        self.assertEqual(set(got), set(want.items()))
        for (pack, cc), v in got.items():
            self.assertEqual(v, year_end(last_year(os.path.join(packs, "holidays", cc + ".txt"))), pack)

        # Colombia's calendar cut back to 2025-2026: after a reload the gauge says so.
        co = os.path.join(packs, "holidays", "CO.txt")
        with open(co, encoding="utf-8") as f:
            kept = [l for l in f if not (LINE.match(l) and int(l[:4]) > 2026)]
        with open(co, "w", encoding="utf-8") as f:
            f.writelines(kept)
        os.kill(self.router_.proc.pid, signal.SIGHUP)
        wait_until(lambda: self.router_.log_lines("mod=router", "event=reloaded"), 10, "the reload")
        m = self.router_.metrics()
        self.assertEqual(m.value("hilo_compliance_holidays_until_seconds", pack="co_ley_2300", calendar="CO"),
                         year_end(2026))
        self.assertEqual(m.value("hilo_compliance_holidays_until_seconds", pack="pe", calendar="PE"),
                         got[("pe", "PE")])


if __name__ == "__main__":
    unittest.main(verbosity=2)
