"""The supervisor floor's figures on /metrics (router/src/console/floor_gauges.c,
floor_gauges.lua): queue depth, oldest wait, agents with a free slot, the day's first-response
SLA (met, breached, ratio, past the target now) and agents by state, read from Redis every
[console] floor_metrics_s whether or not a supervisor watches, on the test clock. A real
redis-server, a real router, agents on real console websockets."""

import math
import time
import unittest

from hilo_harness import HiloTestCase, TEST_CLOCK_KEY, cli_path, run_cli, seed_debtor, wait_until
from hilo_console import Console, add_agent, console_overrides, escalate, run, token_for
from engine_helpers import local_ms

BOGOTA = "America/Bogota"
Q = "en.collections"


@unittest.skipUnless(cli_path(), "the hilo CLI is not built")
class FloorMetrics(HiloTestCase):
    def start(self, **console):
        redis = self.redis()
        ov = console_overrides(business_day_zone=BOGOTA, **console)
        ov["engine"]["test_clock"] = "true"
        ov["sla"] = {"first_response_s": 120, Q + ".first_response_s": 60}
        self.rtr = self.router(redis, overrides=ov)
        return redis.client()

    async def online(self, agent, state="available"):
        c = await Console(self.rtr, token_for(self.rtr, agent)).connect()
        await c.latest("hello")
        if state:
            ans = await c.request("state", state=state)
            self.assertEqual(ans["t"], "ok", ans)
        return c

    def figures(self):
        """The floor's series on this router's /metrics: {(name, label tuple): value}."""
        return {(n, tuple(sorted(l.items()))): v for n, l, v in self.rtr.metrics().series
                if n.startswith(("hilo_queue_", "hilo_agents"))}

    def wait_figures(self, want, what, timeout=15):
        """Until every (name, sorted label pairs) in want has its value on /metrics."""
        def ok():
            f = self.figures()
            return all(f.get(k) == v for k, v in want.items())
        wait_until(ok, timeout, what)
        return self.figures()

    def test_queue_sla_and_agents_follow_the_floor(self):
        r = self.start(floor_metrics_s=1)
        t0 = local_ms(BOGOTA, 2026, 11, 24, 10, 0)
        r.set(TEST_CLOCK_KEY, str(t0))
        for a in ("ana", "ben", "cid", "dan"):
            add_agent(self.rtr.conf_path, a, capacity="whatsapp=0,sms=2,voice=0")
        add_agent(self.rtr.conf_path, "boss", role="supervisor", skills="")
        run_cli(self.rtr.conf_path, "agent", "disable", "dan")
        for i in (1, 2, 3):
            seed_debtor(r, "D%d" % i, ["+1555000000%d" % i])

        async def scenario():
            # No supervisor follows the floor: the figures are read anyway.
            ana = await self.online("ana")
            ben = await self.online("ben", state="away")
            self.wait_figures({("hilo_agents", (("state", "available"),)): 1,
                               ("hilo_agents", (("state", "away"),)): 1,
                               ("hilo_agents", (("state", "offline"),)): 1,
                               ("hilo_agents", (("state", "disabled"),)): 1}, "agents by state")
            for i in (1, 2, 3):
                escalate(r, "D%d" % i, channel="sms", addr="+1555000000%d" % i, now_ms=t0)
            await ana.latest("agent", lambda m: {o["debtor"] for o in m.get("offers", [])} == {"D1", "D2"},
                             timeout=10)
            lq = (("queue", Q),)
            f = self.wait_figures({("hilo_queue_waiting", lq): 3}, "three waiting")
            # No first response yet today: the ratio is NaN (no alert compares true with it).
            self.assertTrue(math.isnan(f[("hilo_queue_sla_first_response_ratio", lq)]), f)
            self.assertEqual((await ana.request("accept", debtor="D1"))["t"], "ok")
            r.set(TEST_CLOCK_KEY, str(t0 + 30000))
            ans = await ana.request("reply", debtor="D1", channel="sms", text="Hello, this is your agent.")
            self.assertEqual((ans["t"], ans.get("ok")), ("reply_result", True), ans)
            f = self.wait_figures({("hilo_queue_sla_first_response", (("queue", Q), ("result", "met"))): 1,
                                   ("hilo_queue_oldest_wait_seconds", lq): 30}, "D1 answered within 60 s")
            self.assertEqual(f[("hilo_queue_waiting", lq)], 2, f)  # D2 (offered) and D3
            self.assertEqual(f[("hilo_queue_sla_first_response", (("queue", Q), ("result", "breached")))], 0, f)
            self.assertEqual(f[("hilo_queue_sla_first_response_ratio", lq)], 1.0, f)
            self.assertEqual(f[("hilo_queue_sla_breaching", lq)], 0, f)
            # ana's two slots hold D1 and the offer of D2; ben is away: nobody has a free slot.
            self.assertEqual(f[("hilo_queue_agents_free", (("channel", "sms"), ("queue", Q)))], 0, f)
            # ana closes D1 a minute after its escalation: resolved within the queue's target.
            r.set(TEST_CLOCK_KEY, str(t0 + 60000))
            ans = await ana.request("wrapup", debtor="D1", code="refused", close=True)
            self.assertEqual(ans["t"], "ok", ans)
            self.wait_figures({("hilo_queue_sla_resolution", (("queue", Q), ("result", "met"))): 1},
                              "D1 resolved in time")
            # Two minutes after the escalation, D2 and D3 had no reply: breached.
            r.set(TEST_CLOCK_KEY, str(t0 + 120000))
            f = self.wait_figures({("hilo_queue_sla_first_response", (("queue", Q), ("result", "breached"))): 2,
                                   ("hilo_queue_oldest_wait_seconds", lq): 120}, "D2 and D3 breached")
            self.assertAlmostEqual(f[("hilo_queue_sla_first_response_ratio", lq)], 1 / 3, places=5)
            # ben comes back: one agent with two free SMS slots.
            self.assertEqual((await ben.request("state", state="available"))["t"], "ok")
            self.wait_figures({("hilo_agents", (("state", "available"),)): 2}, "ben available")
            sampled = self.rtr.metrics().value("hilo_floor_sampled_timestamp_seconds")
            self.assertLess(abs(sampled - time.time()), 30)
            for c in (ana, ben):
                await c.close()
        run(scenario())

    def test_off_when_floor_metrics_s_is_zero(self):
        r = self.start(floor_metrics_s=0)
        escalate(r, "D9", channel="sms")
        wait_until(lambda: self.rtr.metrics().has("hilo_redis_up"), 10, "metrics")
        time.sleep(1.5)
        m = self.rtr.metrics()
        self.assertFalse(m.has("hilo_queue_waiting"))
        self.assertFalse(m.has("hilo_agents"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
