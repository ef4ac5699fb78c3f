"""Seeded random webhooks, correctly signed, into the real connectors: the providers' own
payloads (connectors/providers/test/fixtures) with values of the wrong type, missing or repeated
fields, odd strings and numbers, and byte-level damage; Twilio forms with odd, missing and
repeated parameters. Every one is signed with the configured secret, so it gets past the
signature check to the adapters' parsers.

What must hold whatever the body:
* every request is answered, with a status the connector documents (docs/connectors.md,
  "Webhook answering rules"): 2xx, 400, 404 or 413 — never a dropped connection, never 500
  (a final Nack is answered 200 once the envelope is in the dead-letter file; only a webhook
  with more events than a connector takes is), never 503 with the router up;
* the connectors keep serving (a valid webhook of each channel is stored after every chunk),
  exit 0 on SIGTERM and, in the ASan+UBSan build, report no memory error or undefined
  behaviour (the cleanup checks both);
* nothing is left waiting: every envelope a connector submitted was answered by the router,
  and no webhook is still open;
* every envelope the router refused for good is in its connector's dead-letter file, whole.

The seed is printed on failure; HILO_FUZZ_SEED and HILO_FUZZ_WEBHOOKS run other seeds or longer.
"""

import base64
import collections
import copy
import json
import os
import random
import re
import socket
import sys
import threading
import time
import unittest
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from connectors_stack import (ConnectorStackCase, http, meta_signature, read_dead_letters,  # noqa: E402
                              twilio_signature)
import hilo_link_pb2 as link_pb2  # noqa: E402
from hilo_fuzz import exchange, http_request  # noqa: E402
from hilo_harness import SOURCE_DIR, wait_until  # noqa: E402

SEED = int(os.environ.get("HILO_FUZZ_SEED", "20261123"))
WEBHOOKS = int(os.environ.get("HILO_FUZZ_WEBHOOKS", "2000"))   # over the three channels
CHUNK = 100
PHONE = "+16505551234"
CONTROL_PHONE = "+16505551299"
FIXTURES = os.path.join(SOURCE_DIR, "connectors", "providers", "test", "fixtures")
ALLOWED = {200, 204, 400, 404, 413}
RAW_REQUESTS = int(os.environ.get("HILO_FUZZ_REQUESTS", "900"))
PROVIDER_TURNS = int(os.environ.get("HILO_FUZZ_TURNS", "40"))
RAW_STATUSES = {200, 204, 400, 401, 403, 404, 405, 408, 411, 413, 414, 415, 431, 500, 501, 503, 505}
MAX_BODY = 1 << 20   # the connectors' default max_body

ODD_VALUES = [None, True, False, 0, -1, 1.5, 2 ** 63, -(2 ** 63), 1e308, "", "x" * 5000, "\u202e\u0000",
              "💸" * 50, [], [None], {}, {"a": {"b": {"c": []}}}, "16505551234", "+16505551234"]
ODD_STRINGS = ["", "0", "-1", "99999999999999999999", "NaN", "x" * 3000, "%", "%FF", "\u00f1", "💸",
               "+16505551234", "16505551234", "javascript:alert(1)", "a\r\nb", "\u0000"]


def wa_corpus():
    """The WhatsApp webhook payloads of the providers' documentation."""
    names = ["wa_inbound_text.json", "wa_inbound_interactive_button_reply.json",
             "wa_inbound_template_quick_reply_button.json", "wa_status_sent.json", "wa_status_delivered.json",
             "wa_status_read.json", "wa_status_failed.json", "wa_webhook_errors_rate_limit.json"]
    out = []
    for n in names:
        with open(os.path.join(FIXTURES, n), encoding="utf-8") as f:
            out.append(json.load(f))
    return out


