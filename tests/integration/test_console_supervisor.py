"""The supervisor's floor and powers (router/src/console/supervisor.c, floor_stats.lua,
agent_ops.lua, route_offer.lua): a reassign to an agent whose capacity is held only by pending
offers withdraws them (they are offered elsewhere) and succeeds, and is still refused
(`no_capacity`) when assigned conversations fill it; the SLA figure of a scripted day under the
test clock (first response within the queue's target); the day's counters follow the configured
business day and zone (America/Bogota), not UTC midnight; the floor's search (`find`) by debtor
id or phone in any spelling, agents refused."""

import unittest

from hilo_harness import HiloTestCase, TEST_CLOCK_KEY, cli_path, debtor_key, seed_debtor, wait_until
from hilo_console import add_agent, console_overrides, escalate, online, run
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
        return await online(self.rtr, agent, available)

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

    def clocked_floor(self, agents, **console):
        """A router on the test clock, [sla] targets (en.collections 60 s, others 120 s) and the
        business day in Bogota."""
        ov = {"engine": {"test_clock": "true"}, "sla": {"first_response_s": 120, "en.collections.first_response_s": 60,
                                                       "en.collections.resolution_s": 1800},
              "console": dict({"business_day_zone": BOGOTA, "business_day_start": "00:00"}, **console)}
        return self.setup_floor(agents, overrides=ov)

    async def floor_at(self, boss, now, pred=lambda f: True):
        """The first floor computed at test-clock time `now` that satisfies pred."""
        return await boss.latest("floor", lambda f: f["now"] == now and pred(f), timeout=15)

    async def reply(self, agent, r, debtor, at):
        r.set(TEST_CLOCK_KEY, str(at))
        ans = await agent.request("reply", debtor=debtor, channel="sms", text="Hello, this is your agent.")
        self.assertEqual((ans["t"], ans.get("ok")), ("reply_result", True), ans)

    def test_sla_of_a_scripted_day(self):
        r = self.clocked_floor([("ana", "whatsapp=0,sms=6,voice=0")])
        t0 = local_ms(BOGOTA, 2026, 11, 24, 10, 0)
        r.set(TEST_CLOCK_KEY, str(t0))
        debtors = ["D%d" % i for i in range(1, 7)]
        for i, d in enumerate(debtors):
            seed_debtor(r, d, ["+1555000000%d" % (i + 1)])

        async def scenario():
            ana = await self.online("ana")
            boss = await self.online("boss", available=False)
            self.assertEqual((await boss.request("floor"))["t"], "ok")
            for i, d in enumerate(debtors):
                escalate(r, d, channel="sms", addr="+1555000000%d" % (i + 1), now_ms=t0)
            # Routing sees each one queued and awaits its first reply (60 s on this queue).
            wait_until(lambda: r.zcard("hilo:{q:en.collections}:await") == 6, 10, "six awaited")
            # D6 leaves the queue before its deadline without an agent (the bot took it back):
            # not counted either way.
            r.hset(debtor_key("D6", "conv"), "state", "bot")
            wait_until(lambda: r.zcard("hilo:{q:en.collections}:await") == 5, 10, "D6 no longer awaited")
            await ana.latest("agent", lambda m: set(offers_of(m)) >= {"D1", "D2", "D3", "D4"}, timeout=10)
            for d in ("D1", "D2", "D3", "D4"):
                self.assertEqual((await ana.request("accept", debtor=d))["t"], "ok")
            # First replies 30 s, 45 s and 60 s (the target itself: within) after the escalation.
            for d, after in (("D1", 30), ("D2", 45), ("D3", 60)):
                await self.reply(ana, r, d, t0 + after * 1000)
            f = await self.floor_at(boss, t0 + 60000, lambda f: f["queues"]["en.collections"]["sla_met"] == 3)
            q = f["queues"]["en.collections"]
            self.assertEqual((q["sla_breached"], q["sla_share"]), (0, 1.0), q)
            self.assertEqual((q["first_response_target_ms"], q["resolution_target_ms"]), (60000, 1800000), q)
            # D4 answered 90 s after, D5 never: both breached; a second reply to D1 changes nothing.
            await self.reply(ana, r, "D4", t0 + 90000)
            await self.reply(ana, r, "D1", t0 + 95000)
            f = await self.floor_at(boss, t0 + 95000, lambda f: f["queues"]["en.collections"]["sla_breached"] == 2)
            q = f["queues"]["en.collections"]
            self.assertEqual((q["sla_met"], q["sla_breached"], q["sla_breaching"]), (3, 2, 0), q)
            self.assertEqual(q["sla_share"], 0.6)
            self.assertEqual(r.hgetall("hilo:{q:en.collections}:sla:%d" % f["business_day"]["day"]),
                             {"met": "3", "breached": "2"})
            for c in (ana, boss):
                await c.close()
        run(scenario())

    def test_day_counters_follow_the_business_day_zone(self):
        r = self.clocked_floor([("ana", "whatsapp=0,sms=3,voice=0")])
        evening = local_ms(BOGOTA, 2026, 11, 24, 18, 30)  # 23:30 UTC
        seed_debtor(r, "D7", ["+15550000007"])
        r.set(TEST_CLOCK_KEY, str(evening))

        async def scenario():
            ana = await self.online("ana")
            boss = await self.online("boss", available=False)
            self.assertEqual((await boss.request("floor"))["t"], "ok")
            escalate(r, "D7", channel="sms", addr="+15550000007", now_ms=evening)
            await ana.latest("agent", lambda m: "D7" in offers_of(m), timeout=10)
            self.assertEqual((await ana.request("accept", debtor="D7"))["t"], "ok")
            await self.reply(ana, r, "D7", evening + 10000)
            ans = await ana.request("wrapup", debtor="D7", code="refused", close=True)
            self.assertEqual(ans["t"], "ok", ans)

            def counted(f):
                return f["agents"]["ana"]["handled_today"] == 1 and f["queues"]["en.collections"]["sla_met"] == 1
            f = await self.floor_at(boss, evening + 10000, counted)
            self.assertEqual(f["business_day"]["start_ms"], local_ms(BOGOTA, 2026, 11, 24))
            # 19:30 in Bogota is 00:30 UTC the next day: still the same business day.
            late = local_ms(BOGOTA, 2026, 11, 24, 19, 30)
            r.set(TEST_CLOCK_KEY, str(late))
            f = await self.floor_at(boss, late)
            self.assertTrue(counted(f), (f["agents"]["ana"], f["queues"]))
            self.assertEqual(f["business_day"]["start_ms"], local_ms(BOGOTA, 2026, 11, 24))
            # Local midnight: a new day, nothing counted yet.
            after = local_ms(BOGOTA, 2026, 11, 25, 0, 30)
            r.set(TEST_CLOCK_KEY, str(after))
            f = await self.floor_at(boss, after)
            self.assertEqual(f["agents"]["ana"]["handled_today"], 0)
            self.assertEqual(f["queues"]["en.collections"]["sla_met"], 0)
            self.assertIsNone(f["queues"]["en.collections"]["sla_share"])
            self.assertEqual(f["business_day"]["start_ms"], local_ms(BOGOTA, 2026, 11, 25))
            for c in (ana, boss):
                await c.close()
        run(scenario())


    def test_find_by_id_or_phone(self):
        r = self.setup_floor([("ana", "whatsapp=1,sms=1,voice=0")], overrides={"identity": {"default_country_code": "57"}})
        seed_debtor(r, "C-77", ["+573001234567"], full_name="Camila Rojas")
        # An unidentified contact: a conversation, no debtor record.
        r.hset(debtor_key("u:+573009998877", "conv"), mapping={"state": "bot", "last_channel": "sms"})

        async def scenario():
            ana = await self.online("ana", available=False)
            boss = await self.online("boss", available=False)
            ans = await ana.request("find", query="C-77")
            self.assertEqual((ans["t"], ans["code"]), ("error", "forbidden"), ans)
            for q in ("C-77", "  C-77 "):
                ans = await boss.request("find", query=q)
                self.assertEqual((ans["t"], ans["debtor"], ans["by"]), ("ok", "C-77", "id"), ans)
            for q in ("+57 300 123 4567", "300 123 4567", "(300) 123-4567", "0057 3001234567", "573001234567"):
                ans = await boss.request("find", query=q)
                self.assertEqual((ans["t"], ans.get("debtor"), ans.get("phone")), ("ok", "C-77", "+573001234567"), (q, ans))
            ans = await boss.request("find", query="300 999 8877")
            self.assertEqual((ans["t"], ans.get("debtor")), ("ok", "u:+573009998877"), ans)
            ans = await boss.request("find", query="300 555 0000")
            self.assertEqual((ans["t"], ans["code"]), ("error", "not_found"), ans)
            self.assertIn("+573005550000", ans["text"])
            # A name is looked up in the name index, which the import writes (seed_debtor does
            # not): nothing here. Names are tests/integration/test_console_search.py.
            ans = await boss.request("find", query="Camila Rojas")
            self.assertEqual((ans["t"], ans["code"]), ("error", "not_found"), ans)
            self.assertIn("Camila Rojas", ans["text"])
            for q in ("", "   "):
                ans = await boss.request("find", query=q)
                self.assertEqual((ans["t"], ans["code"]), ("error", "bad_request"), ans)
            for c in (ana, boss):
                await c.close()
        run(scenario())

if __name__ == "__main__":
    unittest.main()
