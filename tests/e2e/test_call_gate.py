"""The law for calls in the compliance gate (issue 21; docs/compliance.md), at its boundaries under
the router's test clock:

- Regulation F 1006.14(b)(2)(i): 7 calls in 7 consecutive days — the 7th is placed, the 8th is
  refused with frequency_cap (at commit by `hilo send`, and held at hand-off when it may wait),
  and 7 days after the first the next is placed again.
- 1006.14(b)(2)(ii): no call within 7 days after a phone conversation — a call in which the
  debtor answered one of our prompts (the engine records it as conv talk:voice). 6 days 23 h
  later a call is refused (recent_phone_conversation), 7 days later it is placed; and a call
  committed before the conversation is cancelled at hand-off, never placed.

Real redis-server, hilo-router (engine on, test clock), the hilo CLI, hilo-voice and the sandbox.
The debtor is in America/New_York under the US pack (calls 08:00-21:00 every day).
"""

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from connectors_stack import ConnectorStackCase  # noqa: E402
from engine_helpers import CLOCK_KEY, local_ms  # noqa: E402
from hilo_harness import cli_path, debtor_key, run_cli, wait_until  # noqa: E402

PHONE = "+16505551234"
TZ = "America/New_York"
T0 = local_ms(TZ, 2026, 11, 24, 10, 0)  # Tuesday 10:00
HOUR = 3600 * 1000
DAY = 24 * HOUR
TEXT = "This is ACME calling for Ana Test. Please call us back."


@unittest.skipUnless(cli_path(), "the hilo CLI is not built")
class CallGate(ConnectorStackCase):

    def start(self, channels=("voice",)):
        self.start_stack(engine=True, channels=channels, router_overrides={"engine": {"test_clock": "true"}})
        self.seed("D1", PHONE, language="en", document_last4="4321")
        self.sandbox.ok("POST", "/_sandbox/answer", {"phone": PHONE, "outcome": "busy"})

    def clock(self, ms):
        self.r.set(CLOCK_KEY, str(ms))

    def send(self, *opts):
        return run_cli(self.router_.conf_path, "send", *opts, "D1", "voice", TEXT, check=False)

    def placed(self, oid):
        return [c for c in self.sandbox.calls("twilio") if c["path"].endswith("/Calls.json")
                and ("ob=" + oid) in (c["body"].get("StatusCallback") or "")]

    def call(self, at):
        """A call at `at` that the gate allows: committed, then placed with the provider."""
        self.clock(at)
        p = self.send()
        self.assertEqual(p.returncode, 0, p.stderr)
        oid = p.stdout.strip()
        wait_until(lambda: self.placed(oid), 15, lambda: "call %s placed (ostat %s)" % (oid, self.ostat("D1")))
        # ... and its outcome (busy) reported to the router before the clock moves on: the
        # dispatcher follows the test clock, and a lease that the clock jumps past while the
        # report is still on its way sends the message to the give-up.
        wait_until(lambda: (self.ostat("D1").get(oid) or {}).get("state") == "failed", 15,
                   lambda: "call %s reported busy (ostat %s)" % (oid, self.ostat("D1").get(oid)))
        self.assertEqual(self.ostat("D1")[oid].get("error_code"), "busy")
        return oid

    def assert_refused(self, at, reason):
        self.clock(at)
        p = self.send()
        self.assertNotEqual(p.returncode, 0, p.stdout)
        self.assertIn("blocked by the compliance gate: %s:" % reason, p.stderr)

    def held(self, oid):
        j = self.r.hget(debtor_key("D1", "odisp"), oid)
        return json.loads(j) if j else {}

    # ------------------------------------------------------------------------------------------

    def test_seven_calls_in_seven_days_then_the_eighth_refused(self):
        self.start()
        for i in range(7):  # one a day, every day of the week (Reg F's hours hold on Sundays too)
            self.call(T0 + i * DAY)
        self.assert_refused(T0 + 6 * DAY + 23 * HOUR, "frequency_cap")
        self.assertEqual(self.r.zcard(debtor_key("D1", "contacts:voice")), 7)
        # 7 days after the first call, it has aged out: a call is placed again.
        self.call(T0 + 7 * DAY)
        # An hour later the window (T0 + 1 h, T0 + 7 d + 1 h] holds 7 calls again. Asked to wait,
        # the call is committed and the gate at hand-off holds it for the cap: never placed.
        self.clock(T0 + 7 * DAY + HOUR)
        p = self.send("--wait-window")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("waits: frequency_cap", p.stderr)
        oid = p.stdout.strip()
        wait_until(lambda: self.held(oid).get("why") == "frequency_cap", 15,
                   lambda: "held at hand-off (odisp %s)" % self.held(oid))
        self.assertEqual(self.placed(oid), [])

    def test_no_call_within_seven_days_after_a_phone_conversation(self):
        self.start()
        self.clock(T0)
        step = self.sandbox.call(PHONE)  # the debtor calls us and answers the first prompt
        self.sandbox.input(step["call"]["sid"], digits="4321#")
        wait_until(lambda: self.r.hget(debtor_key("D1", "conv"), "talk:voice"), 15,
                   lambda: "the conversation recorded (conv %s)" % self.r.hgetall(debtor_key("D1", "conv")))
        self.assertEqual(int(self.r.hget(debtor_key("D1", "conv"), "talk:voice")), T0)
        self.assert_refused(T0 + 6 * DAY + 23 * HOUR, "recent_phone_conversation")
        self.call(T0 + 7 * DAY)

    def test_a_conversation_after_the_commit_cancels_the_call_at_hand_off(self):
        """The gate decides again when the call is handed to hilo-voice: a conversation since the
        commit (here recorded while no voice connector was there to take the call) stops it."""
        self.start(channels=())
        self.clock(T0)
        p = self.send()
        self.assertEqual(p.returncode, 0, p.stderr)
        oid = p.stdout.strip()
        # A call asked to wait for its window, committed in the same way.
        p = self.send("--wait-window")
        self.assertEqual(p.returncode, 0, p.stderr)
        waiting = p.stdout.strip()
        # What the engine writes when the debtor answers a prompt on a call (the test above).
        self.r.hset(debtor_key("D1", "conv"), "talk:voice", str(T0 - HOUR))
        self.start_connector("voice")
        wait_until(lambda: self.ostat("D1").get(oid, {}).get("state") == "cancelled", 15,
                   lambda: "cancelled at hand-off (ostat %s)" % self.ostat("D1"))
        st = self.ostat("D1")[oid]
        self.assertEqual(st["reason"], "recent_phone_conversation", st)
        self.assertIn("phone conversation", st["error"])
        self.assertEqual(self.placed(oid), [])
        # The one that may wait waits, until 7 days after the conversation.
        wait_until(lambda: self.held(waiting).get("why") == "recent_phone_conversation", 15,
                   lambda: "held at hand-off (odisp %s)" % self.held(waiting))
        self.assertEqual(self.placed(waiting), [])


if __name__ == "__main__":
    unittest.main()