def nodes(obj, path=()):
    """Every (container, key) pair inside a JSON value."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield obj, k
            yield from nodes(v)
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield obj, i
            yield from nodes(v)


def twist_json(rng, doc):
    """A few structural changes to a copy of doc: a value of another type, a field removed, an
    array element repeated many times, a message of an unknown type."""
    doc = copy.deepcopy(doc)
    for _ in range(rng.choice([1, 1, 2, 3, 6])):
        spots = list(nodes(doc))
        if not spots:
            break
        parent, key = rng.choice(spots)
        op = rng.randrange(5)
        if op == 0:
            parent[key] = copy.deepcopy(rng.choice(ODD_VALUES))
        elif op == 1 and isinstance(parent, dict):
            del parent[key]
        elif op == 2 and isinstance(parent, list):
            parent.extend([copy.deepcopy(parent[key])] * rng.choice([2, 50]))
        elif op == 3 and isinstance(parent, dict) and key in ("type", "status", "field", "object"):
            parent[key] = rng.choice(["video", "reaction", "unsupported", "order", "", "deleted", 7])
        elif isinstance(parent[key], str):
            parent[key] = rng.choice(ODD_STRINGS)
    # Unique message ids most of the time, so that what is accepted is stored, not deduplicated.
    for parent, key in nodes(doc):
        if key == "id" and isinstance(parent.get("id") if isinstance(parent, dict) else None, str) \
                and parent["id"].startswith("wamid") and rng.random() < 0.8:
            parent["id"] = "wamid.fuzz%x" % rng.randrange(1 << 48)
    return doc


def damage(rng, data):
    """Byte-level damage: a cut, an insertion, a flipped bit."""
    data = bytearray(data)
    for _ in range(rng.choice([1, 2, 4])):
        pos = rng.randrange(len(data) + 1)
        op = rng.randrange(3)
        if op == 0:
            del data[pos:pos + rng.randrange(1, 20)]
        elif op == 1:
            data[pos:pos] = rng.choice([b"\xff\xfe", b"\"", b"{", b"]", b"\\u0000", b"\\ud800", b"1e999999"])
        elif data:
            i = rng.randrange(len(data))
            data[i] ^= 1 << rng.randrange(8)
    return bytes(data)


def sms_params(rng):
    sid = "SM%032x" % rng.randrange(1 << 128)
    p = {"MessageSid": sid, "SmsSid": sid, "AccountSid": "AC" + "0" * 32, "From": PHONE, "To": "+15005550006",
         "Body": rng.choice(["hola", "¿cuánto debo?", "STOP", "pago el viernes 💸", "x" * 2000]),
         "NumMedia": "0", "ApiVersion": "2010-04-01"}
    if rng.random() < 0.3:
        n = rng.choice([1, 2, 10])
        p["NumMedia"] = str(n)
        for i in range(n):
            if rng.random() < 0.8:
                p["MediaUrl%d" % i] = rng.choice(["https://api.twilio.com/m/%d" % i, "", "ftp://x"])
                p["MediaContentType%d" % i] = rng.choice(["image/jpeg", "", "x" * 300])
    return p


def status_params(rng):
    return {"MessageSid": rng.choice(["SM%032x" % rng.randrange(1 << 128), "", "SMunknown"]),
            "MessageStatus": rng.choice(["sent", "delivered", "undelivered", "failed", "read", "queued", ""]),
            "ErrorCode": rng.choice(["", "30007", "abc"]), "AccountSid": "AC" + "0" * 32, "To": PHONE}


def voice_params(rng):
    return {"CallSid": "CA%032x" % rng.randrange(1 << 128), "AccountSid": "AC" + "0" * 32, "From": PHONE,
            "To": "+15005550006", "CallStatus": rng.choice(["ringing", "in-progress", "completed", "busy"]),
            "Direction": "inbound", "Digits": rng.choice(["", "1", "2", "123#"]),
            "SpeechResult": rng.choice(["", "quiero pagar", "x" * 1000]),
            "Confidence": rng.choice(["0.9", "", "-1", "NaN", "1e999"]),
            "CallDuration": rng.choice(["", "12", "-5", "x"])}


def twist_params(rng, params):
    """Twilio's form with values changed, parameters dropped or added, and some repeated."""
    items = list(params.items())
    for _ in range(rng.choice([0, 1, 2, 4])):
        op = rng.randrange(4)
        if op == 0 and items:
            i = rng.randrange(len(items))
            items[i] = (items[i][0], rng.choice(ODD_STRINGS))
        elif op == 1 and items:
            del items[rng.randrange(len(items))]
        elif op == 2:
            items.append((rng.choice(["Extra", "From", "NumMedia", "MediaUrl0", "Body", "x" * 200, ""]),
                          rng.choice(ODD_STRINGS)))
        elif items:
            items.append(rng.choice(items))
    return items


