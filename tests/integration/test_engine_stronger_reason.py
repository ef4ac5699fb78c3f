"""Money-aware portfolio rules and the stronger escalation reason, on a real router with the
shipped flow (deploy/flows/collections.flow, docs/bot-flow.md "Portfolio rules" and "The
stronger reason").

- The high_balance rule compares a balance with its own currency's threshold: a Colombian debtor
  owing 3,450,000.00 COP who says "hola" is served by the bot (verification), while a US debtor
  owing 5,120.00 USD is handed to a person (portfolio_rule / high_balance, priority 80).
- A legal threat after that escalation, while the conversation waits in the queue, becomes its
  reason and priority (legal_threat, 90) and moves it to the legal queue, keeping the time it
  has waited; a weaker complaint afterwards does not take that away (audit escalation_kept).
- The same in one message: a high-balance debtor whose first words are a legal threat is
  escalated as a legal threat.
- An assigned conversation stays with its agent; a complaint raised there becomes its reason
  and the consoles are told (hilo:console:events).
"""

import unittest

from engine_helpers import EngineTestCase, audit
from hilo_harness import wait_until

CO, CO_PHONE = "D1003", "+573005550178"     # 3,450,000.00 COP
MX, MX_PHONE = "D1017", "+525555504481"     # 22,100.00 MXN
US, US_PHONE = "D1018", "+16505550693"      # 5,120.00 USD
US2, US2_PHONE = "D1011", "+16505550311"    # 9,000.00 USD
US3, US3_PHONE = "D1002", "+16505550142"    # 640.50 USD


