"""Calls we place (issue 21): a voice Outbound that answers no live turn makes hilo-voice POST
Twilio's Calls.json (Twiml, StatusCallback with its events, MachineDetection=Enable), and the
call's outcome comes back from its status callbacks as the message's delivery report
(docs/providers.md, "Placed calls"): answered by a person -> delivered; by a machine ->
delivered with error_code "machine"; no answer, busy, failed -> failed with that error_code. A
person who answers hears the message, then the IVR from its start as an inbound caller does
(verification before any disclosure); a machine hears the message and is hung up on.

Real redis-server, hilo-router (engine on, test clock), the hilo CLI (`hilo send`), hilo-voice and
the sandbox, whose phone does with the call what the number's setting says (POST /_sandbox/answer).
"""

import os
import sys
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from connectors_stack import ConnectorStackCase  # noqa: E402
from engine_helpers import CLOCK_KEY, local_ms  # noqa: E402
from hilo_harness import cli_path, debtor_key, run_cli, wait_until  # noqa: E402

PHONE = "+16505551234"
OUR_NUMBER = "+15005550006"
TZ = "America/New_York"
TUESDAY_10AM = local_ms(TZ, 2026, 11, 24, 10, 0)
MESSAGE = "This is ACME calling for Ana Test. Please call us back at 800 555 0100."


