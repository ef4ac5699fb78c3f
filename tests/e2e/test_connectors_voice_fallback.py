"""The router killed mid-call (acceptance 6): the voice webhook still answers valid fallback
TwiML within the configured deadline (voice_reply_deadline_ms), in the language the call was
being held in, so Twilio never plays its "application error" to a live caller; nothing the
caller said is lost (the turn is committed once the router is back); and the next call is
served by the bot again. A caller who withholds the number gets the fallback at once, and the
router nothing.

Real redis-server, hilo-router (engine on, killed with SIGKILL), hilo-voice and the sandbox."""

import json
import os
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from connectors_stack import (ConnectorStackCase, http, parse_twiml, read_dead_letters,  # noqa: E402
                              twilio_signature)

PHONE = "+16505551234"
DEADLINE_MS = 2000   # voice_reply_deadline_ms of the test's connectors (connectors_stack)
SLACK_MS = 1000      # the deadline timer ticks every 50 ms; the rest is a loaded 2-core machine


class VoiceFallback(ConnectorStackCase):

    def assert_fallback(self, twiml_text, what):
        """Valid TwiML a caller can be left with: <Response>, something said, then a queue or a
        hang-up (no <Gather> waiting for a router that is not there)."""
        try:
            root, verbs = parse_twiml(twiml_text)
        except Exception as e:  # noqa: BLE001 - the text in the failure message is what matters
            self.fail("%s: not TwiML (%s): %r" % (what, e, twiml_text))
        names = [v[0] for v in verbs]
        self.assertGreaterEqual(len(names), 2, "%s: %s" % (what, twiml_text))
        self.assertEqual(names[0], "Say", "%s: %s" % (what, twiml_text))
        self.assertTrue(verbs[0][2], "%s: empty <Say>: %s" % (what, twiml_text))
        self.assertIn(names[-1], ("Enqueue", "Hangup"), "%s: %s" % (what, twiml_text))
        self.assertNotIn("Gather", names, "%s: %s" % (what, twiml_text))
        return names

    def signed_call_start(self, call_sid, caller=PHONE, path="/webhooks/twilio/voice", status="ringing"):
        """A call webhook straight to hilo-voice, signed as Twilio does."""
        url = self.conf["voice"]["public_url"] + path
        params = [("CallSid", call_sid), ("AccountSid", self.conf["voice"]["account_sid"]), ("From", caller),
                  ("To", "+15005550006"), ("CallStatus", status), ("Direction", "inbound"),
                  ("ApiVersion", "2010-04-01")]
        headers = {"Content-Type": "application/x-www-form-urlencoded",
                   "X-Twilio-Signature": twilio_signature(self.conf["voice"]["auth_token"], url, params)}
        return http("POST", self.conns["voice"].url(path), urllib.parse.urlencode(params).encode(), headers,
                    timeout=20)

    def test_withheld_caller_id_gets_the_fallback_and_the_router_nothing(self):
        # A caller who withholds the number ("anonymous") cannot be filed under a phone number:
        # hilo-voice answers the fallback at once (the agent queue when fallback_queue is set)
        # and sends the router nothing — no refused envelope, no dead letter.
        self.start_stack(engine=True, channels=("voice",),
                         connector_overrides={"voice": {"fallback_queue": "cobranza"}})
        for caller in ("anonymous", "RESTRICTED", "client:Anonymous"):
            t0 = time.monotonic()
            status, _, body, _ = self.signed_call_start("CAanon-" + caller[:4], caller=caller)
            self.assertEqual(status, 200, body)
            self.assertLess(time.monotonic() - t0, DEADLINE_MS / 1000.0, "answered at once, not at the deadline")
            names = self.assert_fallback(body.decode(), caller)
            self.assertEqual(names[-1], "Enqueue", body)
        status, _, body, _ = self.signed_call_start("CAanon-anon", caller="anonymous",
                                                    path="/webhooks/twilio/voice/status", status="completed")
        self.assertEqual(status, 200, body)
        m = self.conns["voice"].metrics()
        self.assertEqual(m.value("hilo_connector_webhooks_total", result="withheld_caller_id"), 4)
        self.assertEqual(m.value("hilo_connector_envelopes_submitted_total"), 0)
        self.assertEqual(self.router_.metrics().value("hilo_nacks_total"), 0)
        self.assertEqual(read_dead_letters(self.workdir, "voice"), [])
        # A caller with a number still reaches the bot.
        status, _, body, _ = self.signed_call_start("CAnamed1")
        self.assertEqual(status, 200, body)
        self.assertIn("Gather", [v[0] for v in parse_twiml(body.decode())[1]], body)

    def test_router_killed_mid_call_gets_fallback_twiml_in_time(self):
        self.start_stack(engine=True, channels=("voice",))
        self.seed("D1", PHONE, language="en", full_name="James Whitfield", document_last4="8812")
        step = self.sandbox.call(PHONE)
        sid = step["call"]["sid"]
        self.assertEqual(step["call"]["state"], "gathering", step)  # the bot's prompt

        self.router_.kill9()
        # The caller answers the prompt: the gather webhook cannot reach the router.
        t0 = time.monotonic()
        step = self.sandbox.input(sid, digits="8812")
        took_ms = (time.monotonic() - t0) * 1000
        ev = self.sandbox.events(kind="voice.gather")[-1]
        self.assertEqual(ev["response"]["status"], 200, ev["response"])
        self.assertIn("xml", ev["response"]["content_type"])
        elapsed = ev["response"]["elapsed_ms"]
        self.assertLessEqual(elapsed, DEADLINE_MS + SLACK_MS, "fallback after %s ms" % elapsed)
        self.assertLess(took_ms, 15000)  # Twilio's own limit, whatever happens
        names = self.assert_fallback(ev["response"]["body"], "gather turn with the router dead")
        # In the caller's language: this call was answered in English before the router died.
        self.assertIn("We are sorry", ev["response"]["body"])
        self.assertNotIn("Lo sentimos", ev["response"]["body"])  # its language only, not both
        # The caller is in the agents' queue (fallback_queue), not cut off by an error.
        self.assertIsNone(step["call"].get("error"), step)
        if names[-1] == "Enqueue":
            self.assertEqual(step["call"]["state"], "queued", step)
        self.assertEqual(self.conns["voice"].metrics().value("hilo_connector_webhooks_total",
                                                             result="reply_fallback"), 1)

        # A new call while the router is still down: fallback too, in time, straight from the
        # connector (our own signed request, timed here).
        status, headers, body, secs = self.signed_call_start("CAe2efallback0000000000000000000001")
        self.assertEqual(status, 200, body)
        self.assertLessEqual(secs * 1000, DEADLINE_MS + SLACK_MS)
        self.assertGreaterEqual(secs * 1000, DEADLINE_MS - 100)  # it did wait for the router
        self.assert_fallback(body.decode(), "call start with the router dead")
        # A new call: no language known yet, so both of fallback_languages (es, then en).
        self.assertIn("Lo sentimos", body.decode())
        self.assertIn("We are sorry", body.decode())

        # The router comes back: the turn the caller spoke is committed (kept by the connector),
        # once, and new calls get the bot again.
        self.router_.start()
        self.conns["voice"].wait_health(200, 15)
        items = self.wait_items("D1", lambda it: it["dir"] == "in" and it["ch"] == "voice", 3, 20,
                                "the call start, the gather and the second call start committed")
        gathers = [it for it in items if it["voice"]["event"] == "gather"]
        self.assertEqual([g["voice"]["digits"] for g in gathers], ["8812"], json.dumps(items))
        self.sandbox.hangup(sid)
        step = self.sandbox.call(PHONE)
        self.assertEqual(step["call"]["state"], "gathering", step)
        root, verbs = parse_twiml(step["twiml"])
        self.assertEqual(verbs[0][0], "Gather", step["twiml"])
        self.sandbox.hangup(step["call"]["sid"])

    def test_router_frozen_gets_fallback_twiml_in_time(self):
        # A hung router (SIGSTOP): the link looks up, nothing is acked. Same promise to the caller.
        self.start_stack(engine=True, channels=("voice",))
        self.seed("D2", PHONE, language="en")
        self.router_.freeze()
        try:
            status, _, body, secs = self.signed_call_start("CAe2efrozen000000000000000000000001")
        finally:
            self.router_.thaw()
        self.assertEqual(status, 200, body)
        self.assertLessEqual(secs * 1000, DEADLINE_MS + SLACK_MS)
        self.assert_fallback(body.decode(), "call start with the router frozen")
        # Thawed, the router commits the call start the connector kept for it.
        self.wait_items("D2", lambda it: it["dir"] == "in" and it["ch"] == "voice", 1, 20, "the call start")


if __name__ == "__main__":
    unittest.main(verbosity=2)