class ConnectorFuzz(ConnectorStackCase):
    def test_random_signed_webhooks_are_answered_and_break_nothing(self):
        rng = random.Random(SEED)
        self.start_stack(engine=True, router_overrides={"router": {"history_max": 1000000}})
        self.seed("D1", PHONE, language="es")
        self.seed("D2", CONTROL_PHONE, language="es")
        secret = self.conf["whatsapp"]["app_secret"]
        token = self.conf["sms"]["auth_token"]
        vtoken = self.conf["voice"]["auth_token"]
        corpus = wa_corpus()
        statuses = {}
        controls = []

        def answered(what, status, body):
            statuses[status] = statuses.get(status, 0) + 1
            if status == 500 and body == b"too many events\n":
                return  # more events in one webhook than a connector takes (Meta never batches so many)
            self.assertIn(status, ALLOWED, "seed %d, %s: answered %s %r" % (SEED, what, status, body[:300]))

        def post_wa(body):
            return http("POST", self.conns["whatsapp"].url("/webhooks/whatsapp"), body,
                        {"Content-Type": "application/json", "X-Hub-Signature-256": meta_signature(secret, body)})

        def post_twilio(ch, path, items, tok):
            url = self.conf[ch]["public_url"] + path
            body = urllib.parse.urlencode(items).encode()
            sig = twilio_signature(tok, url, items)
            return http("POST", url, body, {"Content-Type": "application/x-www-form-urlencoded",
                                            "X-Twilio-Signature": sig})

        sent = 0
        chunk = 0
        while sent < WEBHOOKS:
            chunk += 1
            for _ in range(min(CHUNK, WEBHOOKS - sent)):
                sent += 1
                pick = rng.random()
                if pick < 0.5:
                    doc = twist_json(rng, rng.choice(corpus))
                    body = json.dumps(doc, ensure_ascii=rng.random() < 0.5).encode()
                    if rng.random() < 0.25:
                        body = damage(rng, body)
                    if len(body) > MAX_BODY:
                        continue  # repeated arrays can outgrow max_body: 413 has tests of its own
                    status, _, resp, _ = post_wa(body)
                    answered("whatsapp %r" % body[:200], status, resp)
                elif pick < 0.75:
                    path = "/webhooks/twilio/sms" if rng.random() < 0.7 else "/webhooks/twilio/sms/status"
                    params = sms_params(rng) if path.endswith("sms") else status_params(rng)
                    status, _, resp, _ = post_twilio("sms", path, twist_params(rng, params), token)
                    answered("sms %s" % path, status, resp)
                else:
                    path = rng.choice(["/webhooks/twilio/voice", "/webhooks/twilio/voice/status",
                                       "/webhooks/twilio/voice/gather?turn=%s" % rng.choice(["", "x", "0" * 64])])
                    status, _, resp, _ = post_twilio("voice", path, twist_params(rng, voice_params(rng)), vtoken)
                    answered("voice %s" % path, status, resp)
            # A valid webhook of each text channel is still stored.
            wamid = "wamid.control%d" % chunk
            doc = copy.deepcopy(corpus[0])
            msg = doc["entry"][0]["changes"][0]["value"]["messages"][0]
            msg.update({"id": wamid, "from": CONTROL_PHONE[1:], "timestamp": str(int(time.time()))})
            doc["entry"][0]["changes"][0]["value"]["contacts"][0]["wa_id"] = CONTROL_PHONE[1:]
            status, _, resp, _ = post_wa(json.dumps(doc).encode())
            self.assertEqual(status, 200, "seed %d: control WhatsApp webhook after chunk %d: %r" % (SEED, chunk, resp))
            sid = "SMcontrol%d" % chunk
            status, _, resp, _ = post_twilio("sms", "/webhooks/twilio/sms", list({
                "MessageSid": sid, "SmsSid": sid, "AccountSid": "AC" + "0" * 32, "From": CONTROL_PHONE,
                "To": "+15005550006", "Body": "sigo aquí", "NumMedia": "0"}.items()), token)
            self.assertEqual(status, 200, "seed %d: control SMS webhook after chunk %d: %r" % (SEED, chunk, resp))
            controls += [wamid, sid]
            for ch, c in self.conns.items():
                self.assertTrue(c.running(), "seed %d: hilo-%s died in chunk %d" % (SEED, ch, chunk))

        # The controls are stored, once each.
        got = sorted(it["pmid"] for it in self.thread("D2") if it["dir"] == "in")
        self.assertEqual(got, sorted(controls), "seed %d" % SEED)

        # Nothing is left waiting in any connector: every envelope submitted (delivery reports
        # of the bot's replies too, which are not counted as pending) was answered by the router.
        def answered_envs(m):
            return sum(m.value("hilo_connector_envelopes_total", result=r) for r in ("acked", "duplicate", "nacked", "expired"))

        def waiting():
            out = {}
            for ch, c in self.conns.items():
                m = c.metrics()
                w = (m.value("hilo_connector_envelopes_pending"), m.value("hilo_connector_webhooks_waiting"),
                     m.value("hilo_connector_envelopes_submitted_total") - answered_envs(m))
                if any(w):
                    out[ch] = w
            return out
        wait_until(lambda: not waiting(), 20, lambda: "seed %d: (pending, webhooks waiting, unanswered) %s" % (
            SEED, waiting()))
        dead = {}
        for ch, c in self.conns.items():
            m = c.metrics()
            self.assertEqual(m.value("hilo_connector_envelopes_total", result="expired"), 0, ch)
            # Every final refusal is kept, one record each, its envelope whole.
            recs = read_dead_letters(self.workdir, ch)
            self.assertEqual(m.value("hilo_connector_dead_letter_failures_total"), 0, ch)
            self.assertEqual(len(recs), m.value("hilo_connector_envelopes_total", result="nacked"), ch)
            self.assertEqual(len(recs), m.value("hilo_connector_dead_letters_total"), ch)
            for rec in recs:
                env = link_pb2.Envelope()
                env.ParseFromString(base64.b64decode(rec["envelope"]))
                self.assertEqual((env.seq, rec["channel"]), (rec["seq"], ch), rec)
                self.assertTrue(rec["code"] and rec["reason"], rec)
            dead[ch] = len(recs)
        self.assertGreater(statuses.get(200, 0), WEBHOOKS // 10, "too few webhooks accepted to mean anything")
        self.assertGreater(sum(n for s, n in statuses.items() if s != 200), WEBHOOKS // 10,
                           "too few webhooks refused to mean anything")
        print("fuzz: seed %d, %d webhooks, answers %r, dead letters %r" % (SEED, WEBHOOKS, sorted(statuses.items()),
                                                                            dead), file=sys.stderr)


    def test_random_raw_http_is_answered_or_closed_and_reaches_no_router(self):
        # Unsigned, malformed and odd requests on the connectors' webhook ports: answered with a
        # status or closed, never a crash, and none of them becomes an envelope.
        rng = random.Random(SEED)
        self.start_stack(engine=False)
        paths = ["/webhooks/whatsapp", "/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=x&hub.challenge=1",
                 "/webhooks/twilio/sms", "/webhooks/twilio/sms/status", "/webhooks/twilio/voice",
                 "/webhooks/twilio/voice/gather?turn=x", "/webhooks/twilio/voice/status", "/healthz", "/metrics",
                 "/", "/nope", "/webhooks/../etc/passwd", "/webhooks/%2e%2e/x", "/" + "w" * 9000, "*"]
        statuses = {}
        for n in range(RAW_REQUESTS):
            ch = rng.choice(sorted(self.conns))
            port = self.ports[ch]
            data = http_request(rng, port, paths, json_bodies=[{"object": "whatsapp_business_account"}, {}, []])
            try:
                resp = exchange(port, data)
            except socket.timeout:
                self.fail("seed %d: hilo-%s neither answered nor closed within 5 s: %r" % (SEED, ch, data[:300]))
            m = re.match(rb"HTTP/1\.[01] (\d{3}) ", resp)
            what = "seed %d, hilo-%s: %r -> %r" % (SEED, ch, data[:200], resp[:200])
            if resp:
                self.assertIsNotNone(m, "not an HTTP response: " + what)
                self.assertIn(int(m.group(1)), RAW_STATUSES, what)
                statuses[int(m.group(1))] = statuses.get(int(m.group(1)), 0) + 1
            else:
                statuses["closed"] = statuses.get("closed", 0) + 1
        for ch, c in self.conns.items():
            self.assertTrue(c.running(), "seed %d: hilo-%s died" % (SEED, ch))
            self.assertEqual(c.healthz(), 200, ch)
            self.assertEqual(c.metrics().value("hilo_connector_envelopes_submitted_total"), 0,
                             "seed %d: an unsigned request became an envelope on hilo-%s" % (SEED, ch))
        self.assertEqual(self.router_.metrics().value("hilo_envelopes_total"), 0)
        self.assertGreater(sum(n for s, n in statuses.items() if s in (401, 403)), RAW_REQUESTS // 20, statuses)
        print("fuzz: seed %d, %d raw requests: %r" % (SEED, RAW_REQUESTS, sorted(statuses.items(), key=str)),
              file=sys.stderr)


    def test_random_provider_answers_settle_every_outbound(self):
        # The providers' APIs answering anything: statuses of every kind, bodies that are not
        # what the docs say (wrong types, missing ids, HTML, nothing), slow answers and dropped
        # connections. Every bot reply still ends sent or failed, with a bounded number of calls.
        api = FakeApi(random.Random(SEED + 2)).start()
        self.addCleanup(api.stop)
        quick = {"retry_min_ms": 50, "retry_max_ms": 300, "retry_give_up_ms": 4000, "api_base": api.base,
                 "rate_per_s": 0, "rate_burst": 0}
        self.start_stack(engine=True, connector_overrides={ch: quick for ch in ("whatsapp", "sms", "voice")})
        phones = {"P%d" % i: "+1650555%04d" % (3000 + i) for i in range(6)}
        for d, phone in phones.items():
            self.seed(d, phone, language="es")
        rng = random.Random(SEED + 3)
        for n in range(PROVIDER_TURNS):
            d = rng.choice(sorted(phones))
            r = self.sandbox.send(rng.choice(["whatsapp", "sms"]), phones[d], rng.choice(["hola", "cuánto debo", "1"]))
            self.assertEqual(r["status"], 200, r)

        def outbound_ids():
            return {(d, it["oid"]) for d in phones for it in self.thread(d) if it["dir"] == "out" and "oid" in it}

        def unsettled():
            return sorted((d, o) for d, o in outbound_ids()
                          if self.ostat(d).get(o, {}).get("state") not in ("sent", "failed", "delivered", "read"))
        wait_until(lambda: outbound_ids() and not unsettled(), 60,
                   lambda: "seed %d: outbound still unsettled: %s" % (SEED, unsettled()[:10]))
        oids = outbound_ids()
        states = collections.Counter(self.ostat(d)[o]["state"] for d, o in oids)
        for ch, c in self.conns.items():
            self.assertTrue(c.running(), "seed %d: hilo-%s died" % (SEED, ch))
        self.assertLessEqual(api.calls, 40 * len(oids), "seed %d: %d API calls for %d messages" % (SEED, api.calls, len(oids)))
        self.assertTrue(states["sent"] and states["failed"], "seed %d: %r" % (SEED, states))
        print("fuzz: seed %d, %d bot replies settled %r after %d API calls" % (SEED, len(oids), dict(states), api.calls),
              file=sys.stderr)


class FakeApi:
    """The providers' HTTP APIs answering at random (seeded): every request gets one of the
    answers below, sometimes late, sometimes none at all."""

    ANSWERS = [
        (200, b'{"messaging_product":"whatsapp","messages":[{"id":"wamid.FAKE"}]}'),
        (201, b'{"sid":"SM0123456789abcdef0123456789abcdef","status":"queued"}'),
        (200, b'{"messages":"not a list"}'), (201, b'{"sid":5}'), (200, b"{}"), (200, b""), (200, b"<html>ok</html>"),
        (200, b'{"messages":[{}]}'), (201, b'{"sid":"' + b"S" * 5000 + b'"}'), (200, b"\xff\xfe"),
        (400, b'{"error":{"code":131026,"message":"undeliverable"}}'), (400, b'{"code":21211,"message":"bad To"}'),
        (401, b'{"error":"auth"}'), (404, b"not found"), (429, b'{"error":{"code":130429}}'),
        (500, b"oops"), (502, b"<html>bad gateway</html>"), (503, b""), (418, b"teapot"), (302, b""),
    ]

    def __init__(self, rng):
        self.rng = rng
        self.lock = threading.Lock()
        self.calls = 0

    def start(self):
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with api.lock:
                    api.calls += 1
                    pick = api.rng.random()
                    status, body = api.rng.choice(api.ANSWERS)
                    delay = api.rng.choice([0, 0, 0, 0.05, 0.3])
                if pick < 0.05:
                    self.close_connection = True   # no answer at all
                    return
                time.sleep(delay)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