@unittest.skipUnless(cli_path(), "the hilo CLI is not built")
class PlacedCalls(ConnectorStackCase):

    def place(self, outcome):
        self.start_stack(engine=True, channels=("voice",),
                         router_overrides={"engine": {"test_clock": "true"}})
        self.seed("D1", PHONE, language="en")
        self.r.set(CLOCK_KEY, str(TUESDAY_10AM))
        self.sandbox.ok("POST", "/_sandbox/answer", {"phone": PHONE, "outcome": outcome})
        p = run_cli(self.router_.conf_path, "send", "D1", "voice", MESSAGE)
        oid = p.stdout.strip()
        self.assertTrue(oid, p.stderr)
        return oid

    def calls_request(self, oid):
        """The Calls.json request hilo-voice made for our outbound (its StatusCallback names it)."""
        def find():
            for c in self.sandbox.calls("twilio"):
                if c["path"].endswith("/Calls.json") and ("ob=" + oid) in (c["body"].get("StatusCallback") or ""):
                    return c
            return None
        return wait_until(find, 15, lambda: "a Calls.json request: %s" % self.sandbox.calls("twilio"))

    def wait_outcome(self, oid, state, error_code):
        def check():
            st = self.ostat("D1").get(oid, {})
            return st if st.get("state") == state and st.get("error_code") == error_code else None
        return wait_until(check, 20, lambda: "%s becomes %s/%s (ostat %s)" % (oid, state, error_code,
                                                                               self.ostat("D1")))

    def assert_placed(self, oid):
        c = self.calls_request(oid)
        self.assertEqual(c["response"]["status"], 201, c["response"])
        form = c["form"]
        body = dict(form)
        self.assertEqual((body["To"], body["From"], body["MachineDetection"]), (PHONE, OUR_NUMBER, "Enable"))
        self.assertIn(MESSAGE, body["Twiml"])
        self.assertEqual([v for k, v in form if k == "StatusCallbackEvent"],
                         ["initiated", "ringing", "answered", "completed"])
        cb = urllib.parse.urlsplit(body["StatusCallback"])
        self.assertEqual(cb.path, "/webhooks/twilio/voice/status")
        self.assertEqual(urllib.parse.parse_qs(cb.query), {"ob": [oid], "d": ["D1"]})
        return c["response"]["body"]["sid"]

    def said(self):
        return [i["text"] for i in self.sandbox.outbound_items(PHONE, "voice")]

    # ------------------------------------------------------------------------------------------

    def test_answered_by_a_person_is_delivered(self):
        oid = self.place("human")
        sid = self.assert_placed(oid)
        st = self.wait_outcome(oid, "delivered", None)
        self.assertEqual(st["pmid"], sid)
        wait_until(lambda: MESSAGE in self.said(), 10, lambda: "the debtor heard it: %s" % self.said())
        # Every callback the call made was signed and taken (2xx) by hilo-voice.
        evs = [e for e in self.sandbox.events(channel="voice") if e["ref"] == sid]
        self.assertTrue(evs and all(e["response"]["status"] == 200 for e in evs), evs)

    def test_answered_by_a_machine_is_delivered_as_machine(self):
        oid = self.place("machine")
        self.assert_placed(oid)
        self.wait_outcome(oid, "delivered", "machine")

    def test_no_answer_fails_as_no_answer(self):
        oid = self.place("no-answer")
        self.assert_placed(oid)
        self.wait_outcome(oid, "failed", "no-answer")
        self.assertNotIn(MESSAGE, self.said())

    def test_busy_fails_as_busy(self):
        oid = self.place("busy")
        self.assert_placed(oid)
        self.wait_outcome(oid, "failed", "busy")

    def test_failed_fails_as_failed(self):
        oid = self.place("failed")
        self.assert_placed(oid)
        self.wait_outcome(oid, "failed", "failed")

    def test_ringing_call_answered_from_the_phone(self):
        """The default: the phone rings until someone answers (the phone page's Answer button
        posts /_sandbox/call/<sid>/answer)."""
        oid = self.place("ring")
        sid = self.assert_placed(oid)
        wait_until(lambda: self.sandbox.ok("GET", "/_sandbox/call/" + sid)["state"] == "ringing", 10, "ringing")
        self.assertEqual(self.ostat("D1")[oid]["state"], "sent")  # taken by Twilio, no outcome yet
        self.sandbox.ok("POST", "/_sandbox/call/%s/answer" % sid, {})
        self.wait_outcome(oid, "delivered", None)
        self.assertIn(MESSAGE, self.said())
        r = self.sandbox.api("POST", "/_sandbox/call/%s/decline" % sid, {})
        self.assertEqual(r[0], 409, r)  # no longer ringing


    # --- an answered call runs the IVR in the debtor's thread --------------------------------

    def test_answered_call_runs_the_ivr_with_verification_first(self):
        """After the message, the person who answered is in the same IVR as an inbound caller:
        asked to verify before anything about the debt is said; verified, the menu; and having
        answered a prompt, that was a phone conversation (the gate's pause starts)."""
        oid = self.place("human")
        sid = self.assert_placed(oid)
        self.wait_outcome(oid, "delivered", None)
        call = wait_until(lambda: (lambda c: c if c["state"] == "gathering" else None)(
            self.sandbox.ok("GET", "/_sandbox/call/" + sid)), 15, "the IVR's first prompt")
        said = " ".join(self.said())
        self.assertIn(MESSAGE, said)
        # The IVR's own start, as for an inbound call: asked to verify, before any input.
        self.assertIn("please enter or say the last 4 digits of your ID document", said)
        self.assertNotIn("100.00", said)  # nothing about the debt before verification
        self.assertFalse(self.r.hget(debtor_key("D1", "conv"), "verified_ms"))
        step = self.sandbox.input(sid, digits="4321#")  # the document's last 4 (seed default)
        wait_until(lambda: self.r.hget(debtor_key("D1", "conv"), "verified_ms"), 15,
                   lambda: "verified (conv %s, step %s)" % (self.r.hgetall(debtor_key("D1", "conv")), step["said"]))
        self.assertEqual(int(self.r.hget(debtor_key("D1", "conv"), "talk:voice")), TUESDAY_10AM)
        # One thread: the call's turns are the debtor's, on voice.
        items = [it for it in self.thread("D1") if it.get("ch") == "voice" or it.get("channel") == "voice"]
        self.assertTrue(any(it.get("dir") == "in" for it in items), items)
        self.assertEqual(call["direction"], "outbound-api")

    def test_talk_to_a_person_queues_the_placed_call_for_an_agent(self):
        oid = self.place("human")
        sid = self.assert_placed(oid)
        wait_until(lambda: self.sandbox.ok("GET", "/_sandbox/call/" + sid)["state"] == "gathering", 15,
                   "the IVR's first prompt")
        step = self.sandbox.input(sid, digits="0")  # "To speak with an agent, press 0."
        self.assertEqual(step["call"]["state"], "queued", step)
        wait_until(lambda: self.r.hget(debtor_key("D1", "conv"), "state") == "queued", 15,
                   lambda: "the conversation queued for an agent (conv %s)" % self.r.hgetall(debtor_key("D1", "conv")))

    def test_machine_gets_the_message_and_no_ivr(self):
        oid = self.place("machine")
        sid = self.assert_placed(oid)
        self.wait_outcome(oid, "delivered", "machine")
        wait_until(lambda: self.sandbox.ok("GET", "/_sandbox/call/" + sid)["state"] == "ended", 15, "the call ends")
        self.assertIn(MESSAGE, self.said())
        # After the message the call went on to the IVR's start, where hilo-voice hung up on the
        # machine itself: no turn of the router's IVR, nothing in the debtor's thread from it.
        starts = [e for e in self.sandbox.events(channel="voice") if e["ref"] == sid and e["kind"] == "voice.redirect"]
        self.assertEqual(len(starts), 1, starts)
        self.assertIn("AnsweredBy=machine_end_beep", starts[0]["body"])
        self.assertIn("<Hangup/>", starts[0]["response"]["body"])
        self.assertFalse([it for it in self.thread("D1") if it.get("dir") == "in"], self.thread("D1"))


if __name__ == "__main__":
    unittest.main()
