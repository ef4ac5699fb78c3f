"""Acceptance 2 — the promise ledger: a promise to pay started on WhatsApp and confirmed on SMS is
one ledger entry; a payment import settles it; an unpaid one past its date becomes broken.

A real router with the conversation engine and the test clock; payments go in with the real
`hilo import-payments`; the promise sweeper ([engine] promise_sweep_ms) of two routers breaks the
overdue promise exactly once. Also: a re-import changes nothing, bad rows are reported as
FILE:LINE and skipped, and a payment file that arrives after the due date (paid on time) turns the
broken promise into a kept one (docs/promises.md).
"""

import re
import time
import unittest

from engine_helpers import EngineTestCase, audit, local_ms, promises
from hilo_harness import debtor_key, wait_until

DEBTOR, PHONE = "D1001", "+16505551234"
TZ = "America/New_York"


class Promises(EngineTestCase):
    def test_promise_lifecycle(self):
        self.start_engine()
        self.import_debtors([{"debtor_id": DEBTOR, "full_name": "Ana María Gómez", "phones": [PHONE],
                              "document_last4": "4321", "balance": "1250.00", "currency": "USD",
                              "language": "es", "country": "US", "timezone": TZ}])
        self.set_clock_local(TZ, 2026, 11, 24, 10, 0)
        ana = self.debtor(DEBTOR, PHONE)

        # Started on WhatsApp...
        ana.say("whatsapp", "quiero pagar")
        t = ana.say("whatsapp", "4321")
        self.assertIn("¿Cuánto puede pagar", t.text)
        t = ana.say("whatsapp", "200 el 30/11")
        self.assertIn("Confirme su promesa de pago: 200,00 USD el 30 de noviembre de 2026", t.text)
        self.assertEqual(promises(self.r, DEBTOR), {}, "nothing recorded before the confirmation")
        # ... confirmed on SMS.
        t = ana.say("sms", "1")
        self.assertIn("registramos su promesa de pago de 200,00 USD", t.text)
        ledger = promises(self.r, DEBTOR)
        self.assertEqual(len(ledger), 1, ledger)
        (pid, p), = ledger.items()
        self.assertEqual((p["kind"], p["amount_cents"], p["currency"], p["due"], p["state"]),
                         ("promise", 20000, "USD", "2026-11-30", "pending"))
        due_ms = local_ms(TZ, 2026, 11, 30, 23, 59, 59) + 999      # the due day ends where she lives
        self.assertEqual(p["due_ms"], due_ms)
        self.assertEqual(self.r.zscore("hilo:promises:due", "%s|%s" % (DEBTOR, pid)), due_ms)
        self.assertEqual(len(audit(self.r, DEBTOR, "promise")), 1)

        # A payment import settles it.
        out = self.import_payments([
            {"debtor_id": DEBTOR, "amount": "200.00", "currency": "USD", "paid_at": "2026-11-29",
             "reference": "BANK-0001"},
            {"debtor_id": "D9999", "amount": "10", "currency": "USD", "paid_at": "2026-11-29",
             "reference": "BANK-0002"},
            {"debtor_id": DEBTOR, "amount": "-5", "currency": "USD", "paid_at": "2026-11-29",
             "reference": "BANK-0003"},
            {"debtor_id": DEBTOR, "amount": "5", "currency": "USD", "paid_at": "29/11/2026",
             "reference": "BANK-0004"},
            {"debtor_id": DEBTOR, "amount": "5", "currency": "USD", "paid_at": "2026-11-29T10:00:00",
             "reference": "BANK-0005"},
        ])
        self.assertIn("applied 1, duplicates 0, rejected 4; promises kept 1", out.stdout, out.stdout + out.stderr)
        self.assertIn("%s: promise %s kept" % (DEBTOR, pid), out.stdout)
        errs = out.stderr.strip().splitlines()
        self.assertEqual([int(re.match(r"^%s:(\d+): " % re.escape(out.path), e).group(1)) for e in errs],
                         [3, 4, 5, 6], out.stderr)
        self.assertIn("unknown debtor D9999", errs[0])
        self.assertIn("amount", errs[1])
        self.assertIn("paid_at", errs[2])
        self.assertIn("Z or a UTC offset", errs[3])
        p = promises(self.r, DEBTOR)[pid]
        self.assertEqual(p["state"], "kept")
        self.assertEqual(p["payments"], ["BANK-0001"])
        self.assertIsNone(self.r.zscore("hilo:promises:due", "%s|%s" % (DEBTOR, pid)))
        kept = [f["j"] for _, f in audit(self.r, DEBTOR, "promise_kept")]
        self.assertEqual([(k["id"], k["was"]) for k in kept], [(pid, "pending")])
        # Re-importing the same payment changes nothing.
        out = self.import_payments([{"debtor_id": DEBTOR, "amount": "200.00", "currency": "USD",
                                     "paid_at": "2026-11-29", "reference": "BANK-0001"}])
        self.assertIn("applied 0, duplicates 1, rejected 0; promises kept 0", out.stdout)
        self.assertEqual(len(audit(self.r, DEBTOR, "promise_kept")), 1)

        # A second promise, never paid: broken once its day is over, by one of two sweepers.
        self.router(self.redis_, name="router-2", overrides=self.engine_overrides())
        t = ana.say("sms", "1")                                   # "more" menu: 1 = promise
        t = ana.say("sms", "150 el 2/12")
        t = ana.say("sms", "1")
        self.assertIn("registramos su promesa de pago de 150,00 USD", t.text)
        pid2 = next(k for k, v in promises(self.r, DEBTOR).items() if v["state"] == "pending")
        self.set_clock(local_ms(TZ, 2026, 12, 2, 23, 59, 0))    # still the due day: nothing happens
        time.sleep(0.5)
        self.assertEqual(promises(self.r, DEBTOR)[pid2]["state"], "pending")
        self.set_clock(local_ms(TZ, 2026, 12, 3, 0, 0, 1))
        wait_until(lambda: promises(self.r, DEBTOR)[pid2]["state"] == "broken", 10,
                   "the sweeper to break the overdue promise")
        time.sleep(0.5)                                           # both sweepers had their turns
        self.assertEqual(self.r.hget(debtor_key(DEBTOR, "conv"), "broken_promises"), "1")
        broken = [f["j"] for _, f in audit(self.r, DEBTOR, "promise_broken")]
        self.assertEqual([b["id"] for b in broken], [pid2], "broken exactly once")
        self.assertEqual(self.r.zcard("hilo:promises:due"), 0)
        self.assertEqual(promises(self.r, DEBTOR)[pid]["state"], "kept", "the kept one stays kept")

        # The bank's file arrives a day late: paid on the due date, so kept after all.
        out = self.import_payments([{"debtor_id": DEBTOR, "amount": "150", "currency": "USD",
                                     "paid_at": "2026-12-02T18:30:00-05:00", "reference": "BANK-0006"}])
        self.assertIn("applied 1, duplicates 0, rejected 0; promises kept 1", out.stdout, out.stderr)
        self.assertEqual(promises(self.r, DEBTOR)[pid2]["state"], "kept")
        self.assertEqual(self.r.hget(debtor_key(DEBTOR, "conv"), "broken_promises"), "0")
        kept = [f["j"] for _, f in audit(self.r, DEBTOR, "promise_kept")]
        self.assertEqual((kept[-1]["id"], kept[-1]["was"]), (pid2, "broken"))


if __name__ == "__main__":
    unittest.main()
