"""The language of what the system writes: the opt-out and opt-in confirmations follow the
debtor, not the keyword.

A real router with the conversation engine and the shipped flow. The confirmations are the
flow's templates optout_keyword / optin_keyword (docs/bot-flow.md), said in the conversation's
language: the language the debtor has chosen in the conversation, else the portfolio record's,
else the flow's default_language (es). So a Spanish debtor who texts the English STOP is
answered in Spanish, an English debtor who texts BAJA in English, and a debtor with no language
on record in the flow's default; the voice confirmation is spoken in the debtor's language too.
"""

import unittest

from engine_helpers import EngineTestCase, audit

ES, ES_PHONE = "D2001", "+16505552001"
EN, EN_PHONE = "D2002", "+16505552002"
NONE, NONE_PHONE = "D2003", "+16505552003"
SWITCH, SWITCH_PHONE = "D2004", "+16505552004"

ES_SMS_OUT = "Ya no recibirá SMS de nuestra parte"
EN_SMS_OUT = "You will no longer receive SMS from us"
ES_WA_OUT = "Ya no recibirá mensajes de WhatsApp"
EN_SMS_IN = "You will receive SMS from us again"
ES_VOICE_OUT = "No volveremos a llamarle"
EN_VOICE_OUT = "We will no longer call you"


class Language(EngineTestCase):
    def confirm(self, debtor, channel, keyword, expect, ev="optout"):
        t = debtor.say(channel, keyword)
        self.assertEqual(len(t.replies), 1, t.replies)
        self.assertIn(expect, t.text, "%s %s %r" % (debtor.id, channel, keyword))
        self.assertTrue(audit(self.r, debtor.id, ev), "the %s is recorded" % ev)
        return t

    def test_confirmations_in_the_debtors_language(self):
        self.start_engine()
        self.import_debtors([
            {"debtor_id": ES, "full_name": "Ana María Gómez", "phones": [ES_PHONE], "language": "es"},
            {"debtor_id": EN, "full_name": "James Whitfield", "phones": [EN_PHONE], "language": "en"},
            {"debtor_id": NONE, "full_name": "Sam Rivera", "phones": [NONE_PHONE], "language": ""},
            {"debtor_id": SWITCH, "full_name": "Lucía Torres", "phones": [SWITCH_PHONE], "language": "es"},
        ])
        self.set_clock_local("America/New_York", 2026, 11, 24, 12, 0)

        # A Spanish debtor texting the English keyword, first thing: Spanish.
        ana = self.debtor(ES, ES_PHONE)
        t = self.confirm(ana, "sms", "STOP", ES_SMS_OUT)
        self.assertNotIn(EN_SMS_OUT, t.text)
        self.assertEqual(t.outbounds[0].language, "es")
        self.confirm(ana, "whatsapp", "STOP", ES_WA_OUT)

        # An English debtor texting the Spanish keyword: English, opting out and back in.
        james = self.debtor(EN, EN_PHONE)
        t = self.confirm(james, "sms", "BAJA", EN_SMS_OUT)
        self.assertNotIn(ES_SMS_OUT, t.text)
        self.confirm(james, "sms", "ALTA", EN_SMS_IN, ev="optin")

        # No language on record: the flow's default language (es).
        sam = self.debtor(NONE, NONE_PHONE)
        self.confirm(sam, "sms", "STOP", ES_SMS_OUT)

        # A debtor on record as Spanish who asked the bot for English: the conversation's
        # language is the debtor's latest word, for the bot and the confirmation alike.
        lucia = self.debtor(SWITCH, SWITCH_PHONE)
        lucia.say("whatsapp", "in english")
        self.assertEqual(lucia.conv().get("language"), "en")
        self.confirm(lucia, "sms", "BAJA", EN_SMS_OUT)

        # Voice: a spoken keyword is read like a typed one (the same text the bot reads), and
        # the spoken confirmation is in the debtor's language whatever the keyword's.
        t = ana.say("voice", "no más")
        self.assertIn(ES_VOICE_OUT, t.text, t.replies)
        self.assertIn("optout:voice", ana.conv())
        t = james.say("voice", "baja")
        self.assertIn(EN_VOICE_OUT, t.text, t.replies)


if __name__ == "__main__":
    unittest.main()
