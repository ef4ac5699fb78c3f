"""The console's bugs from a working day (issue 25), in Debian's Chromium
(tests/browser/console_workday.spec.js, playwright-core), whose context runs in Asia/Tokyo while
the debtor lives in Bogotá:
1. the thread opens at its newest message and follows new ones; scrolled up, the agent gets a
   "new messages" marker instead of being pulled down;
2. a refused wrap-up says what is wrong in words, next to the form, scrolled into view (1280×720
   and 400 px wide), never the bare code (bad_promise);
3. a transfer to a queue nobody serves is refused in words and the conversation stays with the
   agent (checked in Redis);
5. the call-back time is entered in the debtor's zone (labelled America/Bogota), the agent's own
   equivalent is shown, and 10:00 is stored as 10:00 in Bogotá (checked in Redis).
(4, logging out, is tests/integration/test_console_workday.py: no browser needed.) Real
processes: redis-server, hilo-router, hilo-whatsapp, hilo-sms and the sandbox. Screenshots:
tests/artifacts/browser/workday-*.png."""

import datetime
import json
import os
import unittest
import zoneinfo

from hilo_harness import HiloTestCase, cli_path, debtor_key, seed_debtor
from hilo_browser import CHROMIUM, NODE, console_stack, playwright_ready, run_spec
from hilo_console import PASSWORD, add_agent, escalate

CARLOS, PHONE = "DC1", "+16505550178"
BOGOTA = zoneinfo.ZoneInfo("America/Bogota")
TOKYO = zoneinfo.ZoneInfo("Asia/Tokyo")


@unittest.skipUnless(cli_path() and NODE and os.access(CHROMIUM, os.X_OK), "needs the CLI, node and /usr/bin/chromium")
class ConsoleWorkdayBrowser(HiloTestCase):
    def test_working_day_bugs_in_chromium(self):
        if not playwright_ready():
            self.skipTest("playwright-core is not installed (tests/browser/install.sh)")
        stack = console_stack(self)
        r = stack.r
        seed_debtor(r, CARLOS, [PHONE], full_name="Carlos Restrepo", balance="1250.00", currency="USD",
                    timezone="America/Bogota", country="CO", language="es")
        # An older thread, longer than the page: 30 messages either way, as the router stores them.
        for i in range(30):
            item = {"ch": "sms", "dir": "in" if i % 2 == 0 else "out", "kind": "text", "sent_ms": 1764000000000 + i,
                    "recv_ms": 1764000000000 + i, "text": "Earlier message %02d about the account" % i}
            if item["dir"] == "out":
                item["by"] = "bot"
            r.xadd(debtor_key(CARLOS, "hist"), {"j": json.dumps(item)})
        stack.debtor_says(CARLOS, PHONE, "whatsapp", "I would like to talk to a person please")
        escalate(r, CARLOS, channel="whatsapp", reason="requested_agent", addr=PHONE)
        add_agent(stack.router.conf_path, "pat", name="Pat Agent", skills="en.collections")

        # A call-back a month ahead, at 10:00 where Carlos lives; midnight of the next day in Tokyo.
        day = (datetime.datetime.now(BOGOTA) + datetime.timedelta(days=30)).date()
        at = datetime.datetime(day.year, day.month, day.day, 10, 0, tzinfo=BOGOTA)
        tokyo = at.astimezone(TOKYO)

        def on_step(step):
            if step == "message-1":
                stack.debtor_says(CARLOS, PHONE, "whatsapp", "Newest message one")
            elif step == "message-2":
                stack.debtor_says(CARLOS, PHONE, "whatsapp", "Newest message two")
            elif step == "transfer-refused":
                conv = r.hgetall(debtor_key(CARLOS, "conv"))
                self.assertEqual((conv["state"], conv["agent"]), ("assigned", "pat"), conv)
                self.assertIsNone(r.zscore("hilo:queue:es.nobody", CARLOS))
                self.assertNotIn("disposition", conv)
            elif step == "callback-saved":
                conv = r.hgetall(debtor_key(CARLOS, "conv"))
                self.assertEqual(conv["state"], "closed", conv)
                self.assertEqual(int(conv["callback_ms"]), int(at.timestamp() * 1000),
                                 "stored %s, wanted 10:00 in Bogotá" %
                                 datetime.datetime.fromtimestamp(int(conv["callback_ms"]) / 1000, BOGOTA))
                disp = json.loads(conv["disposition"])
                self.assertEqual((disp["code"], disp["callback_tz"], disp["callback_at"]),
                                 ("callback", "America/Bogota", day.isoformat() + "T10:00"))

        env = dict(HILO_URL=stack.origin + "/console/", HILO_AGENT="pat", HILO_PASSWORD=PASSWORD, HILO_DEBTOR=CARLOS,
                   HILO_CB_LOCAL=day.isoformat() + "T10:00",
                   HILO_CB_AGENT=tokyo.strftime("%-d %b %Y") + ", " + tokyo.strftime("%H:%M"))
        run_spec(self, "console_workday.spec.js", env, on_step)
        self.assertTrue(stack.alive(), "a helper process died")


if __name__ == "__main__":
    unittest.main()
