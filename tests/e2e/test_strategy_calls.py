"""A strategy with a call step (issue 21): the runner places the call through the gate at hand-off
and hilo-voice, and the call's outcome drives the next step — a busy line (failed) and a
voicemail (machine) move on to the SMS, a call a person answered (delivered) ends the run. Days pass on the test clock. Calls to US
mobiles need the debtor's consent (the US pack's consent.voice): without it the call step is
not used.

Real redis-server, hilo-router (engine on, test clock, [strategies] dir), the hilo CLI, hilo-voice,
hilo-sms and the sandbox (whose phone answers calls as the number's setting says).
"""

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from connectors_stack import ConnectorStackCase  # noqa: E402
from engine_helpers import CLOCK_KEY, audit, local_ms  # noqa: E402
from hilo_harness import cli_path, debtor_key, run_cli, wait_until  # noqa: E402

TZ = "America/New_York"
TUESDAY_10AM = local_ms(TZ, 2026, 11, 24, 10, 0)
NAME = "t_calls"

# The call says limited content (a reassigned number may hear it); a call is not an electronic
# message, so it carries no opt-out notice (Reg F 1006.6(e) is about electronic communications).
STRATEGY = """
[strategy]
name = t_calls
priority = 10
state = paused
languages = en
default_language = en
company = Test Co
callback_phone = +1 650 555 0100

[segment all]
days_past_due = 1-
steps = call sms

[step call]
channel = voice
days = mon-sun
hours = 09:00-19:00
text.en = This is {company} with an important message. Please call us at {callback_phone}.
on.failed = sms
on.machine = sms
on.delivered = end

[step sms]
channel = sms
wait = 1d
days = mon-sun
hours = 09:00-19:00
text.en = {company} tried to call you. Call {callback_phone}. Reply STOP to opt out.
on.sent = end
"""


@unittest.skipUnless(cli_path(), "the hilo CLI is not built")
class StrategyCalls(ConnectorStackCase):

    def start(self):
        sdir = os.path.join(self.workdir, "strategies")
        os.makedirs(sdir, exist_ok=True)
        with open(os.path.join(sdir, "t.strategy"), "w") as f:
            f.write(STRATEGY)
        self.start_stack(engine=True, channels=("voice", "sms"),
                         router_overrides={"engine": {"test_clock": "true"}, "strategies": {"dir": sdir, "poll_ms": 100}})
        self.r.set(CLOCK_KEY, str(TUESDAY_10AM))

    def debtor(self, did, phone, consent=("voice", "sms")):
        self.seed(did, phone, language="en")
        for ch in consent:
            self.r.hset(debtor_key(did, "consent"), "%s:%s" % (ch, phone), "granted|1795000000000|import")

    def strat(self, did):
        f = (self.r.hget(debtor_key(did, "conv"), "strat") or "").split("|")
        return {"st": f[0], "step": f[4], "last": f[5], "why": f[9]} if len(f) == 12 else None

    def wait_strat(self, did, pred, what):
        return wait_until(lambda: (lambda s: s if s and pred(s) else None)(self.strat(did)), 20,
                          lambda: "%s: %s (strat %s)" % (did, what, self.r.hget(debtor_key(did, "conv"), "strat")))

    def calls_to(self, phone):
        return [c for c in self.sandbox.calls("twilio") if c["path"].endswith("/Calls.json") and c.get("to") == phone]

    def test_busy_call_moves_on_to_the_sms_and_an_answered_call_ends_the_run(self):
        self.start()
        self.debtor("D1", "+16505551001")
        self.debtor("D2", "+16505551002")
        self.sandbox.ok("POST", "/_sandbox/answer", {"phone": "+16505551001", "outcome": "busy"})
        self.sandbox.ok("POST", "/_sandbox/answer", {"phone": "+16505551002", "outcome": "human"})
        run_cli(self.router_.conf_path, "strategy", "start", NAME)
        wait_until(lambda: self.calls_to("+16505551001") and self.calls_to("+16505551002"), 20, "both calls placed")
        # D1: busy -> failed -> the SMS a day later.
        self.wait_strat("D1", lambda s: s["st"] == "due" and s["step"] == "sms", "the SMS is due after the busy call")
        self.assertEqual(self.sandbox.outbound_items("+16505551001", "sms"), [])
        self.r.set(CLOCK_KEY, str(TUESDAY_10AM + 86400000))
        wait_until(lambda: self.sandbox.outbound_items("+16505551001", "sms"), 20, "the SMS after the busy call")
        self.wait_strat("D1", lambda s: s["st"] == "end", "D1's run ended")
        # D2: answered -> delivered -> the run ends; the person heard the message, then the IVR.
        self.wait_strat("D2", lambda s: s["st"] == "end", "D2's run ended after the answered call")
        said = [i["text"] for i in self.sandbox.outbound_items("+16505551002", "voice")]
        self.assertTrue(said and said[0].startswith("This is Test Co with an important message"), said)
        self.assertEqual(self.sandbox.outbound_items("+16505551002", "sms"), [])
        self.assertEqual(len(self.calls_to("+16505551001")), 1)
        self.assertEqual(len(self.calls_to("+16505551002")), 1)

    def test_a_voicemail_is_its_own_result(self):
        """on.machine: answered by a machine is not a person reached (on.delivered would end)."""
        self.start()
        self.debtor("D4", "+16505551004")
        self.sandbox.ok("POST", "/_sandbox/answer", {"phone": "+16505551004", "outcome": "machine"})
        run_cli(self.router_.conf_path, "strategy", "start", NAME)
        self.wait_strat("D4", lambda s: s["st"] == "due" and s["step"] == "sms", "the SMS is due after the voicemail")
        rows = json.loads(run_cli(self.router_.conf_path, "strategy", "report", NAME, "--json").stdout)["funnel"]
        counts = {(r["step"], r["metric"]): r["count"] for r in rows}
        self.assertEqual(counts.get(("call", "machine")), 1, counts)
        self.assertEqual(counts.get(("call", "delivered")), 1, counts)  # it did reach the number
        said = [i["text"] for i in self.sandbox.outbound_items("+16505551004", "voice")]
        self.assertTrue(said and said[0].startswith("This is Test Co with an important message"), said)

    def test_no_call_without_consent_for_a_us_mobile(self):
        """The call step is skipped (no_consent, a failed result): the SMS, which has consent,
        follows; no call is placed."""
        self.start()
        self.debtor("D3", "+16505551003", consent=("sms",))
        self.sandbox.ok("POST", "/_sandbox/answer", {"phone": "+16505551003", "outcome": "human"})
        run_cli(self.router_.conf_path, "strategy", "start", NAME)
        self.wait_strat("D3", lambda s: s["step"] == "sms", "the SMS step after the skipped call")
        skipped = [json.dumps(f) for _, f in audit(self.r, "D3") if "skipped" in json.dumps(f)]
        self.assertTrue(any("no_consent" in j and '"call"' in j for j in skipped), skipped)
        self.assertEqual(self.calls_to("+16505551003"), [])

if __name__ == "__main__":
    unittest.main()
