"""Console acceptance 5 at the protocol level (the browser version is tests/browser): the router
restarts while agents are connected — their sockets close, they reconnect with the same session
token and get the current state (offers, conversations, the open thread); Redis restarts under
a connected console — the socket stays up and the console is re-synchronised; an idle socket
is pinged, never left silent; a supervisor on another router reassigns a conversation and the
agents on both routers see it live."""

import asyncio
import time
import unittest

from hilo_harness import HiloTestCase, cli_path, debtor_key, seed_debtor
from hilo_console import Console, add_agent, console_overrides, escalate, run, token_for


@unittest.skipUnless(cli_path(), "the hilo CLI is not built")
class ConsoleRestart(HiloTestCase):
    def test_router_restart_then_redis_restart(self):
        redis = self.redis()
        router = self.router(redis, overrides=console_overrides(grace_ms=30000))
        add_agent(router.conf_path, "ana")
        r = redis.client()
        for d in ("D1", "D2"):
            seed_debtor(r, d, ["+1555000000" + d[1]])
        token = token_for(router, "ana")

        async def scenario():
            c = await Console(router, token).connect()
            await c.latest("hello")
            await c.request("state", state="available")
            escalate(r, "D1", addr="+15550000001")
            await c.latest("agent", lambda m: [o for o in m["offers"] if o["debtor"] == "D1"])
            self.assertEqual((await c.request("accept", debtor="D1"))["t"], "ok")
            self.assertEqual((await c.request("open", debtor="D1"))["t"], "ok")
            await c.latest("conv")

            router.restart()
            code, _ = await c.wait_closed()
            self.assertNotEqual(code, 4401)         # not an auth failure: reconnect
            # While the router was down, D2 was escalated too.
            escalate(r, "D2", addr="+15550000002")
            c = await Console(router, token).connect()
            hello = await c.latest("hello")
            self.assertEqual(hello["agent"], "ana")
            snap = await c.latest("agent", lambda m: m["offers"] and m["convs"], timeout=15)
            self.assertEqual([x["debtor"] for x in snap["convs"]], ["D1"])
            self.assertEqual([x["debtor"] for x in snap["offers"]], ["D2"])
            self.assertEqual(snap["state"], "available")   # within the grace period
            self.assertEqual((await c.request("open", debtor="D1"))["t"], "ok")
            conv = await c.latest("conv")
            self.assertFalse(conv["readonly"])

            # Redis restarts: the socket stays, the state is pushed again once it is back.
            redis.restart()
            router.wait_ready(30)
            c.inbox.clear()
            await c.latest("agent", timeout=20)
            await c.latest("conv", timeout=20)
            self.assertEqual((await c.request("decline", debtor="D2"))["t"], "ok")
            await c.close()
        run(scenario())

    def test_router_stops_with_console_requests_waiting_for_redis(self):
        """Redis holds every reply (CLIENT PAUSE) while an agent's requests are in flight, and
        the router is stopped: it exits 0, and the requests' state is freed even though their
        callbacks never run (the ASan pass fails on a leak; stop_and_check reads its log)."""
        redis = self.redis()
        router = self.router(redis, overrides=console_overrides())
        add_agent(router.conf_path, "ana")
        r = redis.client()
        seed_debtor(r, "D1", ["+15550000001"])

        async def scenario():
            c = await Console(router, token_for(router, "ana")).connect()
            await c.latest("hello")
            await c.request("state", state="available")
            escalate(r, "D1", addr="+15550000001")
            await c.latest("agent", lambda m: [o for o in m["offers"] if o["debtor"] == "D1"])
            self.assertEqual((await c.request("accept", debtor="D1"))["t"], "ok")
            r.execute_command("CLIENT", "PAUSE", "3000", "ALL")
            # One request of each kind that carries state through its Redis round trip.
            await c.send("note", debtor="D1", text="waiting for Redis")
            await c.send("reply", debtor="D1", channel="sms", text="waiting too")
            await c.send("open", debtor="D1")
            await c.send("decline", debtor="D1")
            await asyncio.sleep(0.3)
            self.assertEqual(router.stop(), 0)
            self.assertEqual([m for m in c.inbox if m.get("t") in ("ok", "error", "reply_result")
                              and m.get("rid", 0) > 3], [], "answered while Redis held every reply")
        run(scenario())
        r.execute_command("CLIENT", "UNPAUSE")
        self.assertTrue(router.log_lines("event=stopped"))

    def test_supervisor_on_another_router_reassigns(self):
        redis = self.redis()
        r1 = self.router(redis, name="router-1", overrides=console_overrides())
        r2 = self.router(redis, name="router-2", overrides=console_overrides())
        add_agent(r1.conf_path, "ana")
        add_agent(r1.conf_path, "ben")
        add_agent(r1.conf_path, "sue", role="supervisor", skills="")
        r = redis.client()
        seed_debtor(r, "D1", ["+15550000001"])

        async def scenario():
            a = await Console(r1, token_for(r1, "ana")).connect()
            b = await Console(r2, token_for(r2, "ben")).connect()
            s = await Console(r2, token_for(r2, "sue")).connect()
            for c in (a, b, s):
                await c.latest("hello")
            await a.request("state", state="available")
            escalate(r, "D1", addr="+15550000001")
            await a.latest("agent", lambda m: m["offers"])
            await a.request("accept", debtor="D1")
            self.assertEqual((await s.request("floor"))["t"], "ok")
            floor = await s.latest("floor", lambda m: m["agents"]["ana"]["convs"] == 1, timeout=10)
            self.assertEqual(floor["queues"]["en.collections"]["answered"], 1)
            # The supervisor may read any conversation, read-only.
            self.assertEqual((await s.request("open", debtor="D1"))["t"], "ok")
            self.assertTrue((await s.latest("conv"))["readonly"])
            self.assertEqual((await s.request("reply", debtor="D1", channel="sms", text="x"))["code"], "forbidden")
            # Reassign to ben (on router-2): ana (router-1) loses it, ben is offered it.
            t0 = time.monotonic()
            ans = await s.request("transfer", debtor="D1", to_agent="ben")
            self.assertEqual(ans["t"], "ok", ans)
            await b.latest("agent", lambda m: [o for o in m["offers"] if o["debtor"] == "D1"], timeout=5)
            await a.latest("agent", lambda m: not m["convs"], timeout=5)
            self.assertLess(time.monotonic() - t0, 2.0)
            self.assertEqual((await b.request("accept", debtor="D1"))["t"], "ok")
            self.assertEqual(r.hget(debtor_key("D1", "conv"), "agent"), "ben")
            # A supervisor sets an agent's state; an agent may not set another's.
            self.assertEqual((await s.request("state", agent="ana", state="away"))["t"], "ok")
            self.assertEqual((await b.request("state", agent="ana", state="available"))["code"], "forbidden")
            self.assertEqual(r.hget("hilo:agent:ana:live", "state"), "away")
            for c in (a, b, s):
                await c.close()
        run(scenario())


if __name__ == "__main__":
    unittest.main()
