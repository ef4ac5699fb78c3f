"""Console acceptance 2 and 5 in Debian's Chromium (tests/browser/console.spec.js, playwright-core):
a supervisor watches the floor; an agent logs in, accepts an escalated WhatsApp conversation, sees
the earlier SMS in the same thread, replies, and the reply is recorded by the provider sandbox on
the debtor's WhatsApp; the supervisor's queue count rises and falls; the router restarts under
both consoles, which reconnect and show the current state; a promise-to-pay wrap-up closes it.
Real processes: redis-server, hilo-router, hilo-whatsapp, hilo-sms and the sandbox.
Screenshots: tests/artifacts/browser/."""

import json
import os
import unittest

from hilo_harness import HiloTestCase, cli_path, debtor_key, history, seed_debtor, wait_until
from hilo_browser import CHROMIUM, NODE, console_stack, playwright_ready, run_spec
from hilo_console import PASSWORD, add_agent, escalate

DEBTOR, PHONE = "DB1", "+16505551234"
REPLY = "Hello from your account specialist: we can set up a plan."


@unittest.skipUnless(cli_path() and NODE and os.access(CHROMIUM, os.X_OK), "needs the CLI, node and /usr/bin/chromium")
class ConsoleBrowser(HiloTestCase):
    def test_agent_and_supervisor_in_chromium(self):
        if not playwright_ready():
            self.skipTest("playwright-core is not installed (tests/browser/install.sh)")
        stack = console_stack(self)
        router, r, origin = stack.router, stack.r, stack.origin
        seed_debtor(r, DEBTOR, [PHONE], full_name="Dana Browser", balance="1250.00")
        # A payment plan in the ledger as the engine writes it (promise_ledger.c), its first
        # instalment kept: the debtor panel lists the plan, then its instalments in order.
        plan = {"kind": "plan", "amount_cents": 62500, "currency": "USD", "instalments": 2,
                "total_cents": 125000, "state": "pending", "kept_instalments": 1,
                "instalment_ids": ["p1-aa.1", "p1-aa.2"]}
        inst = [{"kind": "promise", "plan": "p1-aa", "instalment": k, "of": 2, "amount_cents": 62500,
                 "currency": "USD", "due": due, "state": st}
                for k, due, st in ((1, "2026-12-01", "kept"), (2, "2027-01-01", "pending"))]
        r.hset(debtor_key(DEBTOR, "promises"), mapping={"p1-aa.2": json.dumps(inst[1]), "p1-aa": json.dumps(plan),
                                                        "p1-aa.1": json.dumps(inst[0])})
        add_agent(router.conf_path, "ana", name="Ana Agent", skills="en.collections")
        add_agent(router.conf_path, "sue", name="Sue Supervisor", role="supervisor", skills="")

        def debtor_says(channel, text):
            stack.debtor_says(DEBTOR, PHONE, channel, text)
        debtor_says("sms", "Hi, I got your letter about my account")
        debtor_says("whatsapp", "I would like to talk to a person please")

        env = dict(HILO_URL=origin + "/console/", HILO_AGENT="ana", HILO_SUPERVISOR="sue",
                   HILO_PASSWORD=PASSWORD, HILO_DEBTOR=DEBTOR, HILO_REPLY=REPLY)

        def on_step(step):
            if step == "escalate":
                escalate(r, DEBTOR, channel="whatsapp", reason="requested_agent", addr=PHONE)
            elif step == "replied":
                def recorded():
                    calls = stack.provider_calls("whatsapp")
                    return any(REPLY in json.dumps(c.get("body")) and c.get("response", {}).get("status") == 200
                               for c in calls)
                wait_until(recorded, 20, "the reply recorded by the sandbox's Graph API")
                hist = [i for _, i in history(r, DEBTOR) if i.get("dir") == "out"]
                self.assertEqual(hist[-1]["by"], "agent:ana")
                self.assertEqual(hist[-1]["ch"], "whatsapp")
            elif step == "restart":
                router.restart()
            elif step == "after-restart":
                debtor_says("whatsapp", "Are you still there after the restart?")
        run_spec(self, "console.spec.js", env, on_step)
        conv = r.hgetall("hilo:{d:%s}:conv" % DEBTOR)
        self.assertEqual(conv["state"], "closed")
        self.assertIn("promise_to_pay", conv["disposition"])
        self.assertTrue(stack.alive(), "a helper process died")


if __name__ == "__main__":
    unittest.main()
