"""The console's server side for a working day (issue 25's bugs), against a real redis-server and
hilo-router over the websocket protocol:
- logging out takes the agent out of routing at once: their pending offer goes to another agent
  without waiting for its accept timeout, a later escalation is offered to the other agent, and
  nothing is offered to (or recorded for) the agent who left, even on a socket they open again;
  `hilo agent logout` (every session revoked) does the same;
- a transfer to a queue nobody serves (no enabled account has that skill) is refused with
  queue_unserved and words; the conversation stays with the agent;
- refusals of the agent operations carry a sentence, never the bare code (bad_promise says what
  is wrong with the promise);
- a call-back time is given in the debtor's own zone (callback_at, "YYYY-MM-DDTHH:MM") and
  converted by the router: 10:00 for a Bogotá debtor is 10:00 in Bogotá, whatever zone the
  agent's browser is in.
The offer timeout and the grace period are 60 s here, so only the logout itself can move an
offer within the test's waits."""

import asyncio
import datetime
import json
import os
import subprocess
import unittest
import zoneinfo

from hilo_harness import CLI_BIN, SOURCE_DIR, HiloTestCase, _clean_env, cli_path, debtor_key, seed_debtor
from hilo_console import Console, add_agent, console_overrides, escalate, run, token_for


def offers_of(m):
    return [o["debtor"] for o in m.get("offers", [])]


def audit_offers(r, debtor):
    """The agents the debtor's conversation was offered to, from its audit stream."""
    out = []
    for _, f in r.xrange(debtor_key(debtor, "audit")):
        if f.get("ev") == "offered":
            out.append(json.loads(f["j"]).get("agent"))
    return out


