"""The payment allocation rules of docs/promises.md, with the real `hilo import-payments`, the real
payment_apply.lua / promise_break.lua and a real redis-server.

The promises are written into the ledger the way the engine writes them (promise_ledger.c +
engine_apply.lua: the promise JSON and the hilo:promises:due member), so each
rule gets its own small case: oldest due first, one payment across promises and several
payments for one, other currencies, payments after the due time or before the promise, a
reused reference with other values, and promise_break.lua run twice (two sweepers).
"""

import json
import os
import unittest

from engine_helpers import EngineTestCase, audit, local_ms, promises
from hilo_harness import SOURCE_DIR, debtor_key

D = "D1020"
TZ = "America/New_York"


def utc_ms(y, m, d, h=0, mi=0):
    return local_ms("UTC", y, m, d, h, mi)


class Payments(EngineTestCase):
    def promise(self, pid, amount_cents, due, created_ms, currency="USD", state="pending"):
        y, m, d = map(int, due.split("-"))
        due_ms = local_ms(TZ, y, m, d, 23, 59, 59) + 999
        p = {"kind": "promise", "amount_cents": amount_cents, "currency": currency, "due": due,
             "due_ms": due_ms, "channel": "sms", "created_ms": created_ms, "state": state}
        self.r.hset(debtor_key(D, "promises"), pid, json.dumps(p))
        self.r.zadd("hilo:promises:due", {"%s|%s" % (D, pid): due_ms})

    def pay(self, amount, paid_at, ref, currency="USD", debtor=D):
        return self.import_payments([{"debtor_id": debtor, "amount": amount, "currency": currency,
                                      "paid_at": paid_at, "reference": ref}])

    def state(self, pid):
        return promises(self.r, D)[pid]["state"]

    def test_allocation(self):
        self.start_engine(channels=(), promise_sweep_ms=3600000)   # no sweeps during this test
        self.import_debtors([{"debtor_id": D, "full_name": "Robert Nguyen", "phones": ["+16505550774"]}])
        made = utc_ms(2026, 11, 20, 15)
        self.promise("pA", 10000, "2026-11-28", made)
        self.promise("pB", 10000, "2026-11-30", made)
        self.promise("pC", 5000, "2026-11-21", made)
        self.promise("pD", 2000, "2026-12-05", utc_ms(2026, 11, 26, 12))

        # 150 keeps the oldest due promise it can (pC: due before the payment -> not pC; pA);
        # pD was made the day after.
        out = self.pay("150.00", "2026-11-25", "P1")
        self.assertIn("applied 1, duplicates 0, rejected 0; promises kept 1", out.stdout, out.stderr)
        self.assertEqual([self.state(p) for p in ("pA", "pB", "pC", "pD")],
                         ["kept", "pending", "pending", "pending"])
        # 60 more: pB is covered by P1's remaining 50 and 50 of P2 (older payment first).
        out = self.pay("60", "2026-11-26T09:30:00-05:00", "P2")
        self.assertIn("promises kept 1", out.stdout)
        self.assertEqual(promises(self.r, D)["pB"]["payments"], ["P1", "P2"])
        pays = {k: json.loads(v) for k, v in self.r.hgetall(debtor_key(D, "payments")).items()}
        self.assertEqual((pays["P1"]["unapplied_cents"], pays["P2"]["unapplied_cents"]), (0, 1000))
        # P2's remaining 10 counts for pD (paid after it was made) but does not cover it; a
        # payment before pD was made does not count; another currency does not count; a
        # payment after pC's due date does not keep pC.
        out = self.pay("10", "2026-11-24T10:00:00Z", "P3")
        self.assertIn("promises kept 0", out.stdout)
        out = self.pay("100", "2026-11-27", "P4", currency="COP")
        self.assertIn("promises kept 0", out.stdout)
        out = self.pay("50", "2026-11-23", "P5")
        self.assertIn("promises kept 0", out.stdout)
        self.assertEqual(self.state("pC"), "pending", "paid after its due day")
        # ... but a date alone on the day the promise was made counts (time of day unknown).
        out = self.pay("10", "2026-11-26", "P6")
        self.assertIn("promises kept 1", out.stdout)
        self.assertEqual(self.state("pD"), "kept")
        self.assertEqual(sorted(promises(self.r, D)["pD"]["payments"]), ["P2", "P6"])
        self.assertEqual(self.r.zrange("hilo:promises:due", 0, -1), ["%s|pC" % D])
        # A reference seen before with other values is refused, not overwritten.
        out = self.import_payments([{"debtor_id": D, "amount": "999", "currency": "USD",
                                     "paid_at": "2026-11-25", "reference": "P1"}])
        self.assertIn("applied 0, duplicates 0, rejected 1", out.stdout)
        self.assertIn("reference already imported", out.stderr)
        self.assertEqual(json.loads(self.r.hget(debtor_key(D, "payments"), "P1"))["amount_cents"], 15000)
        kept = [f["j"]["id"] for _, f in audit(self.r, D, "promise_kept")]
        self.assertEqual(kept, ["pA", "pB", "pD"])
        self.assertEqual(len(audit(self.r, D, "payment")), 6)

        # promise_break.lua, run by two sweepers for the same member: broken once.
        with open(os.path.join(SOURCE_DIR, "router", "lua", "promise_break.lua")) as f:
            script = self.r.register_script(f.read())
        now = utc_ms(2026, 11, 23)
        keys = [debtor_key(D, "promises"), debtor_key(D, "conv"), debtor_key(D, "audit")]  # one slot
        args = ["pC", now]
        self.assertEqual(script(keys=keys, args=args), 1)
        self.assertEqual(script(keys=keys, args=args), 0)
        self.assertEqual(self.state("pC"), "broken")
        self.assertEqual(self.r.hget(debtor_key(D, "conv"), "broken_promises"), "1")
        self.assertEqual(len(audit(self.r, D, "promise_broken")), 1)
        # A kept promise is never broken, even if its member is still indexed (a crash between
        # payment_apply.lua and the import's ZREM): the sweeper then only removes the member.
        self.assertEqual(script(keys=keys, args=["pA", now]), 0)
        self.assertEqual(self.state("pA"), "kept")


if __name__ == "__main__":
    unittest.main()
