"""Acceptance 5 — opt-out per channel: STOP on SMS stops SMS but not WhatsApp; BAJA likewise in
Spanish; START / ALTA resume.

A real router with the conversation engine. After the keyword the debtor gets the confirmation
on that channel (the only message allowed there afterwards), conv optout:<channel> is set and
an `optout` audit entry written; a later message on that channel is stored but the bot's reply
is blocked (audit `blocked`, reason opted_out, nothing sent); the other channel keeps working.
"""

import unittest

import hilo_link_pb2 as pb
from engine_helpers import EngineTestCase, audit
from hilo_harness import debtor_key

EN, EN_PHONE = "D1002", "+16505550142"
ES, ES_PHONE = "D1001", "+16505551234"


class OptOut(EngineTestCase):
    def check_channel_stopped(self, d, channel, other, keyword, confirm, lang_probe):
        t = d.say(channel, keyword)
        self.assertEqual(len(t.replies), 1, t.replies)
        self.assertIn(confirm, t.text)
        conv = d.conv()
        self.assertIn("optout:" + channel, conv)
        self.assertNotIn("optout:" + other, conv)
        opt = [f["j"] for _, f in audit(self.r, d.id, "optout")]
        self.assertEqual(opt[-1]["channel"], channel)

        # The stopped channel: stored, the bot's answer blocked, nothing sent.
        before = len(self.blocked(d.id))
        t = d.say(channel, lang_probe)
        self.assertEqual(t.replies, [], "nothing may be sent on %s after the opt-out" % channel)
        blocked = self.blocked(d.id)[before:]
        self.assertTrue(blocked, "the blocked reply is in the audit")
        self.assertEqual({b["reason"] for b in blocked}, {"opted_out"})
        self.assertEqual({b["channel"] for b in blocked}, {channel})
        self.assertEqual(sum(1 for o in self.conn(channel).outbounds if o.debtor_id == d.id), 1,
                         "only the confirmation went out on %s" % channel)

        # The other channel still works.
        t = d.say(other, lang_probe)
        self.assertTrue(t.replies, "the bot must still answer on %s" % other)
        self.assertTrue(all(o.channel == pb.Channel.Value("CHANNEL_" + other.upper()) for o in t.outbounds))

    def test_stop_and_baja(self):
        self.start_engine()
        self.import_debtors([
            {"debtor_id": EN, "full_name": "James Whitfield", "phones": [EN_PHONE], "language": "en"},
            {"debtor_id": ES, "full_name": "Ana María Gómez", "phones": [ES_PHONE], "language": "es"},
        ])
        noon = self.set_clock_local("America/New_York", 2026, 11, 24, 12, 0)
        james = self.debtor(EN, EN_PHONE)
        james.say("whatsapp", "hello")   # a WhatsApp conversation exists before the STOP
        self.check_channel_stopped(james, "sms", "whatsapp", "STOP", "START", "hello")

        # The debtor's word is a consent record for that channel and phone (docs/strategies.md).
        consent = lambda d: self.r.hgetall(debtor_key(d, "consent"))
        self.assertEqual(consent(EN), {"sms:" + EN_PHONE: "revoked|%d|conversation" % noon})

        ana = self.debtor(ES, ES_PHONE)
        ana.say("sms", "hola")
        self.check_channel_stopped(ana, "whatsapp", "sms", "BAJA", "ALTA", "hola")
        self.assertEqual(consent(ES), {"whatsapp:" + ES_PHONE: "revoked|%d|conversation" % noon})

        # Re-subscribing: START on SMS, then the bot answers there again.
        t = james.say("sms", "START")
        self.assertEqual(len(t.replies), 1, t.replies)
        self.assertNotIn("optout:sms", james.conv())
        self.assertEqual(len(audit(self.r, EN, "optin")), 1)
        self.assertEqual(consent(EN), {"sms:" + EN_PHONE: "granted|%d|conversation" % noon})
        t = james.say("sms", "hello")
        self.assertTrue(t.replies)

    def test_whatsapp_id_is_recorded_as_the_portfolio_phone(self):
        """A Mexican mobile writes on WhatsApp as wa_id 5215512345678; the portfolio and the
        consent records know it as +525512345678."""
        self.start_engine()
        self.import_debtors([{"debtor_id": "D1003", "full_name": "Luz Ortega", "phones": ["+525512345678"],
                              "language": "es", "country": "MX", "timezone": "America/Mexico_City"}])
        at = self.set_clock_local("America/Mexico_City", 2026, 11, 24, 12, 0)
        seq = self.conn("whatsapp").send_envelope(provider_message_id="wamid.mx-baja", from_="5215512345678",
                                                  to="+15550000000", text="BAJA")
        self.assertEqual(self.conn("whatsapp").wait_result(seq, 10).kind, "ack")
        from hilo_harness import wait_until
        wait_until(lambda: self.r.hget(debtor_key("D1003", "consent"), "whatsapp:+525512345678"), 10,
                   "the consent record of the opt-out")
        self.assertEqual(self.r.hgetall(debtor_key("D1003", "consent")),
                         {"whatsapp:+525512345678": "revoked|%d|conversation" % at})


if __name__ == "__main__":
    unittest.main()
