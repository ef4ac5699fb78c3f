"""The supervisor's Reports view in Debian's Chromium (tests/browser/reports.spec.js,
playwright-core): a fortnight of daily roll-ups (thirteen days as kept roll-ups, the fourteenth
— today on the test clock — rolled up by the router from the day's live counters when the report
is asked for) shown as per-day SVG charts and tables by queue, agent, strategy, reason and
disposition;
the CSV export downloaded through the page, with an agent's name that has a comma and quotes
quoted. Screenshots at 1280×720 and 1920×1080. Real processes: redis-server, hilo-router, the
hilo CLI. Screenshots: tests/artifacts/browser/reports-*.png."""

import datetime
import os
import unittest

from hilo_browser import CHROMIUM, NODE, playwright_ready, run_spec
from hilo_console import PASSWORD, add_agent, console_overrides
from hilo_harness import HiloTestCase, TEST_CLOCK_KEY, cli_path, write_conf

TODAY = datetime.date(2026, 11, 24)
NOW_MS = int(datetime.datetime(2026, 11, 24, 15, 0, tzinfo=datetime.timezone.utc).timestamp() * 1000)


def day_number(d):
    return (d - datetime.date(1970, 1, 1)).days


@unittest.skipUnless(cli_path() and NODE and os.access(CHROMIUM, os.X_OK), "needs the CLI, node and /usr/bin/chromium")
class ReportsBrowser(HiloTestCase):
    def test_reports_view_charts_tables_and_csv_in_chromium(self):
        if not playwright_ready():
            self.skipTest("playwright-core is not installed (tests/browser/install.sh)")
        redis = self.redis()
        r = redis.client()
        overrides = console_overrides()
        overrides["engine"]["test_clock"] = "true"
        router = self.router(redis, overrides=overrides, start=False)
        router.conf["console"]["allowed_origins"] = "http://127.0.0.1:%d" % router.http_port
        write_conf(router.conf_path, router.conf)
        r.set(TEST_CLOCK_KEY, str(NOW_MS))
        router.start()
        add_agent(router.conf_path, "ana", name='Ana "la jefa", Pérez')
        add_agent(router.conf_path, "ben", name="Ben Agent")
        add_agent(router.conf_path, "sue", name="Sue Supervisor", role="supervisor", skills="")
        r.sadd("hilo:queues", "en.collections", "es.collections")
        # Thirteen kept days: a weekday rhythm, quieter weekends.
        escalated, sent = 6, 0  # today's escalations: below
        for i in range(13, 0, -1):
            d = TODAY - datetime.timedelta(days=i)
            n = 4 if d.weekday() >= 5 else 10 + (i * 7) % 9
            f = {"q|en.collections|escalated": n, "q|en.collections|offered": n, "q|en.collections|answered": n - 1,
                 "q|en.collections|closed": n - 2, "q|en.collections|sla_met": n - 3, "q|en.collections|sla_breached": 2,
                 "q|es.collections|escalated": n // 2, "q|es.collections|answered": n // 2, "q|es.collections|closed": n // 2,
                 "q|es.collections|sla_met": n // 2,
                 "a|ana|answered": n - 1, "a|ana|closed": n - 2, "a|ana|disp:promise_to_pay": n - 4, "a|ana|disp:refused": 2,
                 "a|ben|answered": n // 2, "a|ben|closed": n // 2, "a|ben|disp:paid": n // 2,
                 "r|requested_agent": n, "r|dispute": n // 2, "d|promise_to_pay": n - 4, "d|refused": 2,
                 "d|paid": n // 2, "b|outside_contact_hours": 1,
                 # A strategy's day: its funnel's totals at the day's last pass less where it began.
                 "s|demo_reminders|base:sent": 1000 * i, "s|demo_reminders|total:sent": 1000 * i + 3 * n,
                 "s|demo_reminders|base:delivered": 900 * i, "s|demo_reminders|total:delivered": 900 * i + 2 * n}
            r.hset("hilo:{r:%d}:rollup" % day_number(d), mapping=f)
            escalated += n + n // 2
            sent += 3 * n
        # Today: only the live counters, as route_offer.lua and agent_ops.lua keep them.
        t = day_number(TODAY)
        r.hset("hilo:stats:%d" % t, mapping={"escq:en.collections": 6, "offered:en.collections": 6,
                                             "answered:en.collections": 5, "closed:en.collections": 3,
                                             "esc:requested_agent": 5, "esc:hardship": 1,
                                             "a:ana:answered": 5, "a:ana:closed": 3,
                                             "a:ana:disp:promise_to_pay": 3, "disp:promise_to_pay": 3})
        r.hset("hilo:{q:en.collections}:sla:%d" % t, mapping={"met": 4, "breached": 1})
        env = dict(HILO_URL="http://127.0.0.1:%d/console/" % router.http_port, HILO_SUPERVISOR="sue",
                   HILO_PASSWORD=PASSWORD, HILO_FROM=(TODAY - datetime.timedelta(days=13)).isoformat(),
                   HILO_TO=TODAY.isoformat(), HILO_ESCALATED=str(escalated), HILO_SENT=str(sent))
        run_spec(self, "reports.spec.js", env)
        self.assertEqual(r.hget("hilo:{r:%d}:rollup" % t, "q|en.collections|escalated"), "6")


if __name__ == "__main__":
    unittest.main()
