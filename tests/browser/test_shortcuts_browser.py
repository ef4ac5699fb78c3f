"""The agent's keyboard and a phone-sized screen in Debian's Chromium (tests/browser/
shortcuts.spec.js): Alt+A accepts the top offer, Alt+R and Ctrl+Enter reply (the reply is
committed, by agent:ana), the debtor panel shows the debtor's local time, and at 400 px the desk
is one usable column. Real processes: redis-server, hilo-router, hilo-whatsapp, hilo-sms and the
provider sandbox. Screenshots: tests/artifacts/browser/shortcuts-*.png."""

import os
import unittest

from hilo_browser import CHROMIUM, NODE, console_stack, playwright_ready, run_spec
from hilo_console import PASSWORD, add_agent, escalate
from hilo_harness import HiloTestCase, cli_path, history, seed_debtor, wait_until

DEBTOR, PHONE = "DK1", "+573001234567"


@unittest.skipUnless(cli_path() and NODE and os.access(CHROMIUM, os.X_OK), "needs the CLI, node and /usr/bin/chromium")
class ShortcutsBrowser(HiloTestCase):
    def test_keyboard_local_time_and_400_px(self):
        if not playwright_ready():
            self.skipTest("playwright-core is not installed (tests/browser/install.sh)")
        stack = console_stack(self, engine=True)  # the flow's payment link
        router, r = stack.router, stack.r
        seed_debtor(r, DEBTOR, [PHONE], full_name="Keyboard Debtor", country="CO", timezone="America/Bogota",
                    language="es", document_last4="5555",
                    **{"attr:notes": "Prefers WhatsApp after 6 pm", "attr:payment_token": "k9"})
        add_agent(router.conf_path, "ana", name="Ana Agent", skills="es.collections")
        env = dict(HILO_URL=stack.origin + "/console/", HILO_AGENT="ana", HILO_PASSWORD=PASSWORD, HILO_DEBTOR=DEBTOR)

        def on_step(step):
            if step == "offer":
                escalate(r, DEBTOR, skill="es.collections", channel="sms", addr=PHONE)
            elif step == "replied":
                wait_until(lambda: any(i.get("by") == "agent:ana" and i.get("text") == "Sent with the keyboard."
                                       for _, i in history(r, DEBTOR)), 10, "the keyboard's reply committed")
        run_spec(self, "shortcuts.spec.js", env, on_step)


if __name__ == "__main__":
    unittest.main()
