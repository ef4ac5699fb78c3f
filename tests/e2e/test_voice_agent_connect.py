"""Voice in the agent console (issue 26): accepting a queued caller's offer puts the call
through to the agent's phone (protocol 1.4: a connect order, the call update with <Dial>), the
call's events (agent's phone ringing, connected, the end with its duration) are in the thread,
and an agent whose phone does not answer loses the conversation: the caller waits in the queue
again and the offer goes to someone else. Accepting is refused, the offer kept, when the call
cannot be put through (no phone on the agent's profile; no voice connector that speaks 1.4).

Real redis-server, hilo-router (engine on), hilo-voice, the sandbox (caller and agent's phone)
and real agent console websockets."""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from connectors_stack import ConnectorStackCase  # noqa: E402
from hilo_connector import Connector  # noqa: E402
from hilo_console import Console, add_agent, run, token_for  # noqa: E402
from hilo_harness import cli_path, debtor_key, wait_until  # noqa: E402

PHONE = "+16505551234"
ANA_PHONE = "+15550001111"


@unittest.skipUnless(cli_path(), "the hilo CLI is not built")
class AgentConnect(ConnectorStackCase):
    def setUp(self):
        super().setUp()
        self.start_stack(engine=True, channels=("voice",), router_overrides={"engine": {"turn_resume_ms": 1000}})
        self.seed("D1", PHONE, language="en", document_last4="8812")
        add_agent(self.router_.conf_path, "ana", capacity="whatsapp=0,sms=0,voice=1", skills="en.collections",
                  phone=ANA_PHONE)

    def conv(self):
        return self.r.hgetall(debtor_key("D1", "conv"))

    def voice_events(self):
        return [it["voice"]["event"] for it in self.thread("D1") if it.get("voice")]

    async def agent(self, agent_id="ana"):
        c = await Console(self.router_, token_for(self.router_, agent_id)).connect()
        await c.latest("hello")
        self.assertEqual((await c.request("state", state="available"))["t"], "ok")
        return c

    async def offered_call(self, agent_id="ana"):
        ana = await self.agent(agent_id)
        step = self.sandbox.call(PHONE)
        sid = step["call"]["sid"]
        self.sandbox.input(sid, digits="0")  # "a person, please"
        await ana.latest("agent", lambda m: [o["debtor"] for o in m.get("offers", [])] == ["D1"], timeout=15)
        self.assertEqual(self.sandbox.ok("GET", "/_sandbox/call/" + sid)["state"], "queued")
        return ana, sid

    def agent_leg(self, sid):
        """The leg ringing on the agent's phone once the call is put through."""
        def leg():
            c = self.sandbox.ok("GET", "/_sandbox/call/" + sid)
            return c["leg"]
        return wait_until(leg, 15, lambda: "the call to be put through to the agent (calls: %s)"
                          % self.sandbox.ok("GET", "/_sandbox/call/" + sid))

    def test_accepting_puts_the_caller_through_and_the_thread_has_the_call(self):
        async def scenario():
            ana, sid = await self.offered_call()
            self.assertEqual((await ana.request("accept", debtor="D1"))["t"], "ok")
            leg = self.agent_leg(sid)
            got = self.sandbox.ok("GET", "/_sandbox/call/" + leg)
            self.assertEqual((got["phone"], got["state"], got["parent"]), (ANA_PHONE, "ringing", sid))
            self.wait_items("D1", lambda it: it.get("voice", {}).get("event") == "agent_ringing", 1, 15, "ringing")
            self.assertEqual(self.r.hget("hilo:agent:ana:live", "load:voice"), "1", "the call counts on capacity")
            self.sandbox.ok("POST", "/_sandbox/call/%s/answer" % leg, {})
            self.wait_items("D1", lambda it: it.get("voice", {}).get("event") == "agent_connected", 1, 15,
                            "connected")
            self.assertEqual(self.sandbox.ok("GET", "/_sandbox/call/" + sid)["state"], "connected")
            self.sandbox.ok("POST", "/_sandbox/call/%s/hangup" % leg, {})  # the agent ends the conversation
            end = self.wait_items("D1", lambda it: it.get("voice", {}).get("event") == "call_end", 1, 15, "end")
            self.assertIn("duration_s", end[0]["voice"].keys() | {"duration_s"})
            self.assertEqual(self.sandbox.ok("GET", "/_sandbox/call/" + sid)["state"], "ended")
            self.assertEqual(self.conv().get("state"), "assigned", "the agent keeps it for the wrap-up")
            self.assertEqual(self.conv().get("agent"), "ana")
            evs = self.voice_events()
            self.assertLess(evs.index("agent_ringing"), evs.index("agent_connected"))
            self.assertLess(evs.index("agent_connected"), evs.index("call_end"))
            await ana.close()
        run(scenario())

    def test_the_agent_does_not_answer_the_caller_waits_again_for_someone_else(self):
        async def scenario():
            ana, sid = await self.offered_call()
            self.assertEqual((await ana.request("accept", debtor="D1"))["t"], "ok")
            leg = self.agent_leg(sid)
            self.sandbox.ok("POST", "/_sandbox/call/%s/decline" % leg, {"status": "no-answer"})
            self.wait_items("D1", lambda it: it.get("voice", {}).get("event") == "agent_no_answer", 1, 15,
                            "no answer")
            wait_until(lambda: self.conv().get("state") == "queued", 15,
                       lambda: "the conversation queued again (conv %r)" % self.conv())
            self.assertEqual(self.sandbox.ok("GET", "/_sandbox/call/" + sid)["state"], "queued",
                             "the caller waits in the provider's queue again")
            self.assertNotEqual(self.conv().get("agent"), "ana")
            self.assertIn("ana,", self.conv().get("declined", ""))
            gone = await ana.wait_for(lambda m: m.get("t") == "conv_gone", 10, "conv_gone", drop_older=False)
            self.assertEqual((gone["debtor"], gone.get("reason"), gone.get("name")),
                             ("D1", "call_unanswered", "Ana Test"), gone)
            wait_until(lambda: self.r.hget("hilo:agent:ana:live", "load:voice") == "0", 10, "capacity given back")
            self.assertNotIn("D1", self.r.smembers("hilo:agent:ana:convs"))
            time.sleep(1)  # routing passes run every 200 ms: not offered to ana again
            m = await ana.latest("agent")
            self.assertEqual(m.get("offers", []), [])
            audit = [f.get("ev") for _, f in self.r.xrange(debtor_key("D1", "audit"))]
            self.assertIn("agent_no_answer", audit)
            await ana.close()
        run(scenario())

    def test_a_router_killed_between_the_event_and_the_requeue_loses_no_caller(self):
        """The no-answer is two steps (the conversation queued again on the agent's and the
        debtor's keys; the turn that records the event applied on the debtor's): the requeue is
        held by a Redis fault (NOPERM on the agents' keys) while the event is committed, the
        router is SIGKILLed, the fault cleared and a router started again: the turns sweep
        resumes the pending turn, the caller is queued again and offered to another agent."""
        add_agent(self.router_.conf_path, "bo", capacity="whatsapp=0,sms=0,voice=1", skills="en.collections",
                  phone="+15550002222")

        async def scenario():
            ana, sid = await self.offered_call()
            self.assertEqual((await ana.request("accept", debtor="D1"))["t"], "ok")
            leg = self.agent_leg(sid)
            # Every key but hilo:agent:* (the requeue's, not the turn's) allowed to the default user.
            self.deny_keys(self.redis_, "~hilo:[^a]*", "~hilo:a[^g]*", "~hilo:ag[^e]*", "~hilo:age[^n]*",
                           "~hilo:agen[^t]*", "~hilo:agent[^:]*")
            self.sandbox.ok("POST", "/_sandbox/call/%s/decline" % leg, {"status": "no-answer"})
            self.wait_items("D1", lambda it: it.get("voice", {}).get("event") == "agent_no_answer", 1, 15,
                            "no answer")
            wait_until(lambda: self.router_.log_lines("console", "event=call_unanswered"), 15, "the requeue tried")
            time.sleep(0.5)  # whatever the router does next with the turn, it has done
            self.router_.kill9()
            await ana.close()
            self.allow_all_keys(self.redis_)
            self.router_.start()
            bo = await self.agent("bo")
            await bo.latest("agent", lambda m: [o["debtor"] for o in m.get("offers", [])] == ["D1"], timeout=20)
            conv = self.conv()
            self.assertEqual((conv.get("state"), conv.get("offer_agent")), ("queued", "bo"), conv)
            self.assertIn("ana,", conv.get("declined", ""))
            self.assertEqual(self.r.hget("hilo:agent:ana:live", "load:voice"), "0", "ana's capacity given back")
            self.assertEqual(self.sandbox.ok("GET", "/_sandbox/call/" + sid)["state"], "queued")
            audit = [f.get("ev") for _, f in self.r.xrange(debtor_key("D1", "audit"))]
            self.assertEqual(audit.count("agent_no_answer"), 1, audit)
            self.assertEqual(self.voice_events().count("agent_no_answer"), 1)
            await bo.close()
        run(scenario())

    def test_a_connect_order_the_provider_refuses_puts_the_caller_back_in_the_queue(self):
        async def scenario():
            ana, sid = await self.offered_call()
            self.sandbox.fail(api="twilio", status=400, code=13223, message="Dial: invalid phone number format",
                              match="<Dial")
            self.assertEqual((await ana.request("accept", debtor="D1"))["t"], "ok")
            item = self.wait_items("D1", lambda it: it.get("voice", {}).get("event") == "connect_failed", 1, 15,
                                   "the failed connect order in the thread")[0]
            self.assertEqual((item["voice"]["status"], item["voice"]["requeued"]), ("13223", True), item)
            conv = self.conv()
            self.assertEqual((conv.get("state"), conv.get("agent")), ("queued", None), conv)
            self.assertIsNotNone(self.r.zscore("hilo:queue:" + conv["queue"], "D1"), "in the queue again")
            self.assertEqual(self.r.hget("hilo:agent:ana:live", "load:voice"), "0", "no slot held")
            self.assertEqual(self.sandbox.ok("GET", "/_sandbox/call/" + sid)["state"], "queued")
            # Offered again (ana did not pass it: the provider failed, not her phone).
            await ana.latest("agent", lambda m: [o["debtor"] for o in m.get("offers", [])] == ["D1"], timeout=15)
            audit = [f.get("ev") for _, f in self.r.xrange(debtor_key("D1", "audit"))]
            self.assertEqual(audit.count("call_connect_failed"), 1, audit)
            await ana.close()
        run(scenario())

    def test_a_connect_order_for_a_call_that_ended_frees_the_agent(self):
        async def scenario():
            ana, sid = await self.offered_call()
            self.sandbox.fail(api="twilio", delay_ms=3000, match="<Dial")  # the update comes late
            self.assertEqual((await ana.request("accept", debtor="D1"))["t"], "ok")
            self.sandbox.hangup(sid)  # meanwhile the caller hangs up
            item = self.wait_items("D1", lambda it: it.get("voice", {}).get("event") == "connect_failed", 1, 15,
                                   "the failed connect order in the thread")[0]
            self.assertEqual((item["voice"]["status"], item["voice"]["requeued"]), ("21220", False), item)
            conv = self.conv()
            self.assertEqual((conv.get("state"), conv.get("agent"), conv.get("call_live")), ("open", None, ""), conv)
            self.assertIsNone(self.r.zscore("hilo:queue:" + conv["queue"], "D1"), "not queued: the caller is gone")
            self.assertEqual(self.r.hget("hilo:agent:ana:live", "load:voice"), "0", "no slot held for a dead call")
            self.assertNotIn("D1", self.r.smembers("hilo:agent:ana:convs"))
            await ana.close()
        run(scenario())

    def test_accept_is_refused_without_a_phone_and_the_offer_stays(self):
        add_agent(self.router_.conf_path, "bo", capacity="whatsapp=0,sms=0,voice=1", skills="en.collections")

        async def scenario():
            bo, sid = await self.offered_call("bo")
            ans = await bo.request("accept", debtor="D1")
            self.assertEqual((ans["t"], ans.get("code")), ("error", "no_phone"), ans)
            self.assertEqual(self.conv().get("offer_agent"), "bo", "the offer stays")
            self.assertEqual(self.conv().get("state"), "queued")
            self.assertEqual(self.sandbox.ok("GET", "/_sandbox/call/" + sid)["state"], "queued")
            await bo.close()
        run(scenario())

    def test_accept_is_refused_when_no_voice_connector_speaks_1_4(self):
        async def scenario():
            ana, sid = await self.offered_call()
            self.conns["voice"].stop()
            wait_until(lambda: self.router_.log_lines("link", "event=connector_lost"), 20, "the connector gone")
            ans = await ana.request("accept", debtor="D1")
            self.assertEqual((ans["t"], ans.get("code")), ("error", "no_call_connector"), ans)
            self.assertEqual(self.conv().get("offer_agent"), "ana", "the offer stays")
            await ana.close()
        run(scenario())

    def test_a_connector_that_speaks_1_3_or_less_gets_no_connect_order(self):
        async def scenario():
            ana, sid = await self.offered_call()
            self.conns["voice"].stop()
            wait_until(lambda: self.router_.log_lines("link", "event=connector_lost"), 20, "the connector gone")
            keys = self.router_.keys.client("voice-test") if self.router_.keys else {}
            old = Connector(self.router_.link, "voice", instance="voice-1.1", **keys)  # Frame.minor 1
            old.start()
            self.addCleanup(old.close)
            wait_until(lambda: old.session_up, 10, "the old connector's session")
            ans = await ana.request("accept", debtor="D1")
            self.assertEqual((ans["t"], ans.get("code")), ("error", "no_call_connector"), ans)
            time.sleep(0.5)
            self.assertEqual(old.outbounds, [], "an order went to a connector that cannot read it")
            self.assertEqual(self.conv().get("offer_agent"), "ana", "the offer stays")
            await ana.close()
        run(scenario())


if __name__ == "__main__":
    unittest.main(verbosity=2)
