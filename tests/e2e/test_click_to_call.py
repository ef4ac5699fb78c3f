"""Click-to-call from the console (issue 26): the agent holding a conversation calls the debtor —
the agent's phone rings first, and once the agent answers the debtor is dialled (protocol 1.4,
VoiceAction BRIDGE). It is a contact the collector starts, so it passes the compliance gate (at
the click and again at hand-off) and counts toward the call limits: outside the debtor's contact
hours it is refused with the reason and nothing rings. Refused without a phone on the agent's
profile.

Real redis-server, hilo-router (engine on, test clock), hilo-voice, the sandbox (the agent's and
the debtor's phones) and a real console websocket. The debtor is in America/New_York under the
US pack (calls 08:00-21:00)."""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from connectors_stack import ConnectorStackCase  # noqa: E402
from engine_helpers import CLOCK_KEY, local_ms  # noqa: E402
from hilo_console import Console, add_agent, escalate, run, token_for  # noqa: E402
from hilo_harness import cli_path, debtor_key, wait_until  # noqa: E402

PHONE = "+16505551234"
ANA_PHONE = "+15550001111"
TZ = "America/New_York"
T0 = local_ms(TZ, 2026, 11, 24, 10, 0)  # Tuesday 10:00


@unittest.skipUnless(cli_path(), "the hilo CLI is not built")
class ClickToCall(ConnectorStackCase):
    def setUp(self):
        super().setUp()
        self.start_stack(engine=True, channels=("voice",), router_overrides={"engine": {"test_clock": "true"}})
        self.seed("D1", PHONE, language="en", document_last4="4321")
        self.r.set(CLOCK_KEY, str(T0))
        add_agent(self.router_.conf_path, "ana", capacity="whatsapp=0,sms=1,voice=1", skills="en.collections",
                  phone=ANA_PHONE)

    async def holding(self):
        """ana, holding D1 (escalated on SMS, accepted)."""
        ana = await Console(self.router_, token_for(self.router_, "ana")).connect()
        await ana.latest("hello")
        self.assertEqual((await ana.request("state", state="available"))["t"], "ok")
        escalate(self.r, "D1", channel="sms", addr=PHONE, now_ms=T0)
        await ana.latest("agent", lambda m: [o["debtor"] for o in m.get("offers", [])] == ["D1"], timeout=15)
        self.assertEqual((await ana.request("accept", debtor="D1"))["t"], "ok")
        return ana

    def calls_to(self, phone):
        return [c for c in self.sandbox.phone(phone)["calls"]]

    def test_rings_the_agent_then_the_debtor(self):
        async def scenario():
            ana = await self.holding()
            ans = await ana.request("call", debtor="D1")
            self.assertEqual((ans["t"], ans.get("ok"), ans.get("call")), ("reply_result", True, True), ans)
            agent_call = wait_until(lambda: [c for c in self.calls_to(ANA_PHONE) if c["state"] == "ringing"], 15,
                                    lambda: "the agent's phone to ring (%s)" % self.calls_to(ANA_PHONE))[-1]
            self.assertEqual(agent_call["direction"], "outbound-api")
            self.assertEqual(self.calls_to(PHONE), [], "the debtor is dialled only once the agent answers")
            self.sandbox.ok("POST", "/_sandbox/call/%s/answer" % agent_call["sid"], {})
            leg = wait_until(lambda: self.calls_to(PHONE), 15, "the debtor's phone to ring")[-1]
            self.assertEqual((leg["state"], leg["parent"]), ("ringing", agent_call["sid"]))
            # Collector-initiated: counted by the call limits, in the thread as the agent's.
            self.assertEqual(self.r.zcard(debtor_key("D1", "contacts:voice")), 1, "counted once by the call limits")
            audit = [(f.get("ev"), f.get("by")) for _, f in self.r.xrange(debtor_key("D1", "audit"))]
            self.assertIn(("outbound", "agent:ana"), audit)
            await ana.close()
        run(scenario())

    async def debtor_leg(self, ana):
        """ana clicks Call, answers her phone; the debtor's leg rings. Returns its sid."""
        self.assertEqual((await ana.request("call", debtor="D1"))["t"], "reply_result")
        agent_call = wait_until(lambda: [c for c in self.calls_to(ANA_PHONE) if c["state"] == "ringing"], 15,
                                "the agent's phone to ring")[-1]
        self.sandbox.ok("POST", "/_sandbox/call/%s/answer" % agent_call["sid"], {})
        return wait_until(lambda: self.calls_to(PHONE), 15, "the debtor's phone to ring")[-1]["sid"]

    def dialed(self):
        return [it["voice"] for it in self.thread("D1") if it.get("voice", {}).get("event") == "debtor_dialed"]

    def test_the_thread_says_the_debtor_answered(self):
        async def scenario():
            ana = await self.holding()
            leg = await self.debtor_leg(ana)
            self.sandbox.ok("POST", "/_sandbox/call/%s/answer" % leg, {})
            self.sandbox.ok("POST", "/_sandbox/call/%s/hangup" % leg, {})
            wait_until(lambda: self.dialed(), 15, lambda: "the debtor's leg in the thread (%s)" % self.thread("D1"))
            self.assertEqual([v["status"] for v in self.dialed()], ["completed"])
            self.assertEqual([o.get("state") for o in self.ostat("D1").values()], ["delivered"])
            self.assertEqual(self.r.hget(debtor_key("D1", "conv"), "state"), "assigned", "the agent keeps it")
            await ana.close()
        run(scenario())

    def test_the_thread_says_the_debtor_was_busy(self):
        async def scenario():
            ana = await self.holding()
            leg = await self.debtor_leg(ana)
            self.sandbox.ok("POST", "/_sandbox/call/%s/decline" % leg, {"status": "busy"})
            wait_until(lambda: self.dialed(), 15, lambda: "the debtor's leg in the thread (%s)" % self.thread("D1"))
            self.assertEqual([v["status"] for v in self.dialed()], ["busy"])
            # The contact attempt's result is the debtor's leg, not the agent's answer.
            wait_until(lambda: [(o.get("state"), o.get("error_code")) for o in self.ostat("D1").values()]
                       == [("failed", "busy")], 15, lambda: "the attempt failed busy (%s)" % self.ostat("D1"))
            await ana.close()
        run(scenario())

    def test_outside_contact_hours_the_gate_refuses_and_nothing_rings(self):
        async def scenario():
            ana = await self.holding()
            self.r.set(CLOCK_KEY, str(local_ms(TZ, 2026, 11, 24, 21, 30)))  # 21:30 at the debtor's
            ans = await ana.request("call", debtor="D1")
            self.assertEqual((ans["t"], ans.get("ok"), ans.get("call")), ("reply_result", False, True), ans)
            self.assertEqual(ans["reason"], "outside_contact_hours", ans)
            self.assertTrue(ans["text"], ans)
            time.sleep(1)
            self.assertEqual(self.calls_to(ANA_PHONE), [])
            self.assertEqual([c for c in self.sandbox.calls("twilio") if c["path"].endswith("/Calls.json")], [])
            audit = [f.get("ev") for _, f in self.r.xrange(debtor_key("D1", "audit"))]
            self.assertIn("blocked", audit)
            await ana.close()
        run(scenario())

    def test_refused_without_a_phone(self):
        add_agent(self.router_.conf_path, "ana", capacity="whatsapp=0,sms=1,voice=1", skills="en.collections")
        self.r.hdel("hilo:agent:ana", "phone")

        async def scenario():
            ana = await self.holding()
            ans = await ana.request("call", debtor="D1")
            self.assertEqual((ans["t"], ans.get("code")), ("error", "no_phone"), ans)
            await ana.close()
        run(scenario())


if __name__ == "__main__":
    unittest.main(verbosity=2)
