"""Drafts stay with their conversation, in Debian's Chromium (tests/browser/console_drafts.spec.js).

One agent holds three WhatsApp conversations. The script types a greeting, a note and a
promise-to-pay wrap-up in Carlos's conversation and checks that Ana's and James's fields are
empty; sends from Ana's; comes back to Carlos and sends his greeting; has a supervisor take
James's conversation away while a wrap-up is typed in it; closes Ana's with Ana's promise. This
side checks, through the provider sandbox's record and the threads in Redis, that each text
reached its own debtor's phone and nobody else's, and that each wrap-up landed on its own
conversation. Real processes: redis-server, hilo-router, hilo-whatsapp, hilo-sms and the sandbox.
Screenshots: tests/artifacts/browser/drafts-*.png."""

import json
import os
import unittest

from hilo_harness import HiloTestCase, cli_path, history, seed_debtor, wait_until
from hilo_browser import CHROMIUM, NODE, console_stack, playwright_ready, run_spec
from hilo_console import PASSWORD, add_agent, escalate

CARLOS, ANA, JAMES = "DC1", "DA1", "DJ1"
PHONES = {CARLOS: "+16505550178", ANA: "+16505551234", JAMES: "+16505550142"}
NAMES = {CARLOS: "Carlos Restrepo", ANA: "Ana Gómez", JAMES: "James Whitfield"}
TEXTS = {CARLOS: "Hola Carlos, le escribe su asesora sobre su cuenta de 3.450.000 COP.",
         ANA: "Hi Ana, this is your account specialist: a plan of 3 payments is possible.",
         JAMES: "James, about the promise we discussed"}


@unittest.skipUnless(cli_path() and NODE and os.access(CHROMIUM, os.X_OK), "needs the CLI, node and /usr/bin/chromium")
class ConsoleDrafts(HiloTestCase):
    def test_drafts_stay_with_their_conversation(self):
        if not playwright_ready():
            self.skipTest("playwright-core is not installed (tests/browser/install.sh)")
        stack = console_stack(self)
        r = stack.r
        for d in (CARLOS, ANA, JAMES):
            seed_debtor(r, d, [PHONES[d]], full_name=NAMES[d], balance="1250.00")
            # The debtor writes first: WhatsApp's 24-hour window is open for the agent's reply.
            stack.debtor_says(d, PHONES[d], "whatsapp", "I would like to talk to a person please")
            escalate(r, d, channel="whatsapp", reason="requested_agent", addr=PHONES[d])
        add_agent(stack.router.conf_path, "pat", name="Pat Agent", skills="en.collections")
        add_agent(stack.router.conf_path, "sue", name="Sue Supervisor", role="supervisor", skills="")
        # James's conversation is moved to en.legal: a queue someone serves (one nobody serves is refused).
        add_agent(stack.router.conf_path, "leo", name="Leo Legal", skills="en.legal")

        def agent_texts(d):
            return [i["text"] for _, i in history(r, d) if i.get("dir") == "out" and i.get("by") == "agent:pat"]

        def sent_to(d):
            """The texts the WhatsApp connector handed the provider for d's number."""
            digits = PHONES[d].lstrip("+")
            out = []
            for c in stack.provider_calls("whatsapp"):
                body = json.dumps(c.get("body"))
                if digits in body and c.get("response", {}).get("status") == 200:
                    out.extend(t for t in TEXTS.values() if t in body)
            return out

        def expect_only(sent):
            """Every debtor got exactly the texts in `sent` (debtor -> [text])."""
            wait_until(lambda: all(sent_to(d) == sent.get(d, []) for d in sent), 20,
                       lambda: "the provider's record: %s" % {d: sent_to(d) for d in PHONES})
            for d in PHONES:
                self.assertEqual(sent_to(d), sent.get(d, []), "provider calls for %s" % d)
                self.assertEqual(agent_texts(d), sent.get(d, []), "agent items in %s's thread" % d)

        def on_step(step):
            if step == "ana-sent":
                expect_only({ANA: [TEXTS[ANA]]})
            elif step == "carlos-sent":
                expect_only({ANA: [TEXTS[ANA]], CARLOS: [TEXTS[CARLOS]]})
            elif step == "james-gone":
                conv = r.hgetall("hilo:{d:%s}:conv" % JAMES)
                self.assertEqual((conv["state"], conv["queue"]), ("queued", "en.legal"), conv)
                self.assertNotIn("disposition", conv)
            elif step == "ana-closed":
                conv = r.hgetall("hilo:{d:%s}:conv" % ANA)
                self.assertEqual(conv["state"], "closed", conv)
                disp = json.loads(conv["disposition"])
                self.assertEqual((disp["code"], disp.get("amount_cents"), disp.get("due")),
                                 ("promise_to_pay", 12000, "2026-12-15"), disp)
                self.assertEqual(disp.get("comment"), "Ana promised 120")
                carlos = r.hgetall("hilo:{d:%s}:conv" % CARLOS)
                self.assertEqual(carlos["state"], "assigned", carlos)
                self.assertNotIn("disposition", carlos)

        env = dict(HILO_URL=stack.origin + "/console/", HILO_AGENT="pat", HILO_SUPERVISOR="sue",
                   HILO_PASSWORD=PASSWORD, HILO_CARLOS=CARLOS, HILO_ANA=ANA, HILO_JAMES=JAMES,
                   HILO_TEXT_CARLOS=TEXTS[CARLOS], HILO_TEXT_ANA=TEXTS[ANA], HILO_TEXT_JAMES=TEXTS[JAMES])
        run_spec(self, "console_drafts.spec.js", env, on_step)
        # In the end: each text reached its own debtor only; James's draft was never sent.
        expect_only({ANA: [TEXTS[ANA]], CARLOS: [TEXTS[CARLOS]]})
        self.assertTrue(stack.alive(), "a helper process died")


if __name__ == "__main__":
    unittest.main()
