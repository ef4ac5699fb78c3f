"""Acceptance 3 — "talk to a person" escalates, with a reason and a skill the agent sees.

A real router with the conversation engine: "quiero hablar con un asesor" (Spanish debtor, on
WhatsApp) and "I want to talk to a person" (English debtor, on SMS, and said on a voice call)
hand the conversation to a human queue: conv state queued with esc_reason requested_agent and
esc_skill <language>.collections, the debtor in hilo:queue:<skill>, an `escalated` audit entry,
a handoff reply on the debtor's channel. Afterwards the bot stays silent on that conversation.
"""

import unittest

import hilo_link_pb2 as pb
from engine_helpers import EngineTestCase, audit

ES, ES_PHONE = "D1013", "+16505550529"
EN, EN_PHONE = "D1002", "+16505550142"
EN2, EN2_PHONE = "D1012", "+16505550457"


class Escalation(EngineTestCase):
    def check_escalated(self, debtor_id, skill, channel):
        conv = self.r.hgetall("hilo:{d:%s}:conv" % debtor_id)
        self.assertEqual(conv.get("state"), "queued", conv)
        self.assertEqual(conv.get("esc_reason"), "requested_agent", conv)
        self.assertEqual(conv.get("esc_skill"), skill, conv)
        self.assertEqual(conv.get("queue"), skill, conv)
        self.assertIsNotNone(self.r.zscore("hilo:queue:" + skill, debtor_id), "not in the %s queue" % skill)
        self.assertIn(skill, self.r.smembers("hilo:queues"))
        esc = [f["j"] for _, f in audit(self.r, debtor_id, "escalated")]
        self.assertEqual(len(esc), 1, esc)
        self.assertEqual(esc[0]["reason"], "requested_agent")
        self.assertEqual(esc[0]["skill"], skill)
        self.assertEqual(esc[0]["channel"], channel)
        self.assertGreater(esc[0]["priority"], 0)

    def test_requests_for_a_person(self):
        self.start_engine()
        self.import_debtors([
            {"debtor_id": ES, "full_name": "María José Castillo", "phones": [ES_PHONE], "language": "es"},
            {"debtor_id": EN, "full_name": "James Whitfield", "phones": [EN_PHONE], "language": "en"},
            {"debtor_id": EN2, "full_name": "Michael O'Connor", "phones": [EN2_PHONE], "language": "en"},
        ])
        self.set_clock_local("America/New_York", 2026, 11, 24, 11, 0)

        maria = self.debtor(ES, ES_PHONE)
        t = maria.say("whatsapp", "quiero hablar con un asesor")
        self.assertIn("asesor", t.text)
        self.check_escalated(ES, "es.collections", "whatsapp")

        james = self.debtor(EN, EN_PHONE)
        t = james.say("sms", "I want to talk to a person")
        self.assertIn("agent", t.text)
        self.assertTrue(all(o.channel == pb.CHANNEL_SMS for o in t.outbounds))
        self.check_escalated(EN, "en.collections", "sms")

        # On a live call: the answer tells the voice connector to put the caller in the queue.
        michael = self.debtor(EN2, EN2_PHONE)
        michael.say("voice", call_id="CA-esc")                         # call start: the greeting
        t = michael.say("voice", "I want to talk to a person", call_id="CA-esc")
        self.assertEqual(t.voice.kind, pb.VoiceAction.KIND_ENQUEUE, t.voice)
        self.assertEqual(t.voice.target, "en.collections")
        self.check_escalated(EN2, "en.collections", "voice")

        # A human owns the conversation now: the bot stays silent, the message is in the thread.
        t = maria.say("whatsapp", "hola?")
        self.assertEqual(t.replies, [])
        self.assertEqual(maria.conv()["state"], "queued")


if __name__ == "__main__":
    unittest.main()
