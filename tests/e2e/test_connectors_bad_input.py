"""Bad signatures and repeated webhooks through the real connectors (acceptance 4).

- A webhook whose signature does not match (wrong key, altered body, altered URL, an added
  parameter, no header) is rejected by the connector (WhatsApp 401, Twilio 403) and the router
  sees nothing: no envelope, no thread item. The same request correctly signed (by this test's
  own signer, written from the providers' documentation) is accepted: a positive control.
- The same webhook delivered twice (the providers' at-least-once) is answered 200 both times and
  stored once.
- A webhook the router refuses for good is kept in the connector's dead-letter file and answered
  200; when that file cannot take it, 500 (the provider retries).

Real redis-server, hilo-router, hilo-whatsapp, hilo-sms, hilo-voice and the provider sandbox."""

import base64
import json
import os
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from connectors_stack import (ConnectorStackCase, dead_letter_path, http, meta_signature,  # noqa: E402
                              parse_twiml, read_dead_letters, twilio_signature)
import hilo_link_pb2 as link_pb2  # noqa: E402

PHONE = "+16505551234"
TIMEOUT = 15


def wa_body(wamid, text, phone=PHONE, phone_number_id="106540352242922"):
    """A WhatsApp Cloud API text webhook, shaped like wa_inbound_text.json."""
    return json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": phone_number_id},
            "contacts": [{"profile": {"name": "Test"}, "wa_id": phone.lstrip("+")}],
            "messages": [{"from": phone.lstrip("+"), "id": wamid, "timestamp": str(int(time.time())),
                          "type": "text", "text": {"body": text}}]}}]}]},
                      separators=(",", ":")).encode()


def sms_params(sid, text, phone=PHONE):
    return [("MessageSid", sid), ("SmsSid", sid), ("AccountSid", "AC00000000000000000000000000000000"),
            ("From", phone), ("To", "+15005550006"), ("Body", text), ("NumMedia", "0"),
            ("ApiVersion", "2010-04-01")]


