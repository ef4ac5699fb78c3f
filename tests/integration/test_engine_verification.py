"""Acceptance 1 — right-party verification before any disclosure, one thread across channels.

A real router with the conversation engine: an unidentified sender and an identified but
unverified debtor both ask for the balance and never receive the amount (nor does a wrong
code reveal it); after the debtor gives the last 4 digits of their document on WhatsApp the
balance is given there, and the same conversation continues on SMS (the balance again,
without a second verification), one thread in hilo:{d:ID}:hist.
"""

import unittest

from engine_helpers import EngineTestCase, audit
from hilo_harness import debtor_key, history

DEBTOR = "D1001"
PHONE = "+16505551234"
STRANGER = "+16505559876"
AMOUNTS = ("1.250", "1,250", "1250")  # however the balance 1250.00 could be written


class Verification(EngineTestCase):
    def assertNoAmount(self, turn):
        for a in AMOUNTS:
            self.assertNotIn(a, turn.text, "balance disclosed before verification: %r" % turn.replies)

    def test_balance_only_after_verification(self):
        self.start_engine()
        self.import_debtors([{"debtor_id": DEBTOR, "full_name": "Ana María Gómez", "phones": [PHONE],
                              "document_last4": "4321", "balance": "1250.00", "currency": "USD",
                              "language": "es", "country": "US", "timezone": "America/New_York"}])
        self.set_clock_local("America/New_York", 2026, 11, 24, 10, 0)
        ana = self.debtor(DEBTOR, PHONE)

        # An unknown number: public menu only.
        stranger = self.debtor("u:" + STRANGER, STRANGER)
        t = stranger.say("whatsapp", "cuanto debo?")
        self.assertTrue(t.replies, "the bot answers an unidentified sender")
        self.assertNoAmount(t)

        # The debtor, not verified yet: asked for the document, no amount.
        t = ana.say("whatsapp", "hola, cuanto debo?")
        self.assertTrue(t.replies)
        self.assertNoAmount(t)
        self.assertIn("4 dígitos", t.text)
        t = ana.say("whatsapp", "saldo")
        self.assertNoAmount(t)
        t = ana.say("whatsapp", "0000")                      # wrong digits
        self.assertNoAmount(t)
        self.assertEqual(len(audit(self.r, DEBTOR, "verify_failed")), 1)
        self.assertNotIn("verified_ms", ana.conv())

        # Verified on WhatsApp: the balance, on WhatsApp.
        t = ana.say("whatsapp", "4321")
        self.assertIn("1.250,00 USD", t.text, t.replies)
        self.assertTrue(all(o.channel == 1 for o in t.outbounds), "replies go out on WhatsApp")
        self.assertEqual(len(audit(self.r, DEBTOR, "verified")), 1)
        self.assertIn("verified_ms", ana.conv())

        # The same conversation continues on SMS: no second verification.
        t = ana.say("sms", "saldo")
        self.assertIn("1.250,00 USD", t.text, t.replies)
        self.assertTrue(all(o.channel == 2 for o in t.outbounds), "replies go out on SMS")
        self.assertEqual(len(audit(self.r, DEBTOR, "verified")), 1)

        items = [it for _, it in history(self.r, DEBTOR)]
        self.assertEqual({it["ch"] for it in items}, {"whatsapp", "sms"})
        ins = [it["text"] for it in items if it["dir"] == "in"]
        self.assertEqual(ins, ["hola, cuanto debo?", "saldo", "0000", "4321", "saldo"])
        # Nothing with the amount went out before the verification (in the stored thread too).
        first_verified = next(i for i, it in enumerate(items) if it["dir"] == "in" and it["text"] == "4321")
        for it in items[:first_verified]:
            for a in AMOUNTS:
                self.assertNotIn(a, it.get("text", ""))
        # The unidentified contact was never merged into the debtor's thread.
        self.assertFalse(any(it.get("from") == STRANGER for it in items))
        self.assertTrue(self.r.exists(debtor_key("u:" + STRANGER, "hist")))


if __name__ == "__main__":
    unittest.main()
