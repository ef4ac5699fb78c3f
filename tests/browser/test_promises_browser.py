"""Changing a promise from the debtor panel in Debian's Chromium (tests/browser/promises.spec.js,
router/console/promises.js): the assigned agent raises a promise past the balance and reads the
router's refusal next to it, changes its amount and due day, then cancels it with a reason, and
records a payment plan for the whole balance; the ledger in Redis says so. Real processes: redis-server, hilo-router, the connectors and the
provider sandbox. Screenshots: tests/artifacts/browser/promises-*.png.
Due days follow the stack's test clock (2026-11-24, console_stack): the router checks them on it."""

import json
import os
import unittest

from hilo_browser import CHROMIUM, NODE, console_stack, playwright_ready, run_spec
from hilo_console import PASSWORD, add_agent, escalate
from hilo_harness import HiloTestCase, cli_path, debtor_key, seed_debtor

DEBTOR, PHONE, PID = "PB1", "+573001234567", "p1700000000000-seed"


@unittest.skipUnless(cli_path() and NODE and os.access(CHROMIUM, os.X_OK), "needs the CLI, node and /usr/bin/chromium")
class PromisesBrowser(HiloTestCase):
    def test_change_and_cancel_a_promise(self):
        if not playwright_ready():
            self.skipTest("playwright-core is not installed (tests/browser/install.sh)")
        stack = console_stack(self)
        router, r = stack.router, stack.r
        seed_debtor(r, DEBTOR, [PHONE], full_name="Pedro Promesa", balance="1000.00", currency="COP",
                    country="CO", timezone="America/Bogota", language="es")
        # A pending promise in the ledger, as a wrap-up writes it (agent_ops.lua).
        r.hset(debtor_key(DEBTOR, "promises"), PID, json.dumps(
            {"kind": "promise", "amount_cents": 30000, "currency": "COP", "due": "2026-12-10",
             "due_ms": 1796965200000 - 1, "channel": "sms", "created_ms": 1, "state": "pending", "by": "agent:ana"}))
        r.zadd("hilo:promises:due", {DEBTOR + "|" + PID: 1796965200000 - 1})
        add_agent(router.conf_path, "ana", name="Ana Agent", skills="es.collections")
        env = dict(HILO_URL=stack.origin + "/console/", HILO_AGENT="ana", HILO_PASSWORD=PASSWORD,
                   HILO_DEBTOR=DEBTOR, HILO_PROMISE=PID)

        def on_step(step):
            if step == "offer":
                escalate(r, DEBTOR, skill="es.collections", channel="sms", addr=PHONE)
        run_spec(self, "promises.spec.js", env, on_step)
        p = json.loads(r.hget(debtor_key(DEBTOR, "promises"), PID))
        self.assertEqual((p["state"], p["amount_cents"], p["due"], p["cancel_reason"], p["cancelled_by"]),
                         ("cancelled", 40000, "2027-02-01", "paid by transfer", "ana"))
        self.assertIsNone(r.zscore("hilo:promises:due", DEBTOR + "|" + PID))
        plans = [json.loads(v) for v in r.hvals(debtor_key(DEBTOR, "promises")) if json.loads(v)["kind"] == "plan"]
        self.assertEqual([(p["total_cents"], p["instalments"], p["first_due"]) for p in plans],
                         [(100000, 2, "2027-03-15")])


if __name__ == "__main__":
    unittest.main()
