"""A caller who asks for a person and hangs up (issue 26's defects): a caller who hangs up while
waiting leaves the queue — no agent is offered a call nobody is on, and an offer made before the
hang-up is taken back — and the end of a call whose case an agent has just closed does not
reopen that case.

Real redis-server, hilo-router (engine on), hilo-voice, the sandbox's phone and a real agent
console websocket."""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from connectors_stack import ConnectorStackCase  # noqa: E402
from hilo_console import Console, add_agent, run, token_for  # noqa: E402
from hilo_harness import cli_path, debtor_key, wait_until  # noqa: E402

PHONE = "+16505551234"


@unittest.skipUnless(cli_path(), "the hilo CLI is not built")
class CallerHangsUp(ConnectorStackCase):
    def setUp(self):
        super().setUp()
        # The reopen sweep every second: it must not take a call's end for a message either.
        self.start_stack(engine=True, channels=("voice",), router_overrides={"console": {"reopen_sweep_s": 1}})
        self.seed("D1", PHONE, language="en", document_last4="8812")
        # (a phone: accepting a live call puts it through to it, test_voice_agent_connect.py)
        add_agent(self.router_.conf_path, "ana", capacity="whatsapp=0,sms=0,voice=1", skills="en.collections",
                  phone="+15550001111")

    def conv(self):
        return self.r.hgetall(debtor_key("D1", "conv"))

    def queued_call(self):
        """A call whose caller asks for a person (0 at the verification prompt): queued."""
        step = self.sandbox.call(PHONE)
        sid = step["call"]["sid"]
        self.sandbox.input(sid, digits="0")
        wait_until(lambda: self.conv().get("state") == "queued", 15, lambda: "queued (conv %r)" % self.conv())
        return sid, self.conv()["queue"]

    def hang_up(self, sid):
        self.sandbox.hangup(sid)
        self.wait_items("D1", lambda it: it.get("voice", {}).get("event") == "call_end", 1, 15, "the call's end")

    async def agent(self):
        c = await Console(self.router_, token_for(self.router_, "ana")).connect()
        await c.latest("hello")
        self.assertEqual((await c.request("state", state="available"))["t"], "ok")
        return c

    async def offered_call(self):
        """ana online and available, then a queued call: offered to her."""
        ana = await self.agent()
        sid, _ = self.queued_call()
        await ana.latest("agent", lambda m: [o["debtor"] for o in m.get("offers", [])] == ["D1"], timeout=10)
        return ana, sid

    def test_hang_up_while_waiting_leaves_the_queue_and_offers_nothing(self):
        sid, queue = self.queued_call()
        self.assertEqual(self.conv().get("call_live"), sid, "the call is live while the caller waits")
        self.hang_up(sid)
        wait_until(lambda: self.conv().get("call_live") == "", 10, "the call no longer live")
        wait_until(lambda: self.conv().get("state") == "open", 15,
                   lambda: "the conversation to leave the queue (conv %r)" % self.conv())
        wait_until(lambda: self.r.zscore("hilo:queue:" + queue, "D1") is None, 10, "out of the queue")
        audit = [f for _, f in self.r.xrange(debtor_key("D1", "audit"))]
        self.assertTrue(any(f.get("ev") == "caller_hung_up" for f in audit), audit)

        async def scenario():
            ana = await self.agent()
            time.sleep(1.5)  # routing passes run every 200 ms
            m = await ana.latest("agent")
            self.assertEqual(m.get("offers", []), [], "an agent was offered a call nobody is on")
            self.assertEqual(self.r.smembers("hilo:agent:ana:offers"), set())
            await ana.close()
        run(scenario())

    def test_an_offer_made_before_the_hang_up_is_taken_back(self):
        async def scenario():
            ana, sid = await self.offered_call()
            self.hang_up(sid)
            await ana.latest("agent", lambda m: m.get("offers", []) == [], timeout=10)
            self.assertEqual(self.r.smembers("hilo:agent:ana:offers"), set())
            self.assertEqual(self.r.hget("hilo:agent:ana:live", "load:voice"), "0")
            self.assertEqual(self.conv().get("state"), "open")
            await ana.close()
        run(scenario())

    def test_the_end_of_a_call_closed_by_its_agent_does_not_reopen_the_case(self):
        async def scenario():
            ana, sid = await self.offered_call()
            self.assertEqual((await ana.request("accept", debtor="D1"))["t"], "ok")
            ans = await ana.request("wrapup", debtor="D1", code="refused", close=True)
            self.assertEqual(ans["t"], "ok", ans)
            self.assertEqual(self.conv().get("state"), "closed")
            self.hang_up(sid)
            time.sleep(2.5)  # two sweeps
            self.assertEqual(self.conv().get("state"), "closed", "the call's end reopened the case")
            m = await ana.latest("agent")
            self.assertEqual(m.get("offers", []), [])
            await ana.close()
        run(scenario())


if __name__ == "__main__":
    unittest.main(verbosity=2)
