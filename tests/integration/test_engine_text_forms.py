"""One text normaliser: the bot and the opt-out detector read the same text the same way,
whatever Unicode form it arrives in.

A real router with the conversation engine and the shipped flow. Phones send decomposed
accents (NFD: "a" + U+0301) and keyboards full-width letters ("ＳＴＯＰ"); both are folded by
hilo/textnorm.h (docs/architecture.md) before the bot's intents and the opt-out keywords are
matched. A decomposed "¿Cuánto debo?" is the balance intent (the balance comes after
verification); a full-width STOP and a decomposed, full-width BAJA opt out; a full-width bot
opt-out phrase is the bot's opt-out intent.
"""

import unittest

from engine_helpers import EngineTestCase, audit

ES, ES_PHONE = "D3001", "+16505553001"
EN, EN_PHONE = "D3002", "+16505553002"

NFD_CUANTO = "\u00bfCua\u0301nto debo?"          # ¿Cuánto debo? with a combining acute
FW_STOP = "\uff33\uff34\uff2f\uff30"              # ＳＴＯＰ
FW_NFD_BAJA = "\uff22\uff21\u0301\uff2a\uff21"    # ＢＡ́ＪＡ
FW_NO_ME_CONTACTEN = "\uff2e\uff4f \uff4d\uff45 \uff43\uff4f\uff4e\uff54\uff41\uff43\uff54\uff45\uff4e"


class TextForms(EngineTestCase):
    def test_bot_and_optout_agree_on_unicode_forms(self):
        self.start_engine()
        self.import_debtors([
            {"debtor_id": ES, "full_name": "Ana María Gómez", "phones": [ES_PHONE], "language": "es",
             "document_last4": "4321", "balance": "1250.00", "currency": "USD"},
            {"debtor_id": EN, "full_name": "James Whitfield", "phones": [EN_PHONE], "language": "en"},
        ])
        self.set_clock_local("America/New_York", 2026, 11, 24, 12, 0)

        # The balance intent from decomposed text: asked for the document first, then the
        # balance the debtor asked for (not the menu).
        ana = self.debtor(ES, ES_PHONE)
        t = ana.say("whatsapp", NFD_CUANTO)
        self.assertIn("4 dígitos", t.text)
        t = ana.say("whatsapp", "4321")
        self.assertIn("1.250,00 USD", t.text, t.replies)

        # Full-width STOP on SMS: the keyword, the channel stopped.
        t = ana.say("sms", FW_STOP)
        self.assertEqual(len(t.replies), 1, t.replies)
        self.assertIn("optout:sms", ana.conv())
        self.assertEqual(audit(self.r, ES, "optout")[-1][1]["j"]["keyword"], "STOP")

        # Full-width and decomposed BAJA on WhatsApp: the same.
        t = ana.say("whatsapp", FW_NFD_BAJA)
        self.assertEqual(len(t.replies), 1, t.replies)
        self.assertIn("optout:whatsapp", ana.conv())
        self.assertEqual(audit(self.r, ES, "optout")[-1][1]["j"]["keyword"], "BAJA")

        # A phrase only the bot knows, in full-width letters: the bot's opt-out intent.
        james = self.debtor(EN, EN_PHONE)
        t = james.say("whatsapp", FW_NO_ME_CONTACTEN)
        self.assertTrue(t.replies)
        self.assertIn("optout:whatsapp", james.conv())
        self.assertEqual(audit(self.r, EN, "optout")[-1][1]["j"]["keyword"], "(bot intent)")


if __name__ == "__main__":
    unittest.main()
