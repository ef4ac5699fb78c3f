"""The supervisor floor's drill-down and live SLA alerts in Debian's Chromium
(tests/browser/drill.spec.js, playwright-core), on the router's test clock: a click on a queue
shows who waits (name, channel, why, how long) and the wait grows as the clock moves; when the
clock passes the queue's first-response target an alert naming queue, debtor and wait appears
without a reload; the calls view lists the voice call waiting and the one with an agent; a click
on that agent shows what they hold; the resolution figure sits beside the first-response one.
Real processes: redis-server, hilo-router, the hilo CLI. Screenshots at 1280×720 and 1920×1080:
tests/artifacts/browser/drill-*.png."""

import os
import unittest

from engine_helpers import local_ms
from hilo_browser import CHROMIUM, NODE, playwright_ready, run_spec
from hilo_console import PASSWORD, add_agent, console_overrides, escalate
from hilo_harness import HiloTestCase, TEST_CLOCK_KEY, cli_path, debtor_key, seed_debtor, write_conf

BOGOTA = "America/Bogota"
Q = "en.collections"
T0 = local_ms(BOGOTA, 2026, 11, 24, 10, 0)
# (id, name, channel, reason, waiting since)
QUEUED = (("W1", "Wendy Waiting", "sms", "dispute", T0 - 20000),
          ("W2", "Walter Wait", "whatsapp", "requested_agent", T0 - 5000),
          ("C1", "Carla Caller", "voice", "hardship", T0 - 10000))


@unittest.skipUnless(cli_path() and NODE and os.access(CHROMIUM, os.X_OK), "needs the CLI, node and /usr/bin/chromium")
class DrillBrowser(HiloTestCase):
    def test_drill_down_and_alerts_in_chromium(self):
        if not playwright_ready():
            self.skipTest("playwright-core is not installed (tests/browser/install.sh)")
        redis = self.redis()
        r = redis.client()
        overrides = console_overrides(business_day_zone=BOGOTA)
        overrides["engine"]["test_clock"] = "true"
        overrides["sla"] = {Q + ".first_response_s": 60, Q + ".resolution_s": 1800}
        router = self.router(redis, overrides=overrides, start=False)
        router.conf["console"]["allowed_origins"] = "http://127.0.0.1:%d" % router.http_port
        write_conf(router.conf_path, router.conf)
        router.start()
        r.set(TEST_CLOCK_KEY, str(T0))
        add_agent(router.conf_path, "vic", name="Victor Voice", capacity="whatsapp=0,sms=0,voice=1")
        add_agent(router.conf_path, "sue", name="Sue Supervisor", role="supervisor", skills="")
        for i, (did, name, ch, reason, since) in enumerate(QUEUED):
            seed_debtor(r, did, ["+1650555100%d" % i], full_name=name)
            escalate(r, did, channel=ch, reason=reason, addr="+1650555100%d" % i, now_ms=since)
            if ch == "voice":  # on a live call (the engine marks it from the call's start to its end)
                r.hset(debtor_key(did, "conv"), "call_live", "CA" + did)
        # C2's call is with vic: assigned the way agent_ops.lua's accept leaves it.
        seed_debtor(r, "C2", ["+16505551009"], full_name="Carlos Talking")
        r.hset(debtor_key("C2", "conv"), mapping={
            "state": "assigned", "agent": "vic", "agent_ch": "voice", "last_channel": "voice", "last_agent": "vic",
            "esc_reason": "requested_agent", "esc_ms": T0 - 300000, "assigned_ms": T0 - 240000, "queue": Q,
            "call_live": "CAC2"})
        r.sadd("hilo:agent:vic:convs", "C2")
        r.hset("hilo:agent:vic:live", mapping={"load:voice": 1, "state": "away"})
        # Today's resolution verdicts on the queue (the Bogota business day of T0): 1 of 2.
        day = local_ms("UTC", 2026, 11, 24) // 86400000
        r.hset("hilo:{q:%s}:sla:%d" % (Q, day), mapping={"res_met": 1, "res_breached": 1})

        def on_step(step):
            if step == "late":  # past W1's first-response deadline (T0 - 20 s + 60 s)
                r.set(TEST_CLOCK_KEY, str(T0 + 45000))

        env = dict(HILO_URL="http://127.0.0.1:%d/console/" % router.http_port, HILO_SUPERVISOR="sue",
                   HILO_PASSWORD=PASSWORD, HILO_QUEUE=Q)
        run_spec(self, "drill.spec.js", env, on_step)


if __name__ == "__main__":
    unittest.main()
