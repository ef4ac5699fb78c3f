"""A supervisor's powers over conversations and accounts (router/src/console/takeover.c,
admin_view.c, agent_ops.lua op takeover): a take-over moves the conversation (assigned, offered
or queued) to the supervisor, who may then reply and wrap up; the agent who had it is told who
took it, the debtor's audit records it; a whisper reaches only the agent who handles the
conversation (live) and supervisors, is kept with the conversation's notes (a reload shows it),
and never goes to the debtor; the admin view lists the queues the flow can produce with their
agents; a forced logout closes the agent's websocket, saying why, and takes them out of routing;
a disabled agent's next login is refused; a plain agent is refused each power with `forbidden`.
Real processes: redis-server, hilo-router, the hilo CLI."""

import asyncio
import json
import os
import unittest

from hilo_harness import HiloTestCase, SOURCE_DIR, cli_path, debtor_key, seed_debtor, wait_until
from hilo_console import add_agent, console_overrides, escalate, login, run, online as console_online

FLOW = os.path.join(SOURCE_DIR, "deploy", "flows", "collections.flow")


def offers_of(m):
    return [o["debtor"] for o in m.get("offers", [])]


def convs_of(m):
    return [c["debtor"] for c in m.get("convs", [])]


def audit_events(r, debtor):
    return [(f["ev"], json.loads(f["j"])) for _, f in r.xrange(debtor_key(debtor, "audit"))]


