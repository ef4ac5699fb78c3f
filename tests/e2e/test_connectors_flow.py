"""End to end through the real connectors (acceptance 3): a signed WhatsApp webhook from the
sandbox reaches the router through hilo-whatsapp and the bot's reply is recorded by the sandbox's
Graph API; the same through hilo-sms and Twilio's Messages API; a call through hilo-voice gets
TwiML whose <Say> continues the same conversation, turn after turn.

Real redis-server, hilo-router (engine on), hilo-whatsapp, hilo-sms, hilo-voice and the provider
sandbox, on free loopback ports (tests/e2e/connectors_stack.py)."""

import json
import os
import sys
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from connectors_stack import ConnectorStackCase, parse_twiml  # noqa: E402
from hilo_harness import wait_until  # noqa: E402

PHONE = "+16505551234"
TIMEOUT = 15


class ConnectorFlow(ConnectorStackCase):

    def test_whatsapp_reply_reaches_graph_api(self):
        self.start_stack(engine=True)
        self.seed("D1", PHONE, language="en")
        r = self.sandbox.send("whatsapp", PHONE, "hello")
        self.assertEqual(r["status"], 200, r)  # answered 200 only after the router's ack
        wamid = r["message_id"]
        # The inbound is in the debtor's thread, exactly as the provider named it.
        ins = self.wait_items("D1", lambda it: it["dir"] == "in", 1, TIMEOUT, "the inbound")
        self.assertEqual((ins[0]["ch"], ins[0]["pmid"], ins[0]["text"]), ("whatsapp", wamid, "hello"))
        # The bot's replies are committed, sent through the Graph API and delivered.
        outs = self.wait_items("D1", lambda it: it["dir"] == "out", 1, TIMEOUT, "the bot's reply")
        oids = {it["oid"] for it in outs}
        calls = wait_until(lambda: [c for c in self.sandbox.calls("whatsapp")
                                    if c["response"]["status"] == 200 and c["body"]
                                    and c["body"].get("biz_opaque_callback_data") in {o + "|D1" for o in oids}] or None,
                           TIMEOUT, "Graph API sends naming the outbound ids %s" % oids)
        call = calls[0]
        self.assertTrue(call["path"].endswith("/106540352242922/messages"), call["path"])
        self.assertEqual(call["body"]["to"].lstrip("+"), PHONE.lstrip("+"))
        self.assertEqual(call["body"]["type"], "text")
        texts = [o["text"] for o in outs]
        self.assertIn(call["body"]["text"]["body"], texts)
        # The debtor's phone shows the reply, and the status webhooks settle it in the router.
        wait_until(lambda: any(i["text"] == call["body"]["text"]["body"] and i["status"] in ("delivered", "read")
                               for i in self.sandbox.outbound_items(PHONE, "whatsapp")),
                   TIMEOUT, "the reply delivered on the debtor's phone")
        # The outbound and its debtor ride along, so status webhooks name it fully (protocol §9).
        oid = call["body"]["biz_opaque_callback_data"].split("|")[0]
        wait_until(lambda: self.ostat("D1").get(oid, {}).get("state")
                   in ("delivered", "read"), TIMEOUT,
                   lambda: "the router to settle the reply (ostat %s)" % self.ostat("D1"))

    def test_sms_reply_reaches_twilio_api(self):
        self.start_stack(engine=True)
        self.seed("D2", PHONE, language="en")
        r = self.sandbox.send("sms", PHONE, "hello")
        self.assertEqual(r["status"], 200, r)
        root, verbs = parse_twiml(r["body"])  # the webhook's answer: an empty <Response/>
        self.assertEqual(verbs, [])
        ins = self.wait_items("D2", lambda it: it["dir"] == "in", 1, TIMEOUT, "the inbound")
        self.assertEqual((ins[0]["ch"], ins[0]["pmid"]), ("sms", r["message_id"]))
        outs = self.wait_items("D2", lambda it: it["dir"] == "out", 1, TIMEOUT, "the bot's reply")
        by_oid = {it["oid"]: it for it in outs}

        def sends():
            got = []
            for c in self.sandbox.calls("twilio"):
                cb = (c["body"] or {}).get("StatusCallback", "")
                oid = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(cb).query)).get("ob")
                if c["response"]["status"] == 201 and oid in by_oid:
                    got.append((oid, c))
            return got or None
        got = wait_until(sends, TIMEOUT, "Messages.json calls for %s" % list(by_oid))
        oid, call = got[0]
        self.assertIn("/2010-04-01/Accounts/AC00000000000000000000000000000000/Messages.json", call["path"])
        self.assertEqual(call["body"]["To"], PHONE)
        self.assertEqual(call["body"]["Body"], by_oid[oid]["text"])
        wait_until(lambda: self.ostat("D2").get(oid, {}).get("state") == "delivered", TIMEOUT,
                   lambda: "the router to settle %s as delivered (ostat %s)" % (oid, self.ostat("D2")))

    def test_voice_turns_continue_the_conversation(self):
        self.start_stack(engine=True)
        self.seed("D3", PHONE, language="en", full_name="James Whitfield", document_last4="8812")
        # The conversation starts on WhatsApp: the bot asks for the document digits.
        r = self.sandbox.send("whatsapp", PHONE, "hello")
        self.assertEqual(r["status"], 200, r)
        self.wait_items("D3", lambda it: it["dir"] == "out" and it["ch"] == "whatsapp", 1, TIMEOUT, "the WhatsApp reply")
        # Then the debtor calls: the call-start webhook is answered with the bot's TwiML.
        step = self.sandbox.call(PHONE)
        call = step["call"]
        self.assertIsNone(call.get("error"), step)
        self.assertEqual(call["state"], "gathering", step)
        root, verbs = parse_twiml(step["twiml"])
        self.assertEqual(verbs[0][0], "Gather", step["twiml"])
        gather = root.find("Gather")
        self.assertIn("/webhooks/twilio/voice/gather?turn=", gather.get("action"))
        prompt = " ".join(s.text or "" for s in gather.iter("Say"))
        self.assertTrue(prompt.strip(), step["twiml"])
        # The prompt is the voice turn of the router's conversation: committed in the same thread.
        vouts = self.wait_items("D3", lambda it: it["dir"] == "out" and it["ch"] == "voice", 1, TIMEOUT,
                                "the voice answer in the thread")
        self.assertEqual(vouts[0]["text"], prompt.strip())
        # The next turn (digits) continues it: the bot verifies the caller by name.
        step = self.sandbox.input(call["sid"], digits="8812")
        self.assertIsNone(step["call"].get("error"), step)
        said = " ".join(step["said"])
        self.assertIn("James", said, step)
        root, verbs = parse_twiml(step["twiml"])
        self.assertIn(verbs[0][0], ("Gather", "Say"), step["twiml"])
        # One thread, three channels' worth of turns, in order.
        self.sandbox.hangup(call["sid"])
        items = self.wait_items("D3", lambda it: it["ch"] == "voice" and it["dir"] == "in", 3, TIMEOUT,
                                "call start, gather and call end in the thread")
        kinds = [it["voice"]["event"] for it in items]
        self.assertEqual(kinds, ["call_start", "gather", "call_end"], json.dumps(items))
        self.assertEqual(items[1]["voice"]["digits"], "8812")
        thread = self.thread("D3")
        self.assertEqual([it["ch"] for it in thread if it["dir"] == "in"],
                         ["whatsapp", "voice", "voice", "voice"], json.dumps(thread))
        self.assertEqual(len({it["voice"]["call_id"] for it in items}), 1)

    def test_voice_turns_without_text_are_answered_at_once(self):
        # An unknown caller asks for a person, hangs up and calls again: the router answers that
        # call with an action and no text (protocol.md §10.4 lets such an answer come without
        # an outbound id). The connector must render it at once, not leave the caller waiting
        # for the fallback deadline.
        self.start_stack(engine=True, channels=("voice",))
        step = self.sandbox.call("+16505550199")
        self.assertEqual(step["call"]["state"], "gathering", step)
        for i in range(3):
            if step["call"]["state"] != "gathering":
                break
            step = self.sandbox.input(step["call"]["sid"], digits="1")
        self.assertIsNone(step["call"].get("error"), step)
        self.assertEqual(step["call"]["state"], "queued", step)  # escalated to a person
        self.sandbox.hangup(step["call"]["sid"])
        # Calling again while the conversation waits for a person: the router's answer is an
        # action without text.
        step = self.sandbox.call("+16505550199")
        self.assertIsNone(step["call"].get("error"), step)
        for ev in self.sandbox.events(channel="voice"):
            if ev["kind"] in ("voice.call", "voice.gather"):
                self.assertEqual(ev["response"]["status"], 200, ev["response"])
                self.assertLess(ev["response"]["elapsed_ms"], 1500, ev["response"])  # deadline 2000
                parse_twiml(ev["response"]["body"])
                if os.environ.get("HILO_E2E_VERBOSE"):
                    print(ev["kind"], ev["response"]["elapsed_ms"], ev["response"]["body"], file=sys.stderr)
        self.assertEqual(self.conns["voice"].metrics().value("hilo_connector_webhooks_total",
                                                             result="reply_fallback"), 0)

if __name__ == "__main__":
    unittest.main(verbosity=2)
