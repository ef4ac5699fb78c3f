"""What makes an agent notice work, in Debian's Chromium (tests/browser/notice.spec.js): with the
notification permission granted, a new offer and a new message from a debtor each make a sound
and show a desktop notification, the tab's title counts them, the list shows the unread count and
a preview, opening the conversation marks it read (kept in Redis per agent), and the agent's reply
shows the provider's delivery report. Real processes: redis-server, hilo-router (conversation
engine on: the debtor's message reaches the agent who holds the conversation), hilo-whatsapp,
hilo-sms and the provider sandbox. Screenshots: tests/artifacts/browser/notice-*.png."""

import json
import os
import time
import unittest

from hilo_browser import CHROMIUM, NODE, console_stack, playwright_ready, run_spec
from hilo_console import PASSWORD, add_agent, escalate
from hilo_harness import HiloTestCase, cli_path, debtor_key, seed_debtor, wait_until

D1, P1 = "DN1", "+16505551234"
D2, P2 = "DN2", "+16505551235"
TEXT = "Can I pay on Friday instead?"


@unittest.skipUnless(cli_path() and NODE and os.access(CHROMIUM, os.X_OK), "needs the CLI, node and /usr/bin/chromium")
class NoticeBrowser(HiloTestCase):
    def test_unread_preview_title_sound_and_notification(self):
        if not playwright_ready():
            self.skipTest("playwright-core is not installed (tests/browser/install.sh)")
        stack = console_stack(self, engine=True)
        router, r = stack.router, stack.r
        seed_debtor(r, D1, [P1], full_name="First Debtor", language="en")
        seed_debtor(r, D2, [P2], full_name="Second Debtor", language="en")
        add_agent(router.conf_path, "ana", name="Ana Agent", skills="en.collections")
        env = dict(HILO_URL=stack.origin + "/console/", HILO_AGENT="ana", HILO_PASSWORD=PASSWORD,
                   HILO_D1=D1, HILO_D2=D2, HILO_TEXT=TEXT)
        state = {}

        def on_step(step):
            if step == "offer-d1":
                escalate(r, D1, channel="sms", addr=P1)
            elif step == "offer-d2":
                escalate(r, D2, channel="sms", addr=P2)
            elif step == "d1-writes":
                stack.debtor_says(D1, P1, "sms", TEXT)
            elif step == "read-recorded":
                msgs_in = r.hget(debtor_key(D1, "conv"), "msgs_in")
                wait_until(lambda: r.hget("hilo:{a:ana}:read", D1) == msgs_in, 10, "ana's read mark of DN1")
                self.assertGreater(r.ttl("hilo:{a:ana}:read"), 0, "the read marks expire")
            elif step == "reply-reported":
                def reported():
                    outs = [json.loads(v) for v in r.hvals(debtor_key(D1, "ostat"))]
                    return any(o.get("state") in ("sent", "delivered", "read") for o in outs)
                wait_until(reported, 20, "the provider's report of ana's reply")
                state["reported"] = True
            elif step == "d2-writes":
                stack.debtor_says(D2, P2, "sms", "Is anyone there?")
            elif step == "d2-writes-again":
                stack.debtor_says(D2, P2, "sms", "Hello again")
            elif step == "offers-ordered":
                now = int(time.time() * 1000)
                for d, phone, prio, at in (("DN3", "+16505551236", 0, now - 60000), ("DN4", "+16505551237", 2, now)):
                    seed_debtor(r, d, [phone], full_name="Debtor " + d, language="en")
                    escalate(r, d, channel="whatsapp", addr=phone, priority=prio, now_ms=at)
        run_spec(self, "notice.spec.js", env, on_step)
        self.assertTrue(state.get("reported"))
        self.assertTrue(stack.alive(), "a helper process died")


if __name__ == "__main__":
    unittest.main()
