"""The outbound strategies in the console, in Debian's Chromium (tests/browser/strategies.spec.js,
playwright-core): the router loads the demo strategy and a second one from its [strategies] dir;
`hilo strategy start` sets the demo running and the router's own strategy runner enters three
debtors (on the test clock, a Tuesday morning in New York); the supervisor's Strategies panel
shows its state and the funnel the runner counts, plus counts seeded for the other columns, and
follows a pause and a new count live; the agent's debtor panel shows each assigned debtor's step
in words (due, held, stopped) and the last strategy events; an agent asking for the panel is
refused. Real processes: redis-server, hilo-router, the hilo CLI. Screenshots:
tests/artifacts/browser/strategies-*.png."""

import os
import unittest

from hilo_browser import CHROMIUM, NODE, playwright_ready, run_spec
from hilo_console import PASSWORD, add_agent, console_overrides
from hilo_harness import (TEST_CLOCK_OVERRIDES, HiloTestCase, cli_path, debtor_key, run_cli, seed_debtor,
                          use_workday_clock, wait_until, write_conf)
from hilo_strategies import funnel_key, place, strategy_event, write_strategies

FRIDAY_10AM_NY = 1795791600000  # Fri 2026-11-27 10:00 America/New_York
ENROLLED = ("R1", "R2", "R3")
SEEDED = {"champion|hello_whatsapp|delivered": 6, "champion|hello_whatsapp|read": 3,
          "champion|hello_whatsapp|replied": 2, "champion|hello_whatsapp|stopped:paid": 2,
          "champion|hello_whatsapp|refused:outside_contact_hours": 4, "champion|hello_whatsapp|unknown": 1,
          "sms_first|hello_sms|collected_cents": 12500, "sms_first|hello_sms|cost_micros:USD": 12500}


@unittest.skipUnless(cli_path() and NODE and os.access(CHROMIUM, os.X_OK), "needs the CLI, node and /usr/bin/chromium")
class StrategiesBrowser(HiloTestCase):
    def test_supervisor_funnel_and_agent_step_in_chromium(self):
        if not playwright_ready():
            self.skipTest("playwright-core is not installed (tests/browser/install.sh)")
        redis = self.redis()
        r = redis.client()
        overrides = console_overrides()
        overrides["engine"].update(TEST_CLOCK_OVERRIDES["engine"])
        overrides["strategies"] = {"dir": write_strategies(os.path.join(self.workdir, "strategies")), "poll_ms": 100}
        use_workday_clock(r)
        router = self.router(redis, overrides=overrides, start=False)
        router.conf["console"]["allowed_origins"] = "http://127.0.0.1:%d" % router.http_port
        write_conf(router.conf_path, router.conf)
        router.start()
        add_agent(router.conf_path, "ana", name="Ana Agent")
        add_agent(router.conf_path, "sue", name="Sue Supervisor", role="supervisor", skills="")

        # The agent's debtors, assigned to her, each at a place the runner writes; they are not in
        # hilo:debtors, so `hilo strategy start` leaves them to this test.
        for did, name, strat in (
                ("A1", "Ada Due", place("due", "demo_reminders", "sms_day3", at_ms=FRIDAY_10AM_NY,
                                        last="hello_whatsapp", sent_ms=FRIDAY_10AM_NY - 3 * 86400000)),
                ("A2", "Hal Held", place("hold", "demo_reminders", "hello_whatsapp", why="reply", prev="out",
                                         sent_ms=FRIDAY_10AM_NY - 86400000)),
                ("A3", "Stu Stopped", place("stop", "demo_reminders", "hello_whatsapp", why="paid", prev="due"))):
            seed_debtor(r, did, ["+1650555%04d" % (2000 + int(did[1]))], full_name=name)
            r.srem("hilo:debtors", did)
            r.hset(debtor_key(did, "conv"), mapping={"state": "assigned", "agent": "ana", "last_channel": "sms",
                                                     "strat": strat})
            r.sadd("hilo:agent:ana:convs", did)
        strategy_event(r, "A1", "entered", step="hello_whatsapp", reason="early", ms=FRIDAY_10AM_NY - 3 * 86400000)
        strategy_event(r, "A1", "scheduled", step="sms_day3", ms=FRIDAY_10AM_NY - 3 * 86400000 + 1000)

        # Debtors the runner itself takes: early segment (30 days past due), consent for both channels.
        for i, did in enumerate(ENROLLED):
            phone = "+1650555%04d" % (1000 + i)
            seed_debtor(r, did, [phone])
            for ch in ("whatsapp", "sms"):
                r.hset(debtor_key(did, "consent"), "%s:%s" % (ch, phone), "granted|1795000000000|import")
        r.hset(funnel_key("demo_reminders"), mapping=SEEDED)
        run_cli(router.conf_path, "strategy", "start", "demo_reminders")

        def entered():
            f = r.hgetall(funnel_key("demo_reminders"))
            return sum(int(v) for k, v in f.items() if k.endswith("|entered")) == len(ENROLLED)
        wait_until(entered, 30, "the runner enters the three debtors")

        def on_step(step):
            if step == "pause":
                run_cli(router.conf_path, "strategy", "pause", "demo_reminders")
                r.hincrby(funnel_key("demo_reminders"), "champion|hello_whatsapp|delivered", 1)

        run_spec(self, "strategies.spec.js",
                 dict(HILO_URL="http://127.0.0.1:%d/console/" % router.http_port, HILO_AGENT="ana",
                      HILO_SUPERVISOR="sue", HILO_PASSWORD=PASSWORD, HILO_ENTERED=str(len(ENROLLED))), on_step)
        # The agent's debtors were left alone by the runner (their places are still the seeded ones).
        self.assertTrue(r.hget(debtor_key("A3", "conv"), "strat").startswith("stop|demo_reminders|"))


if __name__ == "__main__":
    unittest.main()