@unittest.skipUnless(cli_path(), "the hilo CLI is not built")
class ConsoleAdmin(HiloTestCase):
    def setup_floor(self, engine=False):
        redis = self.redis()
        ov = console_overrides()
        if engine:  # the flow loaded (its queues for the admin view); nothing is sent to it here
            ov["engine"].update({"enabled": "true", "flow": FLOW})
        ov["sla"] = {"first_response_s": 120, "es.vip.first_response_s": 30}
        self.rtr = self.router(redis, overrides=ov)
        add_agent(self.rtr.conf_path, "ana", name="Ana Agent", capacity="whatsapp=2,sms=0,voice=0")
        add_agent(self.rtr.conf_path, "ben", name="Ben Agent", capacity="whatsapp=2,sms=0,voice=0")
        add_agent(self.rtr.conf_path, "boss", name="Sue Supervisor", role="supervisor", skills="")
        return redis.client()

    async def online(self, agent, available=True):
        return await console_online(self.rtr, agent, available)

    def test_takeover_of_assigned_offered_and_queued_conversations(self):
        r = self.setup_floor()
        for i, d in enumerate(("D1", "D2", "D3")):
            seed_debtor(r, d, ["+1555000000%d" % (i + 1)])

        async def scenario():
            ana = await self.online("ana")
            boss = await self.online("boss", available=False)
            escalate(r, "D1", addr="+15550000001")
            await ana.latest("agent", lambda m: "D1" in offers_of(m), timeout=10)
            self.assertEqual((await ana.request("accept", debtor="D1"))["t"], "ok")
            self.assertEqual((await ana.request("open", debtor="D1"))["t"], "ok")
            await ana.latest("conv", lambda m: m["debtor"] == "D1")
            # Assigned to ana: the supervisor takes it over.
            ans = await boss.request("takeover", debtor="D1")
            self.assertEqual(ans["t"], "ok", ans)
            conv = r.hgetall(debtor_key("D1", "conv"))
            self.assertEqual((conv["state"], conv["agent"], conv["taken_by"]), ("assigned", "boss", "boss"), conv)
            self.assertNotIn("D1", r.smembers("hilo:agent:ana:convs"))
            self.assertIn("D1", r.smembers("hilo:agent:boss:convs"))
            self.assertEqual(r.hget("hilo:agent:ana:live", "load:whatsapp"), "0")
            # ana is told, by name, and her view of it is gone.
            gone = await ana.latest("conv_gone", lambda m: m["debtor"] == "D1")
            self.assertEqual((gone.get("reason"), gone.get("by"), gone.get("by_name")),
                             ("taken_over", "boss", "Sue Supervisor"), gone)
            await ana.latest("agent", lambda m: "D1" not in convs_of(m))
            ev = [e for e in audit_events(r, "D1") if e[0] == "taken_over"]
            self.assertEqual(len(ev), 1, audit_events(r, "D1"))
            self.assertEqual((ev[0][1]["by"], ev[0][1]["from_agent"], ev[0][1]["from_state"]),
                             ("boss", "ana", "assigned"))
            # The supervisor now works it like an agent: the view is writable, a wrap-up closes it.
            self.assertEqual((await boss.request("open", debtor="D1"))["t"], "ok")
            v = await boss.latest("conv", lambda m: m["debtor"] == "D1")
            self.assertFalse(v["readonly"], v)
            ans = await boss.request("wrapup", debtor="D1", code="other", close=True)
            self.assertEqual(ans["t"], "ok", ans)
            self.assertEqual(r.hget(debtor_key("D1", "conv"), "state"), "closed")
            # Offered to ana (not accepted): the offer is withdrawn and she is told.
            escalate(r, "D2", addr="+15550000002")
            await ana.latest("agent", lambda m: "D2" in offers_of(m), timeout=10)
            self.assertEqual((await boss.request("takeover", debtor="D2"))["t"], "ok")
            gone = await ana.latest("conv_gone", lambda m: m["debtor"] == "D2")
            self.assertEqual(gone.get("by"), "boss")
            conv = r.hgetall(debtor_key("D2", "conv"))
            self.assertEqual((conv["agent"], conv.get("offer_agent")), ("boss", None), conv)
            self.assertNotIn("D2", r.smembers("hilo:agent:ana:offers"))
            self.assertEqual(r.zscore("hilo:offers", "D2"), None)
            # Waiting in a queue nobody serves now (ana away): taken out of the queue.
            self.assertEqual((await ana.request("state", state="away"))["t"], "ok")
            escalate(r, "D3", addr="+15550000003")
            self.assertEqual((await boss.request("takeover", debtor="D3"))["t"], "ok")
            self.assertEqual(r.zscore("hilo:queue:en.collections", "D3"), None)
            self.assertEqual(r.hget(debtor_key("D3", "conv"), "agent"), "boss")
            # Twice: the supervisor already has it; a closed conversation is not takeable.
            ans = await boss.request("takeover", debtor="D3")
            self.assertEqual((ans["t"], ans.get("code")), ("error", "same_agent"), ans)
            ans = await boss.request("takeover", debtor="D1")
            self.assertEqual((ans["t"], ans.get("code"), ans.get("detail")), ("error", "not_takeable", "closed"), ans)
            ans = await boss.request("takeover", debtor="NOPE")
            self.assertEqual((ans["t"], ans.get("code")), ("error", "not_found"), ans)
            # Supervisors are not capacity-limited: two take-overs over a capacity of zero.
            self.assertEqual(r.hget("hilo:agent:boss:live", "load:whatsapp"), "2")
            for c in (ana, boss):
                await c.close()
        run(scenario())

    def test_whisper_reaches_only_the_agent_and_supervisors(self):
        r = self.setup_floor()
        seed_debtor(r, "D1", ["+15550000001"])

        async def scenario():
            ana = await self.online("ana")
            ben = await self.online("ben", available=False)
            boss = await self.online("boss", available=False)
            escalate(r, "D1", addr="+15550000001")
            await ana.latest("agent", lambda m: "D1" in offers_of(m), timeout=10)
            self.assertEqual((await ana.request("accept", debtor="D1"))["t"], "ok")
            self.assertEqual((await boss.request("open", debtor="D1"))["t"], "ok")
            await boss.latest("conv", lambda m: m["debtor"] == "D1")
            hist_before = r.xlen(debtor_key("D1", "hist"))
            ans = await boss.request("whisper", debtor="D1", text="Offer the 6-instalment plan.")
            self.assertEqual((ans["t"], ans.get("to")), ("ok", "ana"), ans)
            # Live to ana (her conversation not even open), naming the supervisor.
            w = await ana.latest("whisper", lambda m: m["debtor"] == "D1")
            self.assertEqual((w["from"], w["from_name"], w["text"]),
                             ("boss", "Sue Supervisor", "Offer the 6-instalment plan."), w)
            # The supervisor following the conversation sees it among its notes, marked.
            v = await boss.latest("conv", lambda m: any(n.get("kind") == "whisper" for n in m["notes"]))
            n = [n for n in v["notes"] if n.get("kind") == "whisper"][0]
            self.assertEqual((n["from"], n["to"], n["by"]), ("boss", "ana", "supervisor:boss"), n)
            # ana opening it (as after a reload) finds it in the thread's notes.
            self.assertEqual((await ana.request("open", debtor="D1"))["t"], "ok")
            v = await ana.latest("conv", lambda m: m["debtor"] == "D1")
            self.assertEqual([n["text"] for n in v["notes"] if n.get("kind") == "whisper"],
                             ["Offer the 6-instalment plan."])
            # Not for ben, and nothing of it on the debtor's thread or outbound.
            await asyncio.sleep(0)
            self.assertFalse([m for m in ben.inbox if m.get("t") == "whisper"], ben.inbox)
            ans = await ben.request("open", debtor="D1")
            self.assertEqual((ans["t"], ans.get("code")), ("error", "forbidden"), ans)
            self.assertEqual(r.xlen(debtor_key("D1", "hist")), hist_before)
            self.assertNotIn("6-instalment", json.dumps(r.xrange(debtor_key("D1", "hist"))))
            self.assertEqual([e[1]["to"] for e in audit_events(r, "D1") if e[0] == "whisper"], ["ana"])
            # A queued conversation nobody handles: refused, with what to do instead.
            seed_debtor(r, "D2", ["+15550000002"])
            self.assertEqual((await ana.request("state", state="away"))["t"], "ok")
            escalate(r, "D2", addr="+15550000002")
            ans = await boss.request("whisper", debtor="D2", text="hello")
            self.assertEqual((ans["t"], ans.get("code")), ("error", "no_agent"), ans)
            ans = await boss.request("whisper", debtor="D1", text="")
            self.assertEqual((ans["t"], ans.get("code")), ("error", "bad_request"), ans)
            for c in (ana, ben, boss):
                await c.close()
        run(scenario())

    def test_admin_view_lists_the_flows_queues_with_their_agents(self):
        r = self.setup_floor(engine=True)
        add_agent(self.rtr.conf_path, "dora", name="Dora Disputes", skills="es.dispute,en.dispute")

        async def scenario():
            boss = await self.online("boss", available=False)
            ana = await self.online("ana")
            ans = await boss.request("admin")
            self.assertEqual(ans["t"], "ok", ans)
            queues = {q["queue"]: q for q in ans["queues"]}
            # The flow's escalations in both languages, [sla]'s own queue, and those seen.
            for q in ("es.collections", "en.collections", "es.dispute", "en.legal", "es.high_balance"):
                self.assertIn("flow", queues[q]["sources"], q)
            self.assertIn("dispute", queues["es.dispute"]["escalations"])
            self.assertEqual(queues["es.vip"]["sources"], ["sla"])
            self.assertEqual(sorted(queues["en.collections"]["agents"]), ["ana", "ben"])
            self.assertEqual(queues["es.dispute"]["agents"], ["dora"])
            self.assertEqual(queues["en.legal"]["agents"], [])
            agents = {a["agent"]: a for a in ans["agents"]}
            self.assertEqual((agents["ana"]["state"], agents["ana"]["online"], agents["ana"]["sessions"]),
                             ("available", True, 1), agents["ana"])
            self.assertEqual((agents["boss"]["role"], agents["dora"]["disabled"]), ("supervisor", False))
            for c in (ana, boss):
                await c.close()
        run(scenario())

    def test_force_logout_and_disable(self):
        r = self.setup_floor()

        async def scenario():
            ana = await self.online("ana")
            boss = await self.online("boss", available=False)
            self.assertIn("ana", r.smembers("hilo:agents:available"))
            ans = await boss.request("agent_logout", agent="ana")
            self.assertEqual(ans["t"], "ok", ans)
            bye = await ana.latest("logged_out")
            self.assertEqual(bye["reason"], "logged out by supervisor boss")
            code, _ = await ana.wait_closed()
            self.assertEqual(code, 4401)
            wait_until(lambda: "ana" not in r.smembers("hilo:agents:available"), 10, "ana out of routing")
            self.assertEqual(r.scard("hilo:agent:ana:sessions"), 0)
            # Logged out, not disabled: she may sign in again.
            self.assertEqual(login(self.rtr, "ana")[0], 200)
            # Disabled: the console closes and the next login is refused.
            ben = await self.online("ben")
            ans = await boss.request("agent_disable", agent="ben")
            self.assertEqual(ans["t"], "ok", ans)
            bye = await ben.latest("logged_out")
            self.assertEqual(bye["reason"], "account disabled by supervisor boss")
            self.assertEqual((await ben.wait_closed())[0], 4401)
            self.assertEqual(r.hget("hilo:agent:ben", "disabled"), "1")
            self.assertEqual(login(self.rtr, "ben")[0], 401)
            wait_until(lambda: "ben" not in r.smembers("hilo:agents:available"), 10, "ben out of routing")
            # Enabled again: logins work.
            self.assertEqual((await boss.request("agent_enable", agent="ben"))["t"], "ok")
            self.assertEqual(login(self.rtr, "ben")[0], 200)
            # Audited on the agents' own streams.
            self.assertEqual([(f["ev"], f["by"]) for _, f in r.xrange("hilo:{a:ben}:audit")],
                             [("disable", "boss"), ("enable", "boss")])
            self.assertEqual([f["ev"] for _, f in r.xrange("hilo:{a:ana}:audit")], ["logout"])
            # Bad input: unknown account, bad id, oneself.
            ans = await boss.request("agent_logout", agent="nobody")
            self.assertEqual((ans["t"], ans.get("code")), ("error", "unknown_agent"), ans)
            ans = await boss.request("agent_disable", agent="ana:live")
            self.assertEqual((ans["t"], ans.get("code")), ("error", "bad_request"), ans)
            ans = await boss.request("agent_logout", agent="boss")
            self.assertEqual((ans["t"], ans.get("code")), ("error", "bad_request"), ans)
            await boss.close()
        run(scenario())

    def test_a_plain_agent_is_refused_every_power(self):
        r = self.setup_floor()
        seed_debtor(r, "D1", ["+15550000001"])

        async def scenario():
            ana = await self.online("ana")
            ben = await self.online("ben")
            escalate(r, "D1", addr="+15550000001")
            for t, kw in (("takeover", {"debtor": "D1"}), ("whisper", {"debtor": "D1", "text": "x"}),
                          ("admin", {}), ("agent_disable", {"agent": "ben"}), ("agent_enable", {"agent": "ben"}),
                          ("agent_logout", {"agent": "ben"})):
                ans = await ana.request(t, **kw)
                self.assertEqual((ans["t"], ans.get("code")), ("error", "forbidden"), (t, ans))
            self.assertNotEqual(r.hget(debtor_key("D1", "conv"), "agent"), "ana")
            self.assertEqual(r.hget("hilo:agent:ben", "disabled"), None)
            self.assertEqual(r.scard("hilo:agent:ben:sessions"), 1)
            self.assertEqual(r.xlen(debtor_key("D1", "notes")), 0)
            for c in (ana, ben):
                await c.close()
        run(scenario())


if __name__ == "__main__":
    unittest.main()
