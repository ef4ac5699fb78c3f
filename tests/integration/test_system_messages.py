"""The debtor is never left in silence (issue 25; docs/console-protocol.md, "System messages";
router/src/console/system_msg.c): the router's own messages, [messages] of hilo.conf, per kind
and language. Each is committed as a collector-initiated message and handed to a provider only
on the gate's word at hand-off: real redis-server, hilo-router, the WhatsApp and SMS connectors
and the provider sandbox; the router on the test clock (a Tuesday morning in the debtor's zone,
or the night when a test moves it).

- The acknowledgement: a conversation moved to a person's queue from the console gets one in
  the debtor's language, on the channel the debtor last wrote on; not twice in a row; refused by
  the gate at night and for a debtor who opted out of the channel (not sent, the reason in the
  audit)."""

import json
import os
import time
import unittest

from hilo_browser import console_stack
from hilo_console import add_agent, escalate, online, run
from hilo_harness import (HiloTestCase, TEST_CLOCK_KEY, WORKDAY_10AM_MS, cli_path, debtor_key, history, seed_debtor,
                          wait_until)

D, PHONE = "SM-1", "+16505550142"
ACK_ES = "Gracias por escribirnos: un asesor le atenderá en breve."
ACK_EN = "Thank you for writing: an agent will be with you shortly."
MESSAGES = {"default_language": "en", "ack.es": ACK_ES, "ack.en": ACK_EN}


@unittest.skipUnless(cli_path(), "the hilo CLI is not built")
class SystemMessages(HiloTestCase):
    def setUp(self):
        super().setUp()
        self.stack = console_stack(self, extra={"messages": MESSAGES})
        self.r = self.stack.r
        seed_debtor(self.r, D, [PHONE], full_name="Sara Silencio", language="es")
        for a in ("ana", "ben"):
            add_agent(self.stack.router.conf_path, a, capacity="whatsapp=2,sms=2,voice=0",
                      skills="en.collections,es.collections")
        add_agent(self.stack.router.conf_path, "boss", role="supervisor", skills="")
        self.stack.debtor_says(D, PHONE, "whatsapp", "Hola, necesito ayuda con mi cuenta")

    def sent(self, text):
        """The sandbox's Graph API calls that carried text, answered 200."""
        return [c for c in self.stack.provider_calls("whatsapp")
                if text in json.dumps(c.get("body"), ensure_ascii=False) and c.get("response", {}).get("status") == 200]

    def system_items(self, kind):
        return [i for _, i in history(self.r, D) if i.get("by") == "system:" + kind]

    def audit(self, ev):
        return [f for _, f in self.r.xrange(debtor_key(D, "audit")) if f.get("ev") == ev]

    def move_to_queue(self, who, queue="es.collections"):
        """ana takes the conversation and who (ana or the supervisor) moves it to queue."""
        async def scenario():
            ana = await online(self.stack.router, "ana")
            escalate(self.r, D, channel="whatsapp", addr=PHONE, skill="en.collections")
            await ana.latest("agent", lambda m: D in [o["debtor"] for o in m.get("offers", [])], timeout=10)
            self.assertEqual((await ana.request("accept", debtor=D))["t"], "ok")
            actor = ana if who == "ana" else await online(self.stack.router, "boss", available=False)
            ans = await actor.request("transfer", debtor=D, to_queue=queue)
            self.assertEqual(ans["t"], "ok", ans)
            await ana.close()
            if actor is not ana:
                await actor.close()
        run(scenario())

    def test_acknowledged_when_moved_to_a_queue(self):
        self.move_to_queue("ana")
        wait_until(lambda: self.sent(ACK_ES), 20, "the acknowledgement recorded by the sandbox's Graph API")
        (item,) = self.system_items("ack")
        self.assertEqual((item["ch"], item["text"], item["to"]), ("whatsapp", ACK_ES, PHONE))
        self.assertEqual(self.sent(ACK_EN), [])

        # Moved again before the debtor wrote: the debtor already heard it; not said twice.
        async def again():
            boss = await online(self.stack.router, "boss", available=False)
            ans = await boss.request("transfer", debtor=D, to_queue="en.collections")
            self.assertEqual(ans["t"], "ok", ans)
            await boss.close()
        run(again())
        time.sleep(2)
        self.assertEqual(len(self.system_items("ack")), 1)
        self.assertEqual(len(self.sent(ACK_ES)), 1)

    def assert_refused(self, reason):
        wait_until(lambda: self.audit("outbound_cancelled") or self.audit("outbound_failed"), 20,
                   "the gate's refusal in the audit")
        (item,) = self.system_items("ack")
        (ev,) = [f for f in self.audit("outbound_cancelled") if f.get("ref") == item["oid"]]
        self.assertEqual(ev.get("reason"), reason, ev)
        time.sleep(1)
        self.assertEqual(self.sent(ACK_ES), [], "the gate refused it: never sent")

    def test_refused_at_night(self):
        # 23:30 in New York, the debtor's zone: outside contact hours when the ack is handed off.
        self.r.set(TEST_CLOCK_KEY, str(WORKDAY_10AM_MS + 13 * 3600 * 1000 + 1800 * 1000))
        self.move_to_queue("ana")
        self.assert_refused("outside_contact_hours")

    def test_refused_for_a_debtor_who_opted_out(self):
        self.r.hset(debtor_key(D, "conv"), "optout:whatsapp", str(WORKDAY_10AM_MS - 60000))
        self.move_to_queue("boss")
        self.assert_refused("opted_out")


if __name__ == "__main__":
    unittest.main()
