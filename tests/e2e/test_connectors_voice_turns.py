"""Voice turns end to end (issue 17): what the caller's keypad, the number's webhook URL and the
fallback do, with real processes.

- A one-key menu's <Gather> ends on the key (numDigits="1"); the verification prompt, which
  takes free-form digits, still ends with '#' or the pause (no numDigits).
- A webhook's own query (?tenant=a on the number's URL) stays on every later turn's action URL,
  and those later requests, signed as Twilio signs them, verify.
- A public_url holding a query is refused when the config is loaded (exit 2, FILE:LINE message).
- The fallback TwiML is bilingual by default (Spanish then English, each <Say> naming its
  language), and per called number when fallback_by_number says so.

Real redis-server, hilo-router (engine on), hilo-voice and the sandbox."""

import os
import subprocess
import sys
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from connectors_stack import (ConnectorStackCase, connector_bin, http, parse_twiml,  # noqa: E402
                              twilio_signature, write_conf)

PHONE = "+16505551234"
OUR_NUMBER = "+15005550006"


def gather_of(twiml_text):
    root = parse_twiml(twiml_text)[0]
    return root.find("Gather")


class VoiceTurns(ConnectorStackCase):

    def signed(self, path_and_query, params):
        """A webhook straight to hilo-voice, signed over public_url + path?query as Twilio does."""
        url = self.conf["voice"]["public_url"] + path_and_query
        headers = {"Content-Type": "application/x-www-form-urlencoded",
                   "X-Twilio-Signature": twilio_signature(self.conf["voice"]["auth_token"], url, params)}
        return http("POST", self.conns["voice"].url(path_and_query), urllib.parse.urlencode(params).encode(), headers,
                    timeout=20)

    def call_params(self, sid, caller=PHONE, status="in-progress", **extra):
        p = [("CallSid", sid), ("AccountSid", self.conf["voice"]["account_sid"]), ("From", caller),
             ("To", OUR_NUMBER), ("CallStatus", status), ("Direction", "inbound"), ("ApiVersion", "2010-04-01")]
        return p + list(extra.items())

    # --- one-key menus ------------------------------------------------------------------------

    def test_one_key_menu_ends_on_the_key(self):
        self.start_stack(engine=True, channels=("voice",))
        self.seed("D1", PHONE, language="en", full_name="James Whitfield", document_last4="8812")
        step = self.sandbox.call(PHONE)
        sid = step["call"]["sid"]
        # The verification prompt takes the document's 4 digits (or 0 for an agent): free-form,
        # it ends with '#' or the pause.
        g = gather_of(step["twiml"])
        self.assertIsNotNone(g, step["twiml"])
        self.assertNotIn("numDigits", g.attrib, step["twiml"])
        step = self.sandbox.input(sid, digits="8812")
        # The menu: "press 1 for your balance, 2 ...": every choice is one key, so the gather
        # ends on it instead of waiting for '#' or the timeout.
        g = gather_of(step["twiml"])
        self.assertIsNotNone(g, step["twiml"])
        self.assertIn("1", "".join(g.itertext()), step["twiml"])
        self.assertEqual(g.attrib.get("numDigits"), "1", step["twiml"])
        # One key press is a whole answer: "1" (balance) is heard at once.
        step = self.sandbox.input(sid, digits="1")
        self.assertIsNotNone(step.get("twiml"), step)
        items = self.wait_items("D1", lambda it: it["dir"] == "in" and it["ch"] == "voice"
                                and it.get("voice", {}).get("digits") == "1", 1, 20, "the menu key")
        self.assertEqual(len(items), 1)
        self.sandbox.hangup(sid)

    # --- the webhook's query ------------------------------------------------------------------

    def test_webhook_query_is_kept_on_later_turns(self):
        self.start_stack(engine=True, channels=("voice",))
        self.seed("D2", PHONE, language="en", document_last4="8812")
        sid = "CAe2equery00000000000000000000000001"
        status, _, body, _ = self.signed("/webhooks/twilio/voice?tenant=a", self.call_params(sid, status="ringing"))
        self.assertEqual(status, 200, body)
        g = gather_of(body.decode())
        self.assertIsNotNone(g, body)
        action = g.attrib["action"]
        parts = urllib.parse.urlsplit(action)
        self.assertEqual(parts.path, "/webhooks/twilio/voice/gather", action)
        q = urllib.parse.parse_qsl(parts.query)
        self.assertEqual(q[0], ("tenant", "a"), action)
        self.assertEqual([k for k, _ in q], ["tenant", "turn"], action)
        # Twilio calls that action URL, as written, and signs it: it verifies, and the next
        # turn keeps tenant=a too (and only one turn token).
        rel = action[len(self.conf["voice"]["public_url"]):] if action.startswith("http") else action
        status, _, body, _ = self.signed(rel, self.call_params(sid, Digits="8812"))
        self.assertEqual(status, 200, body)
        g = gather_of(body.decode())
        self.assertIsNotNone(g, body)
        q2 = urllib.parse.parse_qsl(urllib.parse.urlsplit(g.attrib["action"]).query)
        self.assertEqual([k for k, _ in q2], ["tenant", "turn"], g.attrib["action"])
        self.assertEqual(q2[0], ("tenant", "a"))
        self.assertNotEqual(dict(q)["turn"], dict(q2)["turn"])
        # The call's status callback on the number's URL, with its own query, verifies too.
        status, _, body, _ = self.signed("/webhooks/twilio/voice/status?tenant=a",
                                         self.call_params(sid, status="completed", CallDuration="12"))
        self.assertEqual(status, 200, body)
        self.assertEqual(self.conns["voice"].metrics().value("hilo_connector_webhooks_total", result="bad_signature"),
                         0)
        items = self.wait_items("D2", lambda it: it["dir"] == "in" and it["ch"] == "voice", 3, 20,
                                "call start, gather and call end committed")
        self.assertEqual([it["voice"].get("digits", "") for it in items if it["voice"]["event"] == "gather"], ["8812"])

    def test_public_url_with_a_query_is_refused_at_start(self):
        self.start_stack(engine=False, channels=())
        conf = {"voice": dict(self.conf["voice"])}
        conf["voice"]["public_url"] = "https://hilo.example.com/?tenant=a"
        path = os.path.join(self.workdir, "bad-voice.conf")
        write_conf(path, conf)
        env = {k: v for k, v in os.environ.items() if not k.startswith("HILO_")}
        try:
            p = subprocess.run([connector_bin("voice"), "-c", path], env=env, capture_output=True, text=True,
                               timeout=10)
        except subprocess.TimeoutExpired:
            self.fail("hilo-voice started with a public_url holding a query (every genuine webhook would get 403)")
        self.assertEqual(p.returncode, 2, p.stderr)
        with open(path, encoding="utf-8") as f:
            line = next(i for i, text in enumerate(f, 1) if text.startswith("public_url"))
        self.assertIn("%s:%d: [voice] public_url: must be a base URL without a query" % (path, line), p.stderr)
        # The same section with a base URL starts (the refusal is about the query only).
        conf["voice"]["public_url"] = "https://hilo.example.com/"
        conf["voice"]["http_port"] = "0"
        conf["voice"]["metrics_port"] = "0"
        write_conf(path, conf)
        proc = subprocess.Popen([connector_bin("voice"), "-c", path], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        try:
            for text in proc.stdout:
                if "event=started" in text or proc.poll() is not None:
                    break
            self.assertIsNone(proc.poll(), "hilo-voice exited: %s" % proc.returncode)
        finally:
            proc.terminate()
            proc.wait(10)

    # --- the fallback's languages ---------------------------------------------------------------

    def fallback_says(self, body):
        root, verbs = parse_twiml(body)
        return [(v[1].get("language"), v[2]) for v in verbs if v[0] == "Say"], verbs[-1][0]

    def test_fallback_is_bilingual_by_default(self):
        self.start_stack(engine=True, channels=("voice",))
        # A withheld caller id gets the fallback at once, straight from the connector.
        status, _, body, _ = self.signed("/webhooks/twilio/voice", self.call_params("CAanon1", caller="anonymous",
                                                                                    status="ringing"))
        self.assertEqual(status, 200, body)
        says, last = self.fallback_says(body.decode())
        self.assertEqual([lang for lang, _ in says], ["es-MX", "en-US"], body)
        self.assertTrue(says[0][1].startswith("Lo sentimos"), says)
        self.assertTrue(says[1][1].startswith("We are sorry"), says)
        self.assertEqual(last, "Enqueue", body)  # deploy/hilo.conf's fallback_queue
        # A new call while the router hangs: no language known yet, both again.
        self.seed("D3", PHONE, language="en")
        self.router_.freeze()
        try:
            status, _, body, _ = self.signed("/webhooks/twilio/voice",
                                             self.call_params("CAe2ebilingual000000000000000000001", status="ringing"))
        finally:
            self.router_.thaw()
        self.assertEqual(status, 200, body)
        says, _ = self.fallback_says(body.decode())
        self.assertEqual([lang for lang, _ in says], ["es-MX", "en-US"], body)

    def test_fallback_per_number(self):
        self.start_stack(engine=True, channels=("voice",), connector_overrides={"voice": {
            "fallback_by_number": "%s=en; +525512345678=es" % OUR_NUMBER}})
        status, _, body, _ = self.signed("/webhooks/twilio/voice", self.call_params("CAanon2", caller="anonymous",
                                                                                    status="ringing"))
        self.assertEqual(status, 200, body)
        says, _ = self.fallback_says(body.decode())
        self.assertEqual(len(says), 1, body)
        self.assertTrue(says[0][1].startswith("We are sorry"), says)
        self.assertNotIn("Lo sentimos", body.decode())
        # A bad entry is a config error naming the key.
        conf = {"voice": dict(self.conf["voice"])}
        conf["voice"]["fallback_by_number"] = "15005550006 en"
        path = os.path.join(self.workdir, "bad-fallback.conf")
        write_conf(path, conf)
        env = {k: v for k, v in os.environ.items() if not k.startswith("HILO_")}
        p = subprocess.run([connector_bin("voice"), "-c", path], env=env, capture_output=True, text=True, timeout=20)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("[voice] fallback_by_number: want '+E164=lang", p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
