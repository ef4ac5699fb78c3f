"""Voice in the agent console, in Debian's Chromium (tests/browser/console_voice.spec.js,
playwright-core), issue 26: an agent accepts a queued caller and the call is put through to the
agent's phone (the sandbox's phone page on the agent's number rings, is answered, hung up: the
thread shows ringing, connected, the end); a caller who hangs up while waiting takes the offer
back; an agent whose phone does not answer loses the conversation, not offered back to them;
click-to-call outside the debtor's contact hours is refused by the gate and the console says why
(the router's test clock at 21:30 in the debtor's zone).

Real processes: redis-server, hilo-router (engine on), hilo-voice, the sandbox and Chromium.
Screenshots: tests/artifacts/browser/console-voice-*.png."""

import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from connectors_stack import ConnectorStackCase  # noqa: E402
from engine_helpers import CLOCK_KEY, local_ms  # noqa: E402
from hilo_browser import CHROMIUM, NODE, playwright_ready, run_spec  # noqa: E402
from hilo_console import PASSWORD, add_agent, escalate  # noqa: E402
from hilo_harness import cli_path, debtor_key, wait_until  # noqa: E402

PHONE = "+16505551234"
ANA_PHONE = "+15550001111"
TZ = "America/New_York"


@unittest.skipUnless(cli_path() and NODE and os.access(CHROMIUM, os.X_OK), "needs the CLI, node and /usr/bin/chromium")
class ConsoleVoiceBrowser(ConnectorStackCase):
    def setUp(self):
        super().setUp()
        if not playwright_ready():
            self.skipTest("playwright-core is not installed (tests/browser/install.sh)")

    def stack(self, test_clock=False):
        ov = {"console": {"offer_timeout_ms": 60000}}
        if test_clock:
            ov["engine"] = {"test_clock": "true"}
        self.start_stack(engine=True, channels=("voice",), router_overrides=ov, console_origin=True)
        self.seed("D1", PHONE, language="en", document_last4="8812", full_name="James Whitfield")
        add_agent(self.router_.conf_path, "ana", capacity="whatsapp=0,sms=1,voice=1", skills="en.collections",
                  phone=ANA_PHONE)

    def conv(self):
        return self.r.hgetall(debtor_key("D1", "conv"))

    def run_scenario(self, scenario, on_step):
        env = {"HILO_URL": self.origin + "/console/", "HILO_PASSWORD": PASSWORD, "HILO_AGENT": "ana",
               "HILO_DEBTOR": "D1", "HILO_SANDBOX_URL": self.sandbox.base, "HILO_AGENT_PHONE": ANA_PHONE,
               "HILO_SCENARIO": scenario}
        run_spec(self, "console_voice.spec.js", env, on_step)

    def caller_steps(self, sid):
        """The caller: asks for a person (0 at the first prompt), later hangs up."""
        def on_step(step):
            if step == "call":
                sid.append(self.sandbox.call(PHONE)["call"]["sid"])
                self.sandbox.input(sid[0], digits="0")
                wait_until(lambda: self.conv().get("state") == "queued", 15, "the caller queued")
            elif step == "hangup":
                self.sandbox.hangup(sid[0])
        return on_step

    def test_accept_a_queued_call(self):
        self.stack()
        sid = []
        self.run_scenario("accept", self.caller_steps(sid))
        events = [it["voice"]["event"] for it in self.thread("D1") if it.get("voice")]
        self.assertEqual([e for e in events if e.startswith("agent_") or e == "call_end"],
                         ["agent_ringing", "agent_connected", "call_end"], events)

    def test_caller_hangs_up_while_waiting(self):
        self.stack()
        sid = []
        self.run_scenario("hangup", self.caller_steps(sid))
        self.assertEqual(self.conv().get("state"), "open")
        self.assertEqual(self.r.smembers("hilo:agent:ana:offers"), set())

    def test_agent_does_not_answer(self):
        self.stack()
        sid = []
        self.run_scenario("noanswer", self.caller_steps(sid))
        self.assertIn("agent_no_answer", [it["voice"]["event"] for it in self.thread("D1") if it.get("voice")])
        self.assertEqual(self.conv().get("state"), "queued")
        self.assertIn("ana,", self.conv().get("declined", ""))
        self.assertEqual(self.sandbox.ok("GET", "/_sandbox/call/" + sid[0])["state"], "queued")

    def test_click_to_call_blocked_by_the_gate_outside_hours(self):
        self.stack(test_clock=True)
        self.r.set(CLOCK_KEY, str(local_ms(TZ, 2026, 11, 24, 10, 0)))

        def on_step(step):
            if step == "escalate":
                escalate(self.r, "D1", channel="sms", addr=PHONE, now_ms=local_ms(TZ, 2026, 11, 24, 10, 0))
            elif step == "evening":
                self.r.set(CLOCK_KEY, str(local_ms(TZ, 2026, 11, 24, 21, 30)))
        self.run_scenario("gate", on_step)
        placed = [c for c in self.sandbox.calls("twilio") if c["path"].endswith("/Calls.json")]
        self.assertEqual(placed, [], "nothing rang")


if __name__ == "__main__":
    unittest.main(verbosity=2)
