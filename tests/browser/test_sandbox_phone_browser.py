"""The sandbox's debtor phone page answers a call we place, in Debian's Chromium
(tests/browser/sandbox_phone.spec.js, playwright-core): the router places a call (`hilo send`
on voice), hilo-voice asks the sandbox's Calls.json, the number's phone rings on the page (even
while it shows the chat), Answer plays the call's message and ends it, and the call's outcome
is the message's delivery report. Real processes: redis-server, hilo-router, the hilo CLI,
hilo-voice and the sandbox. Screenshots: tests/artifacts/browser/sandbox-phone-*.png."""

import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from connectors_stack import ConnectorStackCase  # noqa: E402
from engine_helpers import CLOCK_KEY, local_ms  # noqa: E402
from hilo_browser import CHROMIUM, NODE, playwright_ready, run_spec  # noqa: E402
from hilo_harness import cli_path, run_cli, wait_until  # noqa: E402

PHONE = "+16505551234"
TUESDAY_10AM = local_ms("America/New_York", 2026, 11, 24, 10, 0)
MESSAGE = "This is ACME calling for Ana Test. Please call us back at 800 555 0100."


@unittest.skipUnless(cli_path() and NODE and os.access(CHROMIUM, os.X_OK), "needs the CLI, node and /usr/bin/chromium")
class SandboxPhoneBrowser(ConnectorStackCase):
    def test_phone_page_answers_a_placed_call(self):
        if not playwright_ready():
            self.skipTest("playwright-core is not installed (tests/browser/install.sh)")
        self.start_stack(engine=True, channels=("voice",), router_overrides={"engine": {"test_clock": "true"}})
        self.seed("D1", PHONE, language="en")
        self.r.set(CLOCK_KEY, str(TUESDAY_10AM))
        oid = []

        def on_step(step):
            if step == "place":
                oid.append(run_cli(self.router_.conf_path, "send", "D1", "voice", MESSAGE).stdout.strip())

        run_spec(self, "sandbox_phone.spec.js", {"HILO_SANDBOX_URL": self.sandbox.base, "HILO_PHONE": PHONE},
                 on_step)
        self.assertEqual(len(oid), 1)
        wait_until(lambda: self.ostat("D1").get(oid[0], {}).get("state") == "delivered", 15,
                   lambda: "the answered call is delivered (ostat %s)" % self.ostat("D1"))


if __name__ == "__main__":
    unittest.main()