class StrongerReason(EngineTestCase):
    def setUp(self):
        super().setUp()
        self.start_engine()
        self.import_debtors([
            {"debtor_id": CO, "full_name": "Carlos Andrés Restrepo", "phones": [CO_PHONE], "balance": "3450000.00",
             "currency": "COP", "days_past_due": "60", "timezone": "America/Bogota", "language": "es",
             "country": "CO"},
            {"debtor_id": MX, "full_name": "Fernanda Aguilar", "phones": [MX_PHONE], "balance": "22100.00",
             "currency": "MXN", "days_past_due": "110", "timezone": "America/Mexico_City", "language": "es",
             "country": "MX"},
            {"debtor_id": US, "full_name": "David Thompson", "phones": [US_PHONE], "balance": "5120.00",
             "currency": "USD", "days_past_due": "95", "language": "en"},
            {"debtor_id": US2, "full_name": "Emily Carter", "phones": [US2_PHONE], "balance": "9000.00",
             "currency": "USD", "days_past_due": "75", "language": "es"},
            {"debtor_id": US3, "full_name": "James Whitfield", "phones": [US3_PHONE], "balance": "640.50",
             "currency": "USD", "days_past_due": "32", "language": "en"},
        ])
        self.set_clock_local("America/New_York", 2026, 11, 24, 11, 0)

    def conv(self, debtor_id):
        return self.r.hgetall("hilo:{d:%s}:conv" % debtor_id)

    def wait_conv(self, debtor_id, what, **fields):
        return wait_until(lambda: all(self.conv(debtor_id).get(k) == v for k, v in fields.items()), 10,
                          lambda: "%s: %s, conv %s" % (what, fields, self.conv(debtor_id)))

    def test_thresholds_follow_the_currency(self):
        for debtor_id, phone in ((CO, CO_PHONE), (MX, MX_PHONE)):
            t = self.debtor(debtor_id, phone).say("whatsapp", "hola")
            conv = self.conv(debtor_id)
            self.assertNotEqual(conv.get("state"), "queued", conv)
            self.assertNotIn("esc_reason", conv)
            self.assertEqual(conv.get("step"), "verify", conv)
            self.assertEqual(audit(self.r, debtor_id, "escalated"), [])
            self.assertTrue(any("4" in x for x in t.replies), t.replies)  # the bot asks for the 4 digits
        self.debtor(US, US_PHONE).say("sms", "hello")
        conv = self.conv(US)
        self.assertEqual(conv.get("state"), "queued", conv)
        self.assertEqual((conv["esc_reason"], conv["esc_detail"], conv["esc_priority"]),
                         ("portfolio_rule", "high_balance", "80"))
        self.assertIsNotNone(self.r.zscore("hilo:queue:en.high_balance", US))

    def test_a_legal_threat_after_a_rule_keeps_its_reason(self):
        david = self.debtor(US, US_PHONE)
        david.say("sms", "hello")
        first = self.conv(US)
        self.assertEqual(first["esc_reason"], "portfolio_rule")
        esc_ms = int(first["esc_ms"])
        # Waiting in the queue, the debtor threatens to sue.
        david.say("sms", "If nobody calls me today I will sue you")
        conv = self.wait_conv(US, "the legal threat is the reason", esc_reason="legal_threat")
        conv = self.conv(US)
        self.assertEqual((conv["state"], conv["esc_detail"], conv["esc_topic"], conv["esc_priority"]),
                         ("queued", "legal", "legal", "90"), conv)
        self.assertEqual((conv["esc_skill"], conv["queue"]), ("en.legal", "en.legal"), conv)
        self.assertIsNone(self.r.zscore("hilo:queue:en.high_balance", US))
        # The time it has waited counts: scored from the first escalation, with the new priority.
        self.assertEqual(self.r.zscore("hilo:queue:en.legal", US), esc_ms - 90 * 60000)
        self.assertIn("en.legal", self.r.smembers("hilo:queues"))
        esc = [f["j"] for _, f in audit(self.r, US, "escalated")]
        self.assertEqual([(e["reason"], e["priority"]) for e in esc], [("portfolio_rule", 80), ("legal_threat", 90)])
        self.assertEqual(esc[1]["previous"], "portfolio_rule")
        # A weaker reason afterwards (complaint, 85) is recorded, and does not replace it.
        david.say("sms", "I want to file a complaint")
        wait_until(lambda: audit(self.r, US, "escalation_kept"), 10, "the complaint recorded")
        kept = audit(self.r, US, "escalation_kept")[0][1]["j"]
        self.assertEqual((kept["reason"], kept["previous"]), ("complaint", "legal_threat"))
        conv = self.conv(US)
        self.assertEqual((conv["esc_reason"], conv["esc_priority"], conv["queue"]), ("legal_threat", "90", "en.legal"))

    def test_a_legal_threat_in_the_first_message(self):
        self.debtor(US2, US2_PHONE).say("whatsapp", "hola, los voy a demandar")
        conv = self.conv(US2)
        self.assertEqual((conv["state"], conv["esc_reason"], conv["esc_priority"], conv["esc_skill"]),
                         ("queued", "legal_threat", "90", "es.legal"), conv)
        self.assertIsNotNone(self.r.zscore("hilo:queue:es.legal", US2))
        self.assertIsNone(self.r.zscore("hilo:queue:es.high_balance", US2))

    def test_an_assigned_conversation_stays_with_its_agent(self):
        james = self.debtor(US3, US3_PHONE)
        james.say("sms", "I want to talk to a person")
        self.assertEqual(self.conv(US3)["esc_reason"], "requested_agent")
        # An agent holds it (as console accept leaves it: assigned, out of the queue).
        ck = "hilo:{d:%s}:conv" % US3
        self.r.zrem("hilo:queue:en.collections", US3)
        self.r.hset(ck, mapping={"state": "assigned", "agent": "ana"})
        self.r.hincrby(ck, "rev", 1)
        events_before = self.r.xlen("hilo:console:events") if self.r.exists("hilo:console:events") else 0
        james.say("sms", "you people harass me, I want to complain to a manager")
        self.wait_conv(US3, "the complaint is the reason", esc_reason="complaint")
        conv = self.conv(US3)
        self.assertEqual((conv["state"], conv["agent"], conv["esc_priority"]), ("assigned", "ana", "85"), conv)
        self.assertEqual(conv["queue"], "en.collections")   # not moved: the agent keeps it
        self.assertIsNone(self.r.zscore("hilo:queue:en.complaints", US3))
        events = self.r.xrange("hilo:console:events")
        self.assertGreater(len(events), events_before)
        self.assertIn({"k": "escalation", "a": "ana", "d": US3}, [f for _, f in events])


if __name__ == "__main__":
    unittest.main()