@unittest.skipUnless(cli_path(), "the hilo CLI is not built")
class ConsoleWorkday(HiloTestCase):
    def setup_floor(self, agents, engine=False):
        self.redis_ = self.redis()
        ov = console_overrides(offer_timeout_ms=60000, grace_ms=60000)
        if engine:  # the shipped flow loaded (its [rules] payment_link)
            ov["engine"].update({"enabled": "true", "flow": os.path.join(SOURCE_DIR, "deploy", "flows", "collections.flow")})
        self.rt = self.router(self.redis_, overrides=ov)
        for a, skills in agents:
            add_agent(self.rt.conf_path, a, skills=skills)
        return self.redis_.client()

    async def online(self, agent, available=True):
        c = await Console(self.rt, token_for(self.rt, agent)).connect()
        await c.latest("hello")
        if available:
            ans = await c.request("state", state="available")
            self.assertEqual(ans["t"], "ok", ans)
        return c

    async def holding(self, c, r, debtor):
        """`c`'s agent is offered the debtor's conversation and accepts it."""
        escalate(r, debtor, addr="+1555000000" + debtor[-1])
        await c.latest("agent", lambda m: debtor in offers_of(m), timeout=10)
        self.assertEqual((await c.request("accept", debtor=debtor))["t"], "ok")

    def assert_out_of_routing(self, r, agent):
        self.assertEqual(r.hget("hilo:agent:%s:live" % agent, "state"), "offline")
        self.assertFalse(r.sismember("hilo:agents:available", agent))
        self.assertIsNone(r.zscore("hilo:agents:seen", agent))
        self.assertEqual(r.smembers("hilo:agent:%s:offers" % agent), set())
        self.assertEqual(int(r.hget("hilo:agent:%s:live" % agent, "load:whatsapp") or 0), 0)
        for key in r.keys("hilo:free:*:*"):
            self.assertIsNone(r.zscore(key, agent), key)

    def logout_then_no_offer(self, leave):
        """ana holds an offer for D1 when she leaves (`leave`: a coroutine taking her socket);
        ben is available. D1 goes to ben at once, D2 escalated afterwards too; ana, back on a new
        socket, is offered nothing."""
        r = self.setup_floor([("ana", "en.collections"), ("ben", "en.collections")])
        for d in ("D1", "D2"):
            seed_debtor(r, d, ["+1555000000" + d[-1]])

        async def scenario():
            a = await self.online("ana")
            escalate(r, "D1", addr="+15550000001")
            await a.latest("agent", lambda m: "D1" in offers_of(m), timeout=10)
            b = await self.online("ben")
            await leave(a)
            self.assert_out_of_routing(r, "ana")
            # The offer ana held goes to ben now, not when its 60 s accept timeout runs out.
            await b.latest("agent", lambda m: "D1" in offers_of(m), timeout=5)
            escalate(r, "D2", addr="+15550000002")
            await b.latest("agent", lambda m: "D2" in offers_of(m), timeout=5)
            # ana comes back on a new socket (not choosing "available"): nothing is offered to her.
            again = await self.online("ana", available=False)
            escalate(r, "D3", addr="+15550000003")
            await b.latest("agent", lambda m: "D3" in offers_of(m), timeout=5)
            await asyncio.sleep(1.0)   # five routing passes
            seen = [m for m in again.inbox if m.get("t") == "agent"]
            self.assertTrue(seen, "ana's new socket got no snapshot")
            self.assertEqual([offers_of(m) for m in seen if offers_of(m)], [])
            self.assertEqual(audit_offers(r, "D1"), ["ana", "ben"])
            self.assertEqual(audit_offers(r, "D2"), ["ben"])
            self.assertEqual(audit_offers(r, "D3"), ["ben"])
            await again.close()
            await b.close()
        run(scenario())

    def test_logout_takes_the_agent_out_of_routing_at_once(self):
        async def leave(a):
            ans = await a.request("logout")
            self.assertEqual(ans["t"], "ok", ans)
            await a.wait_closed()
        self.logout_then_no_offer(leave)

    def test_revoked_sessions_take_the_agent_out_of_routing_at_once(self):
        async def leave(a):
            env = _clean_env()
            p = subprocess.run([CLI_BIN, "-c", self.rt.conf_path, "agent", "logout", "ana"], capture_output=True,
                               text=True, timeout=30, env=env)
            self.assertEqual(p.returncode, 0, p.stderr)
            await a.wait_closed()
            # Every router takes the agent out on the revoke event: give this one its read.
            for _ in range(50):
                if self.redis_.client().hget("hilo:agent:ana:live", "state") == "offline":
                    break
                await asyncio.sleep(0.1)
        self.logout_then_no_offer(leave)

    def test_logout_of_one_session_keeps_the_agents_other_console_in_routing(self):
        r = self.setup_floor([("ana", "en.collections")])
        seed_debtor(r, "D1", ["+15550000001"])

        async def scenario():
            first = await self.online("ana")
            second = await self.online("ana")
            self.assertEqual((await first.request("logout"))["t"], "ok")
            await first.wait_closed()
            self.assertEqual(r.hget("hilo:agent:ana:live", "state"), "available")
            escalate(r, "D1", addr="+15550000001")
            await second.latest("agent", lambda m: "D1" in offers_of(m), timeout=5)
            await second.close()
        run(scenario())

    def test_transfer_to_a_queue_nobody_serves_is_refused(self):
        r = self.setup_floor([("ana", "en.collections"), ("lea", "en.legal"), ("dan", "es.dispute")])
        subprocess.run([CLI_BIN, "-c", self.rt.conf_path, "agent", "disable", "dan"], capture_output=True,
                       timeout=30, env=_clean_env(), check=True)
        seed_debtor(r, "D1", ["+15550000001"])

        async def scenario():
            a = await self.online("ana")
            await self.holding(a, r, "D1")
            before = r.hgetall(debtor_key("D1", "conv"))
            # No account has the skill; the only one that has it is disabled.
            for q in ("es.nobody", "es.dispute"):
                ans = await a.request("transfer", debtor="D1", to_queue=q)
                self.assertEqual((ans["t"], ans["code"]), ("error", "queue_unserved"), ans)
                self.assertIn(q, ans["text"])
                self.assertIn("no agent", ans["text"].lower())
                conv = r.hgetall(debtor_key("D1", "conv"))
                self.assertEqual((conv["state"], conv["agent"], conv["rev"]), ("assigned", "ana", before["rev"]))
                self.assertIsNone(r.zscore("hilo:queue:" + q, "D1"))
                self.assertEqual(r.smembers("hilo:agent:ana:convs"), {"D1"})
            # A queue an enabled agent serves (logged in or not) takes it.
            ans = await a.request("transfer", debtor="D1", to_queue="en.legal")
            self.assertEqual(ans["t"], "ok", ans)
            self.assertEqual(r.hget(debtor_key("D1", "conv"), "queue"), "en.legal")
            await a.close()
        run(scenario())

    def test_refusals_are_in_words(self):
        r = self.setup_floor([("ana", "en.collections")])
        seed_debtor(r, "D1", ["+15550000001"], balance="100.00")

        async def scenario():
            a = await self.online("ana")
            await self.holding(a, r, "D1")
            cases = [
                (dict(code="promise_to_pay", amount_cents=0, due="2099-01-01"), "bad_promise", "amount"),
                (dict(code="promise_to_pay", amount_cents=500), "bad_promise", "due date"),
                (dict(code="promise_to_pay", amount_cents=500, due="2000-01-01"), "bad_promise", "already passed"),
                (dict(code="promise_to_pay", amount_cents=50000, due="2099-01-01"), "over_committed", "balance"),
                (dict(code="nonsense"), "bad_disposition", "disposition"),
                (dict(code="callback"), "bad_callback", "call-back"),
                (dict(code="callback", callback_at="2000-01-01T10:00"), "bad_callback", "passed"),
                (dict(code="callback", callback_at="tomorrow at ten"), "bad_callback", "YYYY-MM-DD"),
            ]
            for args, code, words in cases:
                ans = await a.request("wrapup", debtor="D1", close=True, **args)
                self.assertEqual((ans["t"], ans["code"]), ("error", code), (args, ans))
                self.assertNotEqual(ans["text"], code, ans)
                self.assertIn(words, ans["text"], ans)
            ans = await a.request("close", debtor="D1")
            self.assertEqual(ans["code"], "disposition_required")
            self.assertIn("wrap-up", ans["text"])
            ans = await a.request("transfer", debtor="D1", to_agent="ana")
            self.assertEqual(ans["code"], "same_agent")
            self.assertNotEqual(ans["text"], "same_agent")
            await a.close()
        run(scenario())

    def test_unread_counts_and_read_marks(self):
        # The list counts the debtor's messages the agent has not marked read ({"t":"read"});
        # a mark never goes down, and a bad one is refused.
        r = self.setup_floor([("ana", "en.collections")])
        seed_debtor(r, "D1", ["+15550000001"])

        async def scenario():
            a = await self.online("ana")
            await self.holding(a, r, "D1")
            r.xadd(debtor_key("D1", "hist"), {"j": '{"dir":"in","ch":"whatsapp","kind":"text","text":"are you there?"}'})
            r.hset(debtor_key("D1", "conv"), "msgs_in", 3)
            await a.send("sync")

            def d1(m):
                return next((c for c in m.get("convs", []) if c["debtor"] == "D1"), None)
            m = await a.latest("agent", lambda m: d1(m) and d1(m).get("unread") == 3 and "preview" in d1(m), timeout=10)
            self.assertEqual((d1(m)["preview"], d1(m)["preview_from"]), ("are you there?", "debtor"))
            self.assertEqual((await a.request("read", debtor="D1", upto=2))["t"], "ok")
            self.assertEqual((await a.request("read", debtor="D1", upto=1))["t"], "ok")  # never goes down
            self.assertEqual(r.hget("hilo:{a:ana}:read", "D1"), "2")
            for bad in (-1, "2", None, 1.5):
                ans = await a.request("read", debtor="D1", upto=bad)
                self.assertEqual((ans["t"], ans.get("code")), ("error", "bad_request"), (bad, ans))
            await a.send("sync")
            await a.latest("agent", lambda m: d1(m) and d1(m).get("unread") == 1, timeout=10)
            await a.close()
        run(scenario())

    def test_debtor_panel_shows_portfolio_columns_and_earlier_wrapups(self):
        r = self.setup_floor([("ana", "en.collections")])
        seed_debtor(r, "D1", ["+15550000001"], balance="900.00", **{"attr:notes": "Prefers calls after 6 pm",
                                                                     "attr:product": "credit card"})

        async def scenario():
            a = await self.online("ana")
            await self.holding(a, r, "D1")
            ans = await a.request("wrapup", debtor="D1", code="refused", comment="not now")
            self.assertEqual(ans["t"], "ok", ans)
            ans = await a.request("wrapup", debtor="D1", code="promise_to_pay", amount_cents=5000, due="2099-03-01")
            self.assertEqual(ans["t"], "ok", ans)
            self.assertEqual((await a.request("open", debtor="D1"))["t"], "ok")
            m = await a.latest("conv", lambda m: len(m.get("wrapups", [])) == 2)
            self.assertEqual(m["debtor_info"]["portfolio"], {"notes": "Prefers calls after 6 pm", "product": "credit card"})
            self.assertEqual([(w["code"], w["by"]) for w in m["wrapups"]], [("promise_to_pay", "ana"), ("refused", "ana")])
            self.assertEqual((m["wrapups"][0]["amount_cents"], m["wrapups"][0]["due"]), (5000, "2099-03-01"))
            self.assertEqual(m["wrapups"][1]["comment"], "not now")
            await a.close()
        run(scenario())

    def test_dispute_and_hardship_holds(self):
        # A dispute or hardship wrap-up leaves a sticky hold (conv dispute_ms / hardship_ms: every
        # outbound strategy stops for the debtor) that outlives the close; only a supervisor lifts it.
        r = self.setup_floor([("ana", "en.collections")])
        add_agent(self.rt.conf_path, "sue", role="supervisor", skills="")
        seed_debtor(r, "D1", ["+15550000001"])

        async def scenario():
            a = await self.online("ana")
            sue = await self.online("sue", available=False)
            await self.holding(a, r, "D1")
            for code in ("dispute", "hardship"):
                ans = await a.request("wrapup", debtor="D1", code=code)
                self.assertEqual(ans["t"], "ok", ans)
            ans = await a.request("wrapup", debtor="D1", code="refused", close=True)
            self.assertEqual(ans["t"], "ok", ans)
            conv = r.hgetall(debtor_key("D1", "conv"))
            self.assertTrue(conv.get("dispute_ms") and conv.get("hardship_ms"), conv)
            ans = await a.request("lift_hold", debtor="D1", kind="dispute")
            self.assertEqual((ans["t"], ans["code"]), ("error", "forbidden"), ans)
            self.assertEqual((await sue.request("lift_hold", debtor="D1", kind="dispute"))["t"], "ok")
            self.assertIsNone(r.hget(debtor_key("D1", "conv"), "dispute_ms"))
            self.assertTrue(r.hget(debtor_key("D1", "conv"), "hardship_ms"))
            ans = await sue.request("lift_hold", debtor="D1", kind="dispute")
            self.assertEqual((ans["t"], ans["code"]), ("error", "no_hold"), ans)
            self.assertIn("no such hold", ans["text"])
            ans = await sue.request("lift_hold", debtor="D1", kind="bankruptcy")
            self.assertEqual(ans["code"], "bad_request", ans)
            evs = [f.get("ev") for _, f in r.xrange(debtor_key("D1", "audit"))]
            self.assertIn("hold_lifted", evs)
            for c in (a, sue):
                await c.close()
        run(scenario())

    def test_identity_check_by_the_agent(self):
        # The agent types the document number the debtor gives; its last 4 digits are checked
        # against the portfolio's (never sent to the console). Three misses lock the check.
        r = self.setup_floor([("ana", "en.collections"), ("ben", "en.collections")])
        seed_debtor(r, "D1", ["+15550000001"], document_last4="4321")
        seed_debtor(r, "D2", ["+15550000002"], document_last4="8765")

        async def scenario():
            a = await self.online("ana")
            await self.holding(a, r, "D1")
            self.assertEqual((await a.request("open", debtor="D1"))["t"], "ok")
            m = await a.latest("conv")
            self.assertNotIn("4321", json.dumps(m), "the document on file reached the console")
            ans = await a.request("verify", debtor="D1", digits="1111")
            self.assertEqual((ans["code"], ans["attempts_left"]), ("verify_mismatch", 2), ans)
            self.assertIn("do not disclose", ans["text"])
            for bad in ("12", "abcd", "1234567890123", None):
                ans = await a.request("verify", debtor="D1", digits=bad)
                self.assertEqual(ans["code"], "bad_request", (bad, ans))
            ans = await a.request("verify", debtor="D1", digits="99994321")  # the whole number: its last 4
            self.assertEqual((ans["t"], ans["result"]), ("ok", "verified"), ans)
            self.assertTrue(r.hget(debtor_key("D1", "conv"), "verified_ms"))
            evs = [(f["ev"], json.loads(f["j"]).get("by")) for _, f in r.xrange(debtor_key("D1", "audit"))
                   if f.get("ev") in ("verified", "verify_failed")]
            self.assertEqual(evs, [("verify_failed", "ana"), ("verified", "ana")])
            # Not hers: refused; three misses on D2 lock the check, even for the right digits.
            ans = await a.request("verify", debtor="D2", digits="8765")
            self.assertEqual(ans["code"], "not_assigned", ans)
            await self.holding(a, r, "D2")
            codes = [(await a.request("verify", debtor="D2", digits="0000"))["code"] for _ in range(3)]
            self.assertEqual(codes, ["verify_mismatch", "verify_mismatch", "verify_locked"])
            ans = await a.request("verify", debtor="D2", digits="8765")
            self.assertEqual(ans["code"], "verify_locked", ans)
            self.assertIsNone(r.hget(debtor_key("D2", "conv"), "verified_ms"))
            await a.close()
        run(scenario())

    def test_payment_link_for_a_verified_debtor(self):
        r = self.setup_floor([("ana", "en.collections")], engine=True)
        seed_debtor(r, "D1", ["+15550000001"], document_last4="4321", **{"attr:payment_token": "tok 7/x"})

        async def scenario():
            a = await self.online("ana")
            await self.holding(a, r, "D1")
            ans = await a.request("payment_link", debtor="D1")
            self.assertEqual((ans["t"], ans["code"]), ("error", "not_verified"), ans)
            self.assertEqual((await a.request("verify", debtor="D1", digits="4321"))["t"], "ok")
            ans = await a.request("payment_link", debtor="D1")
            self.assertEqual(ans["url"], "https://pagos.example.com/p/D1?t=tok%207%2Fx", ans)
            ans = await a.request("payment_link", debtor="D1", amount_cents=-5)
            self.assertEqual(ans["code"], "bad_request", ans)
            links = [json.loads(f["j"]) for _, f in r.xrange(debtor_key("D1", "audit")) if f.get("ev") == "payment_link"]
            self.assertEqual([(l["by"], l["url"]) for l in links], [("ana", "https://pagos.example.com/p/D1?t=tok%207%2Fx")])
            await a.close()
        run(scenario())

    def test_callback_time_is_the_debtors_wall_clock(self):
        r = self.setup_floor([("ana", "en.collections")])
        seed_debtor(r, "D1", ["+15550000001"], timezone="America/Bogota")
        seed_debtor(r, "D2", ["+15550000002"], timezone="")
        bogota = zoneinfo.ZoneInfo("America/Bogota")
        day = (datetime.datetime.now(bogota) + datetime.timedelta(days=30)).date()

        async def scenario():
            a = await self.online("ana")
            await self.holding(a, r, "D1")
            ans = await a.request("wrapup", debtor="D1", code="callback", callback_at=day.isoformat() + "T10:00",
                                  close=True)
            self.assertEqual(ans["t"], "ok", ans)
            want = datetime.datetime(day.year, day.month, day.day, 10, 0, tzinfo=bogota)
            conv = r.hgetall(debtor_key("D1", "conv"))
            self.assertEqual(int(conv["callback_ms"]), int(want.timestamp() * 1000))
            disp = json.loads(conv["disposition"])
            self.assertEqual((disp["callback_ms"], disp["callback_at"], disp["callback_tz"]),
                             (int(want.timestamp() * 1000), day.isoformat() + "T10:00", "America/Bogota"))
            # A debtor without a zone: the time is taken as UTC, and the disposition says so.
            await self.holding(a, r, "D2")
            ans = await a.request("wrapup", debtor="D2", code="callback", callback_at=day.isoformat() + "T10:00",
                                  close=True)
            self.assertEqual(ans["t"], "ok", ans)
            disp = json.loads(r.hget(debtor_key("D2", "conv"), "disposition"))
            want = datetime.datetime(day.year, day.month, day.day, 10, 0, tzinfo=datetime.timezone.utc)
            self.assertEqual((disp["callback_ms"], disp["callback_tz"]), (int(want.timestamp() * 1000), "UTC"))
            await a.close()
        run(scenario())


if __name__ == "__main__":
    unittest.main()
