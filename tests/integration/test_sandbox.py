#!/usr/bin/python3
"""test_sandbox — checks the provider sandbox (connectors/sandbox/sandbox.py) on its own.

The sandbox is started as a real process on a free loopback port; a small HTTP server in this
test plays the three connectors' webhook endpoints and records what arrives. The signatures
the sandbox puts on webhooks are verified here with this file's own implementation of the two
algorithms, itself checked against the providers' published vectors (the fixture files). Then:
the Graph API and Twilio REST fakes answer, record and refuse bad credentials; failure
injection; status webhooks follow a send, signed; debtor messages become provider-shaped
webhooks; each twiml_voice_*.xml fixture is run as a call.

Runs under Debian's /usr/bin/python3 with the standard library only. Bounded: every wait has a
timeout, and the sandbox process is stopped (then killed if needed) in tearDownClass.
"""

import base64
import hashlib
import hmac
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SOURCE_DIR = os.environ.get("HILO_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SANDBOX = os.path.join(SOURCE_DIR, "connectors", "sandbox", "sandbox.py")
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable


def fixtures_dir():
    candidates = [os.environ.get("HILO_PROVIDER_FIXTURES"),
                  os.path.join(SOURCE_DIR, "connectors", "providers", "test", "fixtures"),
                  os.path.join(SOURCE_DIR, "..", "shared", "fixtures", "providers")]
    for d in candidates:
        if d and os.path.exists(os.path.join(d, "twiml_voice_ivr_gather.xml")):
            return d
    raise RuntimeError("provider fixtures not found in %s" % [c for c in candidates if c])


FIXTURES = fixtures_dir()


def fixture(name, mode="r"):
    with open(os.path.join(FIXTURES, name), mode) as f:
        return f.read()


APP_SECRET = "TEST_APP_SECRET"
FILE_TOKEN = "token-in-the-file"
ENV_TOKEN = "token-from-the-environment"
PNID = "106540352242922"
SMS_SID = "AC" + "1" * 32
SMS_TOKEN = "sms-auth-token"
VOICE_SID = "AC" + "2" * 32
VOICE_TOKEN = "voice-auth-token"
PUBLIC_SMS = "https://hilo.example.com"
DEBTOR = "+16505551234"


# ---- this test's own signature checks (the algorithms as the providers document them) ------------

def meta_sig(secret, raw):
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def twilio_sig(token, url, pairs):
    data = url + "".join(k + v for k, v in sorted(pairs))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def twilio_vectors():
    """Parses twilio_x_twilio_signature_vectors.txt: T1 gives token, url and params to the
    blocks that only change one of them."""
    text = fixture("twilio_x_twilio_signature_vectors.txt")
    blocks = re.split(r"\n\[(T\d)[^\]]*\]\n", text)[1:]
    out, base = [], {}
    for name, body in zip(blocks[::2], blocks[1::2]):
        fields = {}
        for line in body.splitlines():
            m = re.match(r"(auth_token|url signed|url|params \(as received\)|params|expected): (.*)$", line)
            if m:
                fields[m.group(1).split(" ")[0] if m.group(1).startswith("params") else m.group(1)] = m.group(2)
        token = fields.get("auth_token", base.get("token"))
        url = fields.get("url signed", fields.get("url", base.get("url")))
        if "params" in fields:
            raw = fields["params"]
            params = [] if raw.startswith("(none)") else [tuple(p.split("=", 1)) for p in raw.split(", ")]
        else:
            params = base["params"]
        if name == "T1":
            base = {"token": token, "url": url, "params": params}
        out.append((name, token, url, params, fields["expected"]))
    return out


# ---- the fake connectors ----------------------------------------------------------------------------

class FakeConnectors:
    """One HTTP server for all three connectors' webhook paths. Records every request; answers
    what the test set for the path (default 200, empty)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests = []
        self.answers = {}
        fake = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self):
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n) if n else b""
                u = urllib.parse.urlsplit(self.path)
                req = {"method": self.command, "path": u.path, "query": u.query, "uri": self.path,
                       "headers": {k: v for k, v in self.headers.items()}, "raw": raw}
                with fake.lock:
                    fake.requests.append(req)
                    answer = fake.answers.get(u.path, (200, "text/plain", ""))
                if callable(answer):
                    answer = answer(req)
                status, ctype, body = answer
                body = body.encode() if isinstance(body, str) else body
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _handle

            def log_message(self, *a):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base = "http://127.0.0.1:%d" % self.port
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()

    def clear(self):
        with self.lock:
            self.requests = []
            self.answers = {}

    def answer(self, path, status=200, ctype="text/plain", body=""):
        with self.lock:
            self.answers[path] = (status, ctype, body) if not callable(status) else status

    def got(self, path=None):
        with self.lock:
            return [r for r in self.requests if path is None or r["path"] == path]

    def wait(self, path, n, timeout=5.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            got = self.got(path)
            if len(got) >= n:
                return got
            time.sleep(0.02)
        raise AssertionError("expected %d requests on %s within %.1fs, got %d" % (n, path, timeout, len(self.got(path))))

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def form(raw):
    return urllib.parse.parse_qsl(raw.decode(), keep_blank_values=True)


def same_shape(test, got, want, path="$"):
    """Every key of the fixture is present in what the sandbox built, with the same JSON type."""
    if isinstance(want, dict):
        test.assertIsInstance(got, dict, path)
        for k in want:
            test.assertIn(k, got, "%s.%s missing" % (path, k))
            same_shape(test, got[k], want[k], "%s.%s" % (path, k))
    elif isinstance(want, list):
        test.assertIsInstance(got, list, path)
        test.assertEqual(len(got), len(want), path)
        for i, (g, w) in enumerate(zip(got, want)):
            same_shape(test, g, w, "%s[%d]" % (path, i))
    else:
        test.assertEqual(type(got), type(want), path)


class SandboxTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fake = FakeConnectors()
        cls.tmp = tempfile.mkdtemp(prefix="hilo-sandbox-test-")
        conf = os.path.join(cls.tmp, "hilo.conf")
        with open(conf, "w") as f:
            f.write("# the connectors' sections, as the sandbox reads them\n"
                    "[redis]\nhost = 127.0.0.1\n\n"
                    "[whatsapp]\napp_secret = %s\naccess_token = %s\nverify_token = \"verify-me\"\n"
                    "phone_number_id = %s\napi_version = v26.0\nsome_connector_key = ignored\n\n"
                    "[sms]\naccount_sid = %s\nauth_token = %s\nfrom = +15550001111\npublic_url = %s\n\n"
                    "[voice]\naccount_sid = %s\nauth_token = %s\nfrom = +15550002222\n"
                    % (APP_SECRET, FILE_TOKEN, PNID, SMS_SID, SMS_TOKEN, PUBLIC_SMS, VOICE_SID, VOICE_TOKEN))
        env = {k: v for k, v in os.environ.items() if not k.startswith("HILO_")}
        env["HILO_WHATSAPP_ACCESS_TOKEN"] = ENV_TOKEN  # the env beats the file, as in config.c
        b = cls.fake.base
        cls.proc = subprocess.Popen(
            [PYTHON, SANDBOX, "--port", "0", "--config", conf, "--quiet", "--status-delay-ms", "20-50",
             "--webhook-retries", "2", "--webhook-timeout", "5",
             "--whatsapp-webhook", b + "/webhooks/whatsapp", "--sms-webhook", b + "/webhooks/twilio/sms",
             "--voice-webhook", b + "/webhooks/twilio/voice",
             "--voice-status-webhook", b + "/webhooks/twilio/voice/status"],
            stdout=subprocess.PIPE, env=env, start_new_session=True)
        ready, _, _ = select.select([cls.proc.stdout], [], [], 15)
        line = cls.proc.stdout.readline().decode() if ready else ""
        m = re.search(r"listening on (http://127\.0\.0\.1:\d+)/", line)
        if not m:
            cls.tearDownClass()
            raise RuntimeError("sandbox did not start: %r" % line)
        cls.base = m.group(1)

    @classmethod
    def tearDownClass(cls):
        if cls.proc.poll() is None:
            cls.proc.send_signal(signal.SIGTERM)
            try:
                cls.proc.wait(5)
            except subprocess.TimeoutExpired:
                cls.proc.kill()
                cls.proc.wait(5)
        cls.proc.stdout.close()
        cls.fake.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.assertIsNone(self.proc.poll(), "the sandbox process died")
        self.api("POST", "/_sandbox/reset")
        self.fake.clear()

    # ---- helpers ----
    def http(self, method, path, body=None, headers=None):
        req = urllib.request.Request(self.base + path, data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=20) as r:
                return r.status, r.read(), r.headers
        except urllib.error.HTTPError as e:
            return e.code, e.read(), e.headers

    def api(self, method, path, obj=None, want=200):
        body = json.dumps(obj).encode() if obj is not None else (b"{}" if method == "POST" else None)
        status, raw, _ = self.http(method, path, body, {"Content-Type": "application/json"})
        self.assertEqual(status, want, raw)
        return json.loads(raw)

    def wait_api(self, path, n, timeout=5.0):
        deadline = time.time() + timeout
        while True:
            got = self.api("GET", path)
            if len(got) >= n or time.time() > deadline:
                return got
            time.sleep(0.02)

    def graph(self, msg, token=ENV_TOKEN, pnid=PNID, raw=None):
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["Authorization"] = "Bearer " + token
        body = raw if raw is not None else json.dumps(msg).encode()
        status, out, _ = self.http("POST", "/v26.0/%s/messages" % pnid, body, headers)
        return status, json.loads(out)

    def twilio(self, params, sid=SMS_SID, token=SMS_TOKEN, path_sid=None):
        auth = base64.b64encode(("%s:%s" % (sid, token)).encode()).decode()
        status, out, _ = self.http("POST", "/2010-04-01/Accounts/%s/Messages.json" % (path_sid or sid),
                                   urllib.parse.urlencode(params).encode(),
                                   {"Authorization": "Basic " + auth,
                                    "Content-Type": "application/x-www-form-urlencoded"})
        return status, json.loads(out)

    def assert_meta_signed(self, req):
        self.assertEqual(req["headers"].get("X-Hub-Signature-256"), meta_sig(APP_SECRET, req["raw"]))

    def assert_twilio_signed(self, req, token, signed_url):
        pairs = form(req["raw"]) if req["method"] == "POST" else []
        self.assertEqual(req["headers"].get("X-Twilio-Signature"), twilio_sig(token, signed_url, pairs),
                         "signature over %s" % signed_url)

    # ---- signatures ------------------------------------------------------------------------------

    def test_signature_algorithms_match_the_published_vectors(self):
        vec = fixture("meta_x_hub_signature_256_vectors.txt")
        secret = re.search(r"^app_secret: (\S+)$", vec, re.M).group(1)
        body = re.search(r"^body \(4 bytes, no newline\): (\S+)$", vec, re.M).group(1).encode()
        hexd = re.search(r"^hex_digest: ([0-9a-f]{64})$", vec, re.M).group(1)
        self.assertEqual((secret, body), (APP_SECRET, b"test"))
        self.assertEqual(meta_sig(secret, body), "sha256=" + hexd)
        vectors = twilio_vectors()
        self.assertEqual(len(vectors), 7)
        for name, token, url, params, expected in vectors:
            self.assertEqual(twilio_sig(token, url, params), expected, name)
        # and the sandbox's own module agrees on every vector
        sys.path.insert(0, os.path.dirname(SANDBOX))
        sys.dont_write_bytecode = True  # no __pycache__ in the source tree
        try:
            import signing
        finally:
            sys.path.pop(0)
        self.assertEqual(signing.meta_signature_256(secret, body), "sha256=" + hexd)
        for name, token, url, params, expected in vectors:
            self.assertEqual(signing.twilio_signature(token, url, params), expected, name)

    # ---- WhatsApp Graph API ------------------------------------------------------------------------

    def test_graph_send_answers_records_and_follows_with_signed_statuses(self):
        msg = json.loads(fixture("wa_send_text_request_body.json"))
        status, out = self.graph(msg)
        self.assertEqual(status, 200, out)
        same_shape(self, out, json.loads(fixture("wa_send_response_example.json")))
        self.assertEqual(out["contacts"], [{"input": "+16505551234", "wa_id": "16505551234"}])
        wamid = out["messages"][0]["id"]
        self.assertTrue(wamid.startswith("wamid."), wamid)

        calls = self.api("GET", "/_sandbox/calls?api=whatsapp&to=%2B16505551234")
        self.assertEqual(len(calls), 1)
        self.assertEqual(calls[0]["path"], "/v26.0/%s/messages" % PNID)
        self.assertEqual(calls[0]["body"], msg)
        self.assertEqual(calls[0]["headers"]["Authorization"], "Bearer " + ENV_TOKEN)
        self.assertEqual(calls[0]["response"]["status"], 200)
        self.assertEqual(self.api("GET", "/_sandbox/calls?api=twilio"), [])

        got = self.fake.wait("/webhooks/whatsapp", 3)
        sent = json.loads(fixture("wa_status_sent.json"))
        seen = []
        for req in got:
            self.assert_meta_signed(req)
            self.assertEqual(req["headers"]["Content-Type"], "application/json")
            payload = json.loads(req["raw"])
            st = payload["entry"][0]["changes"][0]["value"]["statuses"][0]
            if st["status"] == "sent":
                same_shape(self, payload, sent)
            self.assertEqual(st["id"], wamid)
            self.assertEqual(st["recipient_id"], "16505551234")
            self.assertEqual(payload["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"], PNID)
            seen.append(st["status"])
        self.assertEqual(seen, ["sent", "delivered", "read"])

        # the sandbox records an event once the connector's answer is in: wait for the third
        events = self.wait_api("/_sandbox/events?channel=whatsapp&kind=whatsapp.status", 3)
        self.assertEqual([json.loads(e["body"])["entry"][0]["changes"][0]["value"]["statuses"][0]["status"]
                          for e in events], ["sent", "delivered", "read"])
        self.assertTrue(all(e["response"]["status"] == 200 for e in events))
        phone = self.api("GET", "/_sandbox/phone/%2B16505551234")
        self.assertEqual(phone["items"][-1]["status"], "read")
        self.assertEqual(phone["items"][-1]["pmid"], wamid)

    def test_graph_refuses_bad_credentials_and_bodies(self):
        msg = json.loads(fixture("wa_send_text_request_body.json"))
        status, out = self.graph(msg, token=FILE_TOKEN)  # the environment overrides the file
        self.assertEqual(status, 401)
        self.assertEqual(out["error"]["code"], 190)
        self.assertEqual(out["error"]["type"], "OAuthException")
        self.assertEqual(self.graph(msg, token=None)[0], 401)
        status, out = self.graph(msg, pnid="999")
        self.assertEqual((status, out["error"]["code"]), (400, 100))
        self.assertEqual(self.graph(None, raw=b"{not json")[0], 400)
        too_long = dict(msg, text={"body": "x" * 4097})
        self.assertEqual(self.graph(too_long)[0], 400)
        self.assertEqual(self.graph({"messaging_product": "whatsapp", "type": "text", "text": {"body": "x"}})[0], 400)
        calls = self.api("GET", "/_sandbox/calls?api=whatsapp")
        self.assertEqual([c["response"]["status"] for c in calls], [401, 401, 400, 400, 400, 400])
        time.sleep(0.2)
        self.assertEqual(self.fake.got("/webhooks/whatsapp"), [], "no status webhooks for refused sends")

    # ---- Twilio REST ---------------------------------------------------------------------------------

    def test_twilio_send_answers_records_and_calls_back_signed(self):
        cb = self.fake.base + "/webhooks/twilio/sms/status?o=42"
        status, out = self.twilio({"To": DEBTOR, "From": "+15550001111", "Body": "Hola, ¿cómo está?",
                                   "StatusCallback": cb})
        self.assertEqual(status, 201, out)
        self.assertRegex(out["sid"], r"^SM[0-9a-f]{32}$")
        self.assertEqual((out["status"], out["to"], out["from"], out["body"]),
                         ("queued", DEBTOR, "+15550001111", "Hola, ¿cómo está?"))
        self.assertEqual(out["account_sid"], SMS_SID)
        calls = self.api("GET", "/_sandbox/calls?api=twilio&to=" + urllib.parse.quote(DEBTOR))
        self.assertEqual(len(calls), 1)
        self.assertEqual(calls[0]["body"]["Body"], "Hola, ¿cómo está?")

        got = self.fake.wait("/webhooks/twilio/sms/status", 2)
        statuses = []
        for req in got:
            self.assertEqual(req["query"], "o=42")
            # StatusCallback is a URL the connector gave: Twilio signs it exactly as given.
            self.assert_twilio_signed(req, SMS_TOKEN, cb)
            p = dict(form(req["raw"]))
            self.assertEqual((p["MessageSid"], p["AccountSid"], p["To"]), (out["sid"], SMS_SID, DEBTOR))
            statuses.append(p["MessageStatus"])
        self.assertEqual(statuses, ["sent", "delivered"])
        auth = base64.b64encode(("%s:%s" % (SMS_SID, SMS_TOKEN)).encode()).decode()
        status, raw, _ = self.http("GET", "/2010-04-01/Accounts/%s/Messages/%s.json" % (SMS_SID, out["sid"]),
                                   headers={"Authorization": "Basic " + auth})
        self.assertEqual((status, json.loads(raw)["status"]), (200, "delivered"))

    def test_twilio_refuses_bad_credentials_and_params(self):
        ok = {"To": DEBTOR, "From": "+15550001111", "Body": "hi"}
        status, out = self.twilio(ok, token="wrong")
        self.assertEqual((status, out["code"], out["status"]), (401, 20003, 401))
        self.assertEqual(self.twilio(ok, path_sid="AC" + "9" * 32)[0], 401)
        # the voice section's credentials are valid too (one Twilio account per section)
        self.assertEqual(self.twilio(ok, sid=VOICE_SID, token=VOICE_TOKEN)[0], 201)
        status, out = self.twilio({"From": "+15550001111", "Body": "hi"})
        self.assertEqual((status, out["code"]), (400, 21604))
        status, out = self.twilio(dict(ok, Body="x" * 1601))
        self.assertEqual((status, out["code"]), (400, 21617))
        status, out = self.twilio({"To": DEBTOR, "From": "+15550001111"})
        self.assertEqual((status, out["code"]), (400, 21602))

    # ---- failure injection ---------------------------------------------------------------------------

    def test_failure_injection_by_count_seconds_and_delivery(self):
        msg = json.loads(fixture("wa_send_text_request_body.json"))
        self.api("POST", "/_sandbox/fail", {"api": "whatsapp", "status": 500, "count": 2})
        self.assertEqual(len(self.api("GET", "/_sandbox/fail")), 1)
        s1, o1 = self.graph(msg)
        s2, _ = self.graph(msg)
        s3, _ = self.graph(msg)
        self.assertEqual((s1, s2, s3), (500, 500, 200))
        self.assertIn("code", o1["error"])
        self.assertEqual(self.api("GET", "/_sandbox/fail"), [])

        self.api("POST", "/_sandbox/fail", {"api": "twilio", "status": 429, "seconds": 0.6})
        status, out = self.twilio({"To": DEBTOR, "From": "+15550001111", "Body": "a"})
        self.assertEqual((status, out["code"]), (429, 20429))
        self.assertEqual(self.twilio({"To": DEBTOR, "From": "+15550001111", "Body": "b"})[0], 429)
        self.assertEqual(self.graph(msg)[0], 200, "a twilio rule leaves whatsapp alone")
        time.sleep(0.7)
        self.assertEqual(self.twilio({"To": DEBTOR, "From": "+15550001111", "Body": "c"})[0], 201)

        self.api("POST", "/_sandbox/reset")
        self.fake.clear()
        self.api("POST", "/_sandbox/fail", {"api": "whatsapp", "deliver": "failed"})
        status, out = self.graph(msg)
        self.assertEqual(status, 200)
        req = self.fake.wait("/webhooks/whatsapp", 1)[0]
        self.assert_meta_signed(req)
        payload = json.loads(req["raw"])
        same_shape(self, payload, json.loads(fixture("wa_status_failed.json")))
        st = payload["entry"][0]["changes"][0]["value"]["statuses"][0]
        self.assertEqual((st["status"], st["id"]), ("failed", out["messages"][0]["id"]))
        time.sleep(0.2)
        self.assertEqual(len(self.fake.got("/webhooks/whatsapp")), 1, "nothing follows 'failed'")

        self.api("POST", "/_sandbox/fail", {"api": "whatsapp", "status": 503, "count": 5})
        self.api("POST", "/_sandbox/reset")
        self.assertEqual(self.graph(msg)[0], 200, "reset drops the rules")
        self.api("POST", "/_sandbox/fail", {"api": "sms", "status": 500}, want=400)
        self.api("POST", "/_sandbox/fail", {"api": "whatsapp", "status": 500, "count": 1, "seconds": 1}, want=400)

    def test_failure_injection_for_one_number_and_the_nth_call(self):
        # The second Messages.json call for DEBTOR (part 2 of a long SMS) accepted, then undelivered;
        # another number's calls, and DEBTOR's first and third, delivered.
        other = "+16505550000"
        self.api("POST", "/_sandbox/fail", {"api": "twilio", "deliver": "failed", "to": "+1 (650) 555-1234",
                                            "skip": 1, "code": 30005, "message": "Unknown destination handset"})
        rules = self.api("GET", "/_sandbox/fail")
        self.assertEqual([(r["to"], r["skip_left"], r["count_left"]) for r in rules], [(DEBTOR, 1, 1)])
        cb = self.fake.base + "/webhooks/twilio/sms/status"
        sids = []
        for to, body in ((other, "x"), (DEBTOR, "part 1"), (DEBTOR, "part 2"), (DEBTOR, "part 3")):
            status, out = self.twilio({"To": to, "From": "+15550001111", "Body": body,
                                       "StatusCallback": cb + "?n=" + urllib.parse.quote(body)})
            self.assertEqual(status, 201, out)
            sids.append(out["sid"])
        got = self.fake.wait("/webhooks/twilio/sms/status", 8)
        final = {}
        for req in got:
            p = dict(form(req["raw"]))
            if p["MessageStatus"] != "sent":
                final[p["MessageSid"]] = (p["MessageStatus"], p.get("ErrorCode"))
        self.assertEqual([final.get(sid) for sid in sids],
                         [("delivered", None), ("delivered", None), ("undelivered", "30005"), ("delivered", None)])
        self.assertEqual(self.api("GET", "/_sandbox/fail"), [], "used once")
        # An answer rule skips too: the 2nd call is refused, the others accepted.
        self.api("POST", "/_sandbox/fail", {"api": "twilio", "status": 500, "to": DEBTOR, "skip": 1})
        statuses = [self.twilio({"To": DEBTOR, "From": "+15550001111", "Body": str(i)})[0] for i in range(3)]
        self.assertEqual(statuses, [201, 500, 201])
        self.api("POST", "/_sandbox/fail", {"api": "twilio", "status": 500, "skip": -1}, want=400)
        self.api("POST", "/_sandbox/fail", {"api": "twilio", "status": 500, "to": "nobody"}, want=400)

    def test_status_webhooks_are_retried_until_accepted(self):
        answers = iter([503, 500, 200, 200, 200])
        self.fake.answer("/webhooks/whatsapp", lambda req: (next(answers, 200), "text/plain", ""))
        status, out = self.graph(json.loads(fixture("wa_send_text_request_body.json")))
        self.assertEqual(status, 200)
        got = self.fake.wait("/webhooks/whatsapp", 5, timeout=8)
        kinds = [json.loads(r["raw"])["entry"][0]["changes"][0]["value"]["statuses"][0]["status"] for r in got]
        self.assertEqual(kinds[:5], ["sent", "sent", "sent", "delivered", "read"])
        self.assertEqual(got[0]["raw"], got[2]["raw"], "a retry sends the same bytes")

    # ---- the debtor's phone: inbound ------------------------------------------------------------------

    def test_debtor_whatsapp_text_and_button(self):
        self.fake.answer("/webhooks/whatsapp", 200, "text/plain", "EVENT_RECEIVED")
        out = self.api("POST", "/_sandbox/send", {"channel": "whatsapp", "from": DEBTOR, "text": "¿Cuánto debo? ñ"})
        self.assertEqual((out["status"], out["body"]), (200, "EVENT_RECEIVED"))
        req = self.fake.got("/webhooks/whatsapp")[0]
        self.assert_meta_signed(req)
        self.assertIn(b"\\u00f1", req["raw"], "non-ASCII is escaped, as Meta sends it")
        payload = json.loads(req["raw"])
        same_shape(self, payload, json.loads(fixture("wa_inbound_text.json")))
        value = payload["entry"][0]["changes"][0]["value"]
        m = value["messages"][0]
        self.assertEqual((m["from"], m["type"], m["text"]["body"]), ("16505551234", "text", "¿Cuánto debo? ñ"))
        self.assertEqual(value["contacts"][0]["wa_id"], "16505551234")
        self.assertEqual(value["metadata"]["phone_number_id"], PNID)
        self.assertEqual(m["id"], out["message_id"])
        self.assertAlmostEqual(int(m["timestamp"]), time.time(), delta=5)

        # a business message with reply buttons, then the debtor presses one
        status, sent = self.graph(json.loads(fixture("wa_send_interactive_buttons_request_body.json")))
        self.assertEqual(status, 200)
        out = self.api("POST", "/_sandbox/send", {"channel": "whatsapp", "from": DEBTOR,
                                                  "button": {"id": "pay-now", "title": "Pay now"}})
        self.assertEqual(out["status"], 200)
        # The debtor's message, not a status webhook of the send above (every webhook has
        # "field": "messages"; a status may arrive after the button press).
        req = [r for r in self.fake.got("/webhooks/whatsapp")
               if "messages" in json.loads(r["raw"])["entry"][0]["changes"][0]["value"]][-1]
        self.assert_meta_signed(req)
        payload = json.loads(req["raw"])
        same_shape(self, payload, json.loads(fixture("wa_inbound_interactive_button_reply.json")))
        m = payload["entry"][0]["changes"][0]["value"]["messages"][0]
        self.assertEqual(m["interactive"], {"type": "button_reply",
                                            "button_reply": {"id": "pay-now", "title": "Pay now"}})
        self.assertEqual(m["context"]["id"], sent["messages"][0]["id"])

        phone = self.api("GET", "/_sandbox/phone/" + urllib.parse.quote(DEBTOR))
        ins = [i for i in phone["items"] if i["dir"] == "in"]
        outs = [i for i in phone["items"] if i["dir"] == "out"]
        self.assertEqual([i["text"] for i in ins], ["¿Cuánto debo? ñ", "Pay now"])
        self.assertEqual(ins[0]["webhook"]["status"], 200)
        self.assertEqual([b["id"] for b in outs[0]["buttons"]], ["pay-now", "talk-agent"])

    def test_debtor_whatsapp_unreachable_connector_and_duplicates(self):
        self.fake.answer("/webhooks/whatsapp", 503, "text/plain", "router unavailable")
        out = self.api("POST", "/_sandbox/send", {"channel": "whatsapp", "from": DEBTOR, "text": "x", "retries": 1})
        self.assertEqual((out["status"], out["attempts"]), (503, 2))
        self.fake.clear()
        out = self.api("POST", "/_sandbox/send", {"channel": "whatsapp", "from": DEBTOR, "text": "y", "duplicate": True})
        self.assertEqual((out["status"], out["duplicate"]["status"]), (200, 200))
        a, b = self.fake.got("/webhooks/whatsapp")
        self.assertEqual(a["raw"], b["raw"])
        self.assertEqual(a["headers"]["X-Hub-Signature-256"], b["headers"]["X-Hub-Signature-256"])
        out = self.api("POST", "/_sandbox/replay", {"event": out["event_id"]})
        self.assertEqual(out["status"], 200)
        self.assertEqual(self.fake.got("/webhooks/whatsapp")[2]["raw"], a["raw"])

    def test_debtor_sms_signed_over_the_public_url(self):
        self.fake.answer("/webhooks/twilio/sms", 200, "text/xml", fixture("twiml_sms_reply_message.xml"))
        out = self.api("POST", "/_sandbox/send", {"channel": "sms", "from": DEBTOR, "text": "hola + adiós"})
        self.assertEqual(out["status"], 200)
        req = self.fake.got("/webhooks/twilio/sms")[0]
        self.assertTrue(req["headers"]["Content-Type"].startswith("application/x-www-form-urlencoded"))
        # delivered to the local URL, signed over public_url + path (the connector is behind a proxy)
        self.assert_twilio_signed(req, SMS_TOKEN, PUBLIC_SMS + "/webhooks/twilio/sms")
        p = dict(form(req["raw"]))
        self.assertRegex(p["MessageSid"], r"^SM[0-9a-f]{32}$")
        self.assertEqual((p["From"], p["To"], p["Body"], p["NumMedia"], p["AccountSid"], p["ApiVersion"]),
                         (DEBTOR, "+15550001111", "hola + adiós", "0", SMS_SID, "2010-04-01"))
        self.assertEqual(p["MessageSid"], out["message_id"])
        items = self.api("GET", "/_sandbox/phone/" + urllib.parse.quote(DEBTOR))["items"]
        self.assertEqual([(i["dir"], i["text"]) for i in items], [("in", "hola + adiós"), ("out", "Hello")])

    def test_whatsapp_verify_handshake(self):
        def verify(req):
            q = dict(urllib.parse.parse_qsl(req["query"]))
            if q.get("hub.mode") == "subscribe" and q.get("hub.verify_token") == "verify-me":
                return 200, "text/plain", q["hub.challenge"]
            return 403, "text/plain", "no"
        self.fake.answer("/webhooks/whatsapp", verify)
        self.assertTrue(self.api("POST", "/_sandbox/verify")["echoed"])
        out = self.api("POST", "/_sandbox/verify", {"token": "wrong"})
        self.assertEqual((out["status"], out["echoed"]), (403, False))

    # ---- voice ---------------------------------------------------------------------------------------

    def start_call(self, twiml_name):
        self.fake.answer("/webhooks/twilio/voice", 200, "text/xml", fixture(twiml_name))
        out = self.api("POST", "/_sandbox/call", {"from": DEBTOR})
        req = self.fake.got("/webhooks/twilio/voice")[-1]
        self.assert_twilio_signed(req, VOICE_TOKEN, self.fake.base + "/webhooks/twilio/voice")
        p = dict(form(req["raw"]))
        self.assertEqual((p["CallStatus"], p["Direction"], p["From"], p["To"], p["AccountSid"]),
                         ("ringing", "inbound", DEBTOR, "+15550002222", VOICE_SID))
        self.assertEqual(p["CallSid"], out["call"]["sid"])
        self.assertRegex(p["CallSid"], r"^CA[0-9a-f]{32}$")
        return out

    def assert_status_callback(self, sid):
        req = self.fake.wait("/webhooks/twilio/voice/status", 1)[-1]
        self.assert_twilio_signed(req, VOICE_TOKEN, self.fake.base + "/webhooks/twilio/voice/status")
        p = dict(form(req["raw"]))
        self.assertEqual((p["CallSid"], p["CallStatus"]), (sid, "completed"))
        self.assertRegex(p["CallDuration"], r"^\d+$")

    def test_voice_ivr_gather_digits_then_say_hangup(self):
        out = self.start_call("twiml_voice_ivr_gather.xml")
        verbs = out["verbs"]
        self.assertEqual([v["verb"] for v in verbs], ["Gather", "Say", "Hangup"])
        g = verbs[0]
        self.assertEqual((g["attrs"]["input"], g["attrs"]["action"], g["attrs"]["numDigits"],
                          g["attrs"]["actionOnEmptyResult"], g["attrs"]["language"]),
                         ("speech dtmf", "/twilio/voice/gather", "1", "true", "en-US"))
        self.assertEqual([c["verb"] for c in g["children"]], ["Say"])
        self.assertTrue(g["children"][0]["text"].startswith("This is a call from Example Recovery"))
        self.assertEqual(verbs[1]["text"], "We did not receive any input. Goodbye.")
        call = out["call"]
        self.assertEqual(call["state"], "gathering")
        # a relative action resolves against the voice webhook's URL
        self.assertEqual(call["gather"]["action"], self.fake.base + "/twilio/voice/gather")
        self.assertEqual(out["said"], [g["children"][0]["text"]])

        self.fake.answer("/twilio/voice/gather", 200, "text/xml", fixture("twiml_voice_say_hangup.xml"))
        out = self.api("POST", "/_sandbox/call/%s/input" % call["sid"], {"digits": "1"})
        req = self.fake.got("/twilio/voice/gather")[0]
        self.assert_twilio_signed(req, VOICE_TOKEN, self.fake.base + "/twilio/voice/gather")
        p = dict(form(req["raw"]))
        self.assertEqual((p["Digits"], p["CallSid"], p["CallStatus"]), ("1", call["sid"], "in-progress"))
        self.assertEqual(out["verbs"], [
            {"verb": "Say", "attrs": {}, "text": "Thank you. Goodbye.", "language": None, "voice": None},
            {"verb": "Hangup", "attrs": {}, "text": ""}])
        self.assertEqual((out["call"]["state"], out["call"]["call_status"]), ("ended", "completed"))
        self.assertEqual(out["status_callback"]["response"]["status"], 200)
        self.assert_status_callback(call["sid"])
        self.api("POST", "/_sandbox/call/%s/input" % call["sid"], {"digits": "1"}, want=409)
        self.api("POST", "/_sandbox/call/%s/hangup" % call["sid"], want=409)

        kinds = [(i["dir"], i["kind"]) for i in self.api("GET", "/_sandbox/phone/%2B16505551234")["items"]]
        self.assertEqual(kinds, [("event", "call"), ("out", "say"), ("in", "digits"), ("out", "say"),
                                 ("event", "call")])

    def test_voice_speech_and_silence(self):
        call = self.start_call("twiml_voice_ivr_gather.xml")["call"]
        self.fake.answer("/twilio/voice/gather", 200, "text/xml", fixture("twiml_voice_ivr_gather.xml"))
        self.api("POST", "/_sandbox/call/%s/input" % call["sid"], {"speech": "I want an agent", "confidence": 0.8})
        p = dict(form(self.fake.got("/twilio/voice/gather")[0]["raw"]))
        self.assertEqual(p["SpeechResult"], "I want an agent")
        self.assertAlmostEqual(float(p["Confidence"]), 0.8)
        self.assertNotIn("Digits", p)
        # actionOnEmptyResult="true": silence still posts to the action, with no input
        out = self.api("POST", "/_sandbox/call/%s/input" % call["sid"], {"timeout": True})
        p = dict(form(self.fake.got("/twilio/voice/gather")[1]["raw"]))
        self.assertNotIn("Digits", p)
        self.assertNotIn("SpeechResult", p)
        self.assertEqual(out["call"]["state"], "gathering")
        # a digits-only Gather without actionOnEmptyResult: silence runs the verbs after it
        self.fake.answer("/twilio/voice/gather", 200, "text/xml",
                         '<Response><Gather numDigits="4" action="/g2"><Say>Enter your code</Say></Gather>'
                         '<Say>Goodbye.</Say><Hangup/></Response>')
        self.api("POST", "/_sandbox/call/%s/input" % call["sid"], {"digits": "2"})
        self.api("POST", "/_sandbox/call/%s/input" % call["sid"], {"speech": "hello"}, want=409)
        out = self.api("POST", "/_sandbox/call/%s/input" % call["sid"], {"timeout": True})
        self.assertEqual(out["said"], ["Goodbye."])
        self.assertEqual(out["call"]["state"], "ended")
        self.assertEqual(self.fake.got("/g2"), [])
        self.assert_status_callback(call["sid"])

    def test_voice_enqueue_and_dial_fixtures(self):
        out = self.start_call("twiml_voice_enqueue.xml")
        self.assertEqual(out["verbs"], [{"verb": "Enqueue", "attrs": {"waitUrl": "wait-music.xml"},
                                         "text": "support", "queue": "support"}])
        self.assertEqual((out["call"]["state"], out["call"]["queue"]), ("queued", "support"))
        hung = self.api("POST", "/_sandbox/call/%s/hangup" % out["call"]["sid"])
        self.assertEqual(hung["call"]["state"], "ended")
        self.assert_status_callback(out["call"]["sid"])

        self.fake.clear()
        out = self.start_call("twiml_voice_agent_dial_queue.xml")
        (dial,) = out["verbs"]
        self.assertEqual(dial["verb"], "Dial")
        self.assertEqual(dial["nouns"], [{"noun": "Queue", "attrs": {"url": "https://example.com/about_to_connect.xml"},
                                          "text": "support"}])
        self.assertEqual(dial["target"], "support")
        self.assertEqual((out["call"]["state"], out["call"]["dial"]), ("dialing", "support"))
        self.api("POST", "/_sandbox/call/%s/hangup" % out["call"]["sid"])
        self.assert_status_callback(out["call"]["sid"])

    def test_voice_say_hangup_fixture_and_application_errors(self):
        out = self.start_call("twiml_voice_say_hangup.xml")
        self.assertEqual([v["verb"] for v in out["verbs"]], ["Say", "Hangup"])
        self.assertEqual(out["said"], ["Thank you. Goodbye."])
        self.assertEqual(out["call"]["state"], "ended")
        self.assert_status_callback(out["call"]["sid"])

        self.fake.clear()
        self.fake.answer("/webhooks/twilio/voice", 200, "text/plain", "this is not TwiML")
        out = self.api("POST", "/_sandbox/call", {"from": DEBTOR})
        self.assertEqual(out["call"]["state"], "ended")
        self.assertIn("TwiML", out["call"]["error"])
        self.fake.answer("/webhooks/twilio/voice", 503)
        out = self.api("POST", "/_sandbox/call", {"from": DEBTOR})
        self.assertIn("503", out["call"]["error"])
        self.api("POST", "/_sandbox/call/CA%s/input" % ("0" * 32), {"digits": "1"}, want=404)

    def test_voice_redirect_and_get_gather(self):
        # the connectors' fallback while the router thinks: say something, redirect to wait
        self.fake.answer("/webhooks/twilio/voice", 200, "text/xml",
                         "<Response><Say>One moment.</Say><Redirect>/webhooks/twilio/voice/wait?n=1</Redirect>"
                         "</Response>")
        self.fake.answer("/webhooks/twilio/voice/wait", 200, "text/xml",
                         '<Response><Gather method="GET" action="gather?step=2" numDigits="4">'
                         "<Say>Enter the last four digits of your ID.</Say></Gather></Response>")
        out = self.api("POST", "/_sandbox/call", {"from": DEBTOR})
        self.assertEqual(out["said"], ["One moment.", "Enter the last four digits of your ID."])
        req = self.fake.got("/webhooks/twilio/voice/wait")[0]
        self.assertEqual((req["method"], req["query"]), ("POST", "n=1"))
        self.assert_twilio_signed(req, VOICE_TOKEN, self.fake.base + "/webhooks/twilio/voice/wait?n=1")
        self.assertEqual(out["call"]["gather"]["action"], self.fake.base + "/webhooks/twilio/voice/gather?step=2")

        self.fake.answer("/webhooks/twilio/voice/gather", 200, "text/xml", fixture("twiml_voice_say_hangup.xml"))
        out = self.api("POST", "/_sandbox/call/%s/input" % out["call"]["sid"], {"digits": "123456#"})
        req = self.fake.got("/webhooks/twilio/voice/gather")[0]
        self.assertEqual(req["method"], "GET")
        q = dict(urllib.parse.parse_qsl(req["query"]))
        self.assertEqual((q["step"], q["Digits"]), ("2", "1234"))  # numDigits cuts at 4
        # a GET is signed over the full URL, parameters included, and nothing else
        self.assert_twilio_signed(req, VOICE_TOKEN, self.fake.base + req["uri"])
        self.assertEqual(out["call"]["state"], "ended")

    # ---- the page --------------------------------------------------------------------------------------

    def test_phone_page_is_self_contained(self):
        status, raw, headers = self.http("GET", "/")
        self.assertEqual(status, 200)
        self.assertTrue(headers["Content-Type"].startswith("text/html"))
        html = raw.decode()
        for id_ in ("phone-number", "channel-whatsapp", "channel-sms", "channel-call", "chat", "message-input",
                    "send-button", "call-button", "hangup-button", "keypad", "speech-input", "speech-send",
                    "timeout-button", "status-line"):
            self.assertTrue('id="%s"' % id_ in html, "no element with id %s" % id_)
        for id_ in ("phone-number", "message-input", "speech-input", "channel-sms"):
            self.assertTrue(re.search(r'<label[^>]*for="%s"' % id_, html), "no <label> for %s" % id_)
        self.assertFalse(re.search(r'(src|href)\s*=\s*"(https?:)?//', html), "no external assets")
        self.assertFalse("@import" in html, "no external stylesheets")
        self.assertEqual(self.http("GET", "/healthz")[1], b"ok\n")


if __name__ == "__main__":
    unittest.main(verbosity=2)