class ConnectorBadInput(ConnectorStackCase):

    def post_wa(self, body, signature):
        headers = {"Content-Type": "application/json"}
        if signature is not None:
            headers["X-Hub-Signature-256"] = signature
        return http("POST", self.conns["whatsapp"].url("/webhooks/whatsapp"), body, headers)

    def post_twilio(self, ch, path, params, signature, body=None):
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if signature is not None:
            headers["X-Twilio-Signature"] = signature
        if body is None:
            body = urllib.parse.urlencode(params).encode()
        return http("POST", self.conns[ch].url(path), body, headers)

    def envelopes_seen(self):
        return self.router_.metrics().value("hilo_envelopes_total")

    def assert_router_saw_nothing(self, debtor_id):
        self.assertEqual(self.envelopes_seen(), 0)
        self.assertEqual(self.thread(debtor_id), [])

    def test_bad_signatures_are_rejected_and_the_router_sees_nothing(self):
        self.start_stack(engine=False)
        self.seed("D1", PHONE)
        secret = self.conf["whatsapp"]["app_secret"]
        token = self.conf["sms"]["auth_token"]

        # --- WhatsApp: X-Hub-Signature-256 over the raw body ---
        body = wa_body("wamid.bad1", "hola")
        cases = [
            ("wrong key", body, meta_signature("not-the-secret", body)),
            ("altered body", body.replace(b"hola", b"HOLA"), meta_signature(secret, body)),
            ("one byte appended", body + b" ", meta_signature(secret, body)),
            ("no header", body, None),
            ("malformed header", body, "sha1=" + meta_signature(secret, body)[7:]),
        ]
        for name, b, sig in cases:
            status, _, resp, _ = self.post_wa(b, sig)
            self.assertEqual(status, 401, "%s: %s %s" % (name, status, resp))

        # --- Twilio SMS: X-Twilio-Signature over public URL + sorted params ---
        url = self.conf["sms"]["public_url"] + "/webhooks/twilio/sms"
        params = sms_params("SMbad1", "hola")
        cases = [
            ("wrong token", params, twilio_signature("not-the-token", url, params)),
            ("altered URL", params, twilio_signature(token, url + "?x=1", params)),
            ("other host", params, twilio_signature(token, url.replace("127.0.0.1", "localhost"), params)),
            ("altered parameter", [(k, "adios" if k == "Body" else v) for k, v in params],
             twilio_signature(token, url, params)),
            ("added parameter", params + [("Extra", "1")], twilio_signature(token, url, params)),
            ("no header", params, None),
        ]
        for name, p, sig in cases:
            status, _, resp, _ = self.post_twilio("sms", "/webhooks/twilio/sms", p, sig)
            self.assertEqual(status, 403, "%s: %s %s" % (name, status, resp))

        # --- Twilio voice: a forged call start is refused too (403, not TwiML) ---
        vurl = self.conf["voice"]["public_url"] + "/webhooks/twilio/voice"
        vparams = [("CallSid", "CAbad1"), ("AccountSid", "AC00000000000000000000000000000000"),
                   ("From", PHONE), ("To", "+15005550006"), ("CallStatus", "ringing"), ("Direction", "inbound")]
        status, _, resp, _ = self.post_twilio("voice", "/webhooks/twilio/voice", vparams,
                                              twilio_signature("not-the-token", vurl, vparams))
        self.assertEqual(status, 403, resp)

        # Nothing reached the router; the connectors counted the rejections (without the header
        # at all: "unsigned", refused before the body was read).
        time.sleep(0.3)
        self.assert_router_saw_nothing("D1")
        for ch, bad in (("whatsapp", 4), ("sms", 5)):
            m = self.conns[ch].metrics()
            self.assertEqual(m.value("hilo_connector_webhooks_total", result="bad_signature"), bad, ch)
            self.assertEqual(m.value("hilo_connector_webhooks_total", result="unsigned"), 1, ch)
        self.assertEqual(self.conns["whatsapp"].metrics().value("hilo_connector_envelopes_submitted_total"), 0)

        # Positive controls: the same requests, correctly signed, are accepted and stored.
        status, _, resp, _ = self.post_wa(body, meta_signature(secret, body))
        self.assertEqual(status, 200, resp)
        status, _, resp, _ = self.post_twilio("sms", "/webhooks/twilio/sms", params,
                                              twilio_signature(token, url, params))
        self.assertEqual(status, 200, resp)
        items = self.wait_items("D1", lambda it: it["dir"] == "in", 2, TIMEOUT, "the two signed webhooks")
        self.assertEqual(sorted(it["pmid"] for it in items), ["SMbad1", "wamid.bad1"])
        self.assertEqual(self.envelopes_seen(), 2)

    def test_same_webhook_twice_is_stored_once(self):
        self.start_stack(engine=False)
        self.seed("D2", PHONE)
        # WhatsApp: the sandbox delivers the identical signed bytes a second time.
        r = self.sandbox.send("whatsapp", PHONE, "hola", duplicate=True)
        self.assertEqual(r["status"], 200, r)
        self.assertEqual(r["duplicate"]["status"], 200, r)
        # SMS: the recorded webhook is replayed later, byte for byte.
        s = self.sandbox.send("sms", PHONE, "otra vez")
        self.assertEqual(s["status"], 200, s)
        rep = self.sandbox.ok("POST", "/_sandbox/replay", {"event": s["event_id"]})
        self.assertEqual(rep["status"], 200, rep)
        rep = self.sandbox.ok("POST", "/_sandbox/replay", {"event": s["event_id"]})
        self.assertEqual(rep["status"], 200, rep)

        items = [it for it in self.thread("D2") if it["dir"] == "in"]
        self.assertEqual(sorted((it["ch"], it["pmid"]) for it in items),
                         sorted([("whatsapp", r["message_id"]), ("sms", s["message_id"])]), json.dumps(items))
        m = self.router_.metrics()
        self.assertEqual(m.value("hilo_dedupes_total", channel="whatsapp"), 1)
        self.assertEqual(m.value("hilo_dedupes_total", channel="sms"), 2)
        self.assertEqual(m.value("hilo_messages_in_total"), 2)

    def test_repeated_voice_turn_is_stored_once_and_still_answered(self):
        # Twilio repeats a voice request it got no timely answer to: the repeat must be stored
        # once and still get TwiML (a live caller waits on it).
        self.start_stack(engine=True)
        self.seed("D3", PHONE, language="en")
        step = self.sandbox.call(PHONE)
        self.assertEqual(step["call"]["state"], "gathering", step)
        rep = self.sandbox.ok("POST", "/_sandbox/replay", {"event": step["event_id"]})
        self.assertEqual(rep["status"], 200, rep)
        root, verbs = parse_twiml(rep["body"])
        self.assertTrue(verbs, rep["body"])
        starts = [it for it in self.thread("D3") if it["dir"] == "in"]
        self.assertEqual([it["voice"]["event"] for it in starts], ["call_start"], json.dumps(starts))
        self.assertEqual(self.router_.metrics().value("hilo_dedupes_total", channel="voice"), 1)

    def test_webhook_refused_for_good_is_kept_in_the_dead_letter_file_and_answered_200(self):
        # A webhook the router will never accept (its sender is no phone number: Nack INVALID)
        # would be retried by the provider for days and refused every time. The connector
        # keeps it in its dead-letter file, synced, and only then answers 200.
        self.start_stack(engine=False)
        self.seed("D4", PHONE)
        secret = self.conf["whatsapp"]["app_secret"]
        token = self.conf["sms"]["auth_token"]
        url = self.conf["sms"]["public_url"] + "/webhooks/twilio/sms"

        body = wa_body("wamid.dead1", "hola", phone="12345")
        status, _, resp, _ = self.post_wa(body, meta_signature(secret, body))
        self.assertEqual(status, 200, resp)
        params = sms_params("SMdead1", "hola", phone="anonymous")
        status, _, resp, _ = self.post_twilio("sms", "/webhooks/twilio/sms", params,
                                              twilio_signature(token, url, params))
        self.assertEqual(status, 200, resp)
        self.assertIn("<Response", resp.decode() if isinstance(resp, bytes) else resp)

        for ch, pmid, sender in (("whatsapp", "wamid.dead1", "12345"), ("sms", "SMdead1", "anonymous")):
            recs = read_dead_letters(self.workdir, ch)
            self.assertEqual(len(recs), 1, recs)
            rec = recs[0]
            self.assertEqual((rec["channel"], rec["code"], rec["provider_message_id"], rec["from"], rec["kind"]),
                             (ch, "INVALID", pmid, sender, "text"), rec)
            self.assertEqual(rec["connector"], "%s-e2e" % ch)
            self.assertTrue(rec["reason"], rec)
            env = link_pb2.Envelope()
            env.ParseFromString(base64.b64decode(rec["envelope"]))  # the whole envelope, as sent
            self.assertEqual((env.provider_message_id, env.text, env.seq), (pmid, "hola", rec["seq"]))
            m = self.conns[ch].metrics()
            self.assertEqual(m.value("hilo_connector_dead_letters_total"), 1)
            self.assertEqual(m.value("hilo_connector_dead_letter_failures_total"), 0)
            self.assertEqual(m.value("hilo_connector_webhooks_total", result="dead_letter", status="200"), 1)
        # The router stored nothing of them, and refused each once.
        self.assertEqual(self.router_.metrics().value("hilo_nacks_total", code="INVALID"), 2)
        self.assertEqual(self.router_.metrics().value("hilo_messages_in_total"), 0)
        self.assertEqual(self.thread("D4"), [])

        # The file gone unwritable meanwhile (a directory in its place): 500, nothing lost —
        # the provider keeps the webhook and retries.
        path = dead_letter_path(self.workdir, "whatsapp")
        os.rename(path, path + ".1")  # rotated by an operator
        os.mkdir(path)
        body = wa_body("wamid.dead2", "hola", phone="12345")
        status, _, resp, _ = self.post_wa(body, meta_signature(secret, body))
        self.assertEqual(status, 500, resp)
        self.assertEqual(self.conns["whatsapp"].metrics().value("hilo_connector_dead_letter_failures_total"), 1)
        os.rmdir(path)
        # Writable again: the provider's retry is kept in a new file (the rotated one untouched).
        status, _, resp, _ = self.post_wa(body, meta_signature(secret, body))
        self.assertEqual(status, 200, resp)
        self.assertEqual([r["provider_message_id"] for r in read_dead_letters(self.workdir, "whatsapp")],
                         ["wamid.dead2"])
        with open(path + ".1") as f:
            self.assertEqual(len(f.readlines()), 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
