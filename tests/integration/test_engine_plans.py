"""Payment plans are settled like promises, one instalment at a time (docs/promises.md).

A debtor accepts a plan of 3 monthly payments from the bot (real router with the conversation
engine and the test clock). The ledger then holds the plan and its 3 instalments: the first
due `plan_first_due_days` (7) after the day it was accepted, the next ones a month apart, the
last one what is left of the total. Payments imported with the real `hilo import-payments`
keep instalments; the sweeper breaks an unpaid one once its day is over, and the plan with it;
a late bank file turns it back; the last payment keeps the plan.
"""

import json
import time
import unittest

from engine_helpers import EngineTestCase, audit, local_ms, promises
from hilo_harness import debtor_key, run_cli, wait_until

DEBTOR, PHONE = "D1040", "+16505550140"
TZ = "America/Chicago"


class Plans(EngineTestCase):
    def pay(self, amount, paid_at, ref):
        out = self.import_payments([{"debtor_id": DEBTOR, "amount": amount, "currency": "USD",
                                     "paid_at": paid_at, "reference": ref}])
        self.assertIn("applied 1,", out.stdout, out.stdout + out.stderr)
        return out

    def ledger(self):
        led = promises(self.r, DEBTOR)
        (plan_id, plan), = [(k, v) for k, v in led.items() if v["kind"] == "plan"]
        return plan_id, plan, led

    def test_plan_instalments_kept_broken_and_kept_again(self):
        self.start_engine()
        self.import_debtors([{"debtor_id": DEBTOR, "full_name": "Grace Okafor", "phones": [PHONE],
                              "document_last4": "5150", "balance": "1000.00", "currency": "USD",
                              "language": "en", "country": "US", "timezone": TZ}])
        self.set_clock_local(TZ, 2026, 11, 24, 10, 0)
        grace = self.debtor(DEBTOR, PHONE)

        grace.say("sms", "I want a payment plan")
        t = grace.say("sms", "5150")
        self.assertIn("3 monthly payments of", t.text)
        options = t.text
        option = next(line.split(".")[0] for line in options.splitlines() if "3 monthly payments" in line)
        t = grace.say("sms", option)
        self.assertIn("You chose 3 payment(s)", t.text)
        t = grace.say("sms", "1")
        self.assertIn("your plan of 3 payment(s)", t.text)

        plan_id, plan, led = self.ledger()
        self.assertEqual((plan["instalments"], plan["total_cents"], plan["state"], plan["first_due"]),
                         (3, 100000, "pending", "2026-12-01"))
        inst = [led[i] for i in plan["instalment_ids"]]
        self.assertEqual([(p["kind"], p["plan"], p["instalment"], p["of"], p["state"]) for p in inst],
                         [("promise", plan_id, k, 3, "pending") for k in (1, 2, 3)])
        self.assertEqual([p["due"] for p in inst], ["2026-12-01", "2027-01-01", "2027-02-01"])
        self.assertEqual([p["amount_cents"] for p in inst], [33334, 33334, 33332])  # the last one: what is left
        self.assertEqual(inst[1]["due_ms"], local_ms(TZ, 2027, 1, 1, 23, 59, 59) + 999)
        self.assertEqual(sorted(self.r.zrange("hilo:promises:due", 0, -1)),
                         sorted("%s|%s" % (DEBTOR, i) for i in plan["instalment_ids"]), "the plan itself is not due")
        self.assertEqual(len(audit(self.r, DEBTOR, "plan")), 1)

        # The first payment, on time: instalment 1 kept, the plan still pending.
        out = self.pay("333.34", "2026-11-30", "ACH-1")
        self.assertIn("promises kept 1", out.stdout)
        plan_id, plan, led = self.ledger()
        self.assertEqual([led[i]["state"] for i in plan["instalment_ids"]], ["kept", "pending", "pending"])
        self.assertEqual((plan["state"], plan["kept_instalments"]), ("pending", 1))

        # January's is not paid: broken once Jan 1 is over in Chicago, and the plan with it.
        self.set_clock(local_ms(TZ, 2027, 1, 2, 0, 0, 1))
        wait_until(lambda: self.ledger()[1]["state"] == "broken", 10, "the sweeper to break the plan")
        plan_id, plan, led = self.ledger()
        self.assertEqual([led[i]["state"] for i in plan["instalment_ids"]], ["kept", "broken", "pending"])
        self.assertEqual(self.r.hget(debtor_key(DEBTOR, "conv"), "broken_promises"), "1")
        self.assertEqual([f["j"]["was"] for _, f in audit(self.r, DEBTOR, "plan_broken")], ["pending"])

        # The bank's file arrives late: paid on Jan 1, so kept after all; the plan is pending again.
        out = self.pay("333.34", "2027-01-01T16:00:00-06:00", "ACH-2")
        self.assertIn("promises kept 1", out.stdout)
        plan_id, plan, led = self.ledger()
        self.assertEqual((plan["state"], plan["kept_instalments"], plan["broken_instalments"]), ("pending", 2, 0))
        self.assertEqual(self.r.hget(debtor_key(DEBTOR, "conv"), "broken_promises"), "0")

        # The last one (what is left of the total) keeps the plan.
        out = self.pay("333.32", "2027-01-20", "ACH-3")
        self.assertIn("promises kept 1", out.stdout)
        plan_id, plan, led = self.ledger()
        self.assertEqual(plan["state"], "kept")
        self.assertEqual([led[i]["state"] for i in plan["instalment_ids"]], ["kept"] * 3)
        self.assertEqual([f["ev"] for _, f in audit(self.r, DEBTOR) if f["ev"].startswith("plan")],
                         ["plan", "plan_broken", "plan_pending", "plan_kept"])
        self.assertEqual(self.r.zcard("hilo:promises:due"), 0)
        time.sleep(0.3)  # sweeps after the plan was kept change nothing
        self.assertEqual(self.ledger()[1]["state"], "kept")

        # `hilo promises`: the plan, then its instalments in order, found by phone as by id.
        out = run_cli(self.router_.conf_path, "promises", PHONE).stdout.splitlines()
        self.assertEqual([l.split()[:2] for l in out],
                         [[plan_id, "plan"], [".1", "instalment"], [".2", "instalment"], [".3", "instalment"]], out)
        self.assertIn("3 x 333.34 USD = 1000.00 USD  kept (3 of 3 kept)", out[0])
        self.assertIn("333.34 USD  due 2027-01-01  kept (ACH-2)", out[2])
        self.assertIn("333.32 USD  due 2027-02-01  kept (ACH-3)", out[3])
        lines = run_cli(self.router_.conf_path, "promises", "--json", DEBTOR).stdout.splitlines()
        self.assertEqual([json.loads(l)["id"] for l in lines], [plan_id] + plan["instalment_ids"])
        bad = run_cli(self.router_.conf_path, "promises", "D-nobody", check=False)
        self.assertEqual(bad.returncode, 1, bad.stdout + bad.stderr)


if __name__ == "__main__":
    unittest.main()
