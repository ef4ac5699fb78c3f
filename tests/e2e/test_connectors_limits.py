"""Limits on each connector's webhook port, and what it shows (docs/security.md, "Public ports"):

* a request head (request line + headers) over `max_header` is answered 431 and closed — it used
  to be dropped by libwebsockets without a status; a flood of them adds at most a few log lines;
* a POST to a webhook path without the provider's signature header is refused (401 WhatsApp,
  403 Twilio) from its head alone, its body never read — it used to be read in full first;
* the body bytes held by all connections together before their signatures are checked stop at
  `max_buffered`: the POST that would go past it gets 503 with Retry-After, unread;
* /healthz and /metrics answer on `metrics_port` only, never on the webhook port;
* Twilio's signature is checked over the URL exactly as Twilio sent it, escapes included
  (libwebsockets percent-decodes the query: a callback URL with `%2B` or `%20` in it failed).
"""

import os
import socket
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from connectors_stack import (CHANNELS, WEBHOOK_PATH, ConnectorStackCase, http,  # noqa: E402
                              twilio_signature)
from hilo_fuzz import exchange  # noqa: E402

PHONE = "+16505551234"
SIGNATURE_HEADER = {"whatsapp": "X-Hub-Signature-256", "sms": "X-Twilio-Signature", "voice": "X-Twilio-Signature"}
UNSIGNED_STATUS = {"whatsapp": 401, "sms": 403, "voice": 403}


def status_of(answer):
    """The status code of a raw HTTP answer, None when there is none."""
    if not answer.startswith(b"HTTP/1."):
        return None
    return int(answer.split(b" ", 2)[1])


def open_upload(port, path, length, headers=(), first=b""):
    """A POST whose head (and `first` body bytes) is sent, the rest of its `length` bytes not yet:
    the connection as a slow uploader holds it open."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    head = "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n" % path
    head += "".join("%s: %s\r\n" % h for h in headers)
    head += "Content-Length: %d\r\n\r\n" % length
    s.sendall(head.encode() + first)
    return s


def read_answer(s, timeout):
    """What the server says on `s` within `timeout` seconds (b"" when nothing)."""
    s.settimeout(timeout)
    chunks = []
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            chunks.append(b)
    except (socket.timeout, ConnectionResetError):
        pass
    return b"".join(chunks)


class ConnectorLimits(ConnectorStackCase):

    def test_oversize_heads_get_431_and_few_log_lines(self):
        self.start_stack(engine=False)
        for ch in CHANNELS:
            conn, path = self.conns[ch], WEBHOOK_PATH[ch]
            cases = {
                "a 16 KB header": b"GET %s HTTP/1.1\r\nHost: x\r\nX-Pad: %s\r\n\r\n" % (path.encode(), b"a" * 16000),
                "a 9 KB cookie on a POST": (b"POST %s HTTP/1.1\r\nHost: x\r\nCookie: %s\r\nContent-Length: 3\r\n\r\na=1"
                                            % (path.encode(), b"c" * 9000)),
                "a 60 KB request line": b"GET /%s HTTP/1.1\r\nHost: x\r\n\r\n" % (b"p" * 60000),
                "200 small headers": b"GET %s HTTP/1.1\r\nHost: x\r\n%s\r\n" % (path.encode(), b"X-A: 1\r\n" * 200),
            }
            for name, data in cases.items():
                with self.subTest(channel=ch, case=name):
                    answer = exchange(conn.port, data)
                    self.assertEqual(status_of(answer), 431, answer[:200])
                    self.assertIn(b"\r\nconnection: close", answer.lower())
            # Just under the limit is still served (here: 404, not a webhook path).
            with self.subTest(channel=ch, case="a 7 KB header"):
                answer = exchange(conn.port, b"GET /x HTTP/1.1\r\nHost: x\r\nX-Pad: %s\r\n\r\n" % (b"a" * 7000))
                self.assertEqual(status_of(answer), 404, answer[:200])
            self.assertGreaterEqual(conn.metrics().value("hilo_connector_http_header_too_large_total"), 4)
        # A flood: 300 oversize heads in a row on one connector add at most a few lines a second.
        conn = self.conns["sms"]
        before = len(conn.log().splitlines())
        t0 = time.monotonic()
        for _ in range(300):
            exchange(conn.port, b"GET / HTTP/1.1\r\nHost: x\r\nX-Pad: %s\r\n\r\n" % (b"a" * 9000))
        took = time.monotonic() - t0
        added = len(conn.log().splitlines()) - before
        self.assertLessEqual(added, 10 * (int(took) + 2), "%d log lines for 300 refused heads in %.1fs" % (added, took))
        self.assertEqual(conn.healthz(), 200)

    def test_unsigned_posts_are_refused_unread(self):
        self.start_stack(engine=False)
        for ch in CHANNELS:
            conn = self.conns[ch]
            with self.subTest(channel=ch):
                # 900 KB announced, not one byte sent: the answer must not wait for the body.
                s = open_upload(conn.port, WEBHOOK_PATH[ch], 900000)
                t0 = time.monotonic()
                try:
                    answer = read_answer(s, 3)
                finally:
                    s.close()
                self.assertEqual(status_of(answer), UNSIGNED_STATUS[ch], answer[:200])
                self.assertLess(time.monotonic() - t0, 2)
                self.assertEqual(conn.metrics().value("hilo_connector_webhooks_total", result="unsigned"), 1)

    def test_buffered_body_bytes_are_capped(self):
        """max_buffered = 2 * max_body: two slow 60 KB uploads hold the budget; of 20 more at once
        every one is refused 503 with Retry-After at once; once the two are done, a new upload is
        read again (and refused for its bad signature, 401/403)."""
        limits = {"max_body": 65536, "max_buffered": 131072}
        self.start_stack(engine=False, connector_overrides={ch: limits for ch in CHANNELS})
        for ch in CHANNELS:
            conn, path = self.conns[ch], WEBHOOK_PATH[ch]
            sig = [(SIGNATURE_HEADER[ch], "sha256=00" if ch == "whatsapp" else "AAAA")]
            with self.subTest(channel=ch):
                holders = [open_upload(conn.port, path, 60000, sig, b"a=" + b"x" * 998) for _ in range(2)]
                time.sleep(0.3)
                others = [open_upload(conn.port, path, 60000, sig) for _ in range(20)]
                try:
                    for s in others:
                        answer = read_answer(s, 3)
                        self.assertEqual(status_of(answer), 503, answer[:200])
                        self.assertRegex(answer.lower(), rb"\r\nretry-after: \d+\r\n")
                    # The holders finish their bodies: refused for their (bad) signatures.
                    for s in holders:
                        s.sendall(b"x" * 59000)
                        self.assertEqual(status_of(read_answer(s, 5)), UNSIGNED_STATUS[ch])
                finally:
                    for s in holders + others:
                        s.close()
                self.assertEqual(conn.metrics().value("hilo_connector_http_overloaded_total"), 20)
                # The budget is back: a new upload is read in full again.
                s = open_upload(conn.port, path, 60000, sig, b"a=" + b"x" * 59998)
                try:
                    self.assertEqual(status_of(read_answer(s, 5)), UNSIGNED_STATUS[ch])
                finally:
                    s.close()
                self.assertEqual(conn.healthz(), 200)

    def test_metrics_and_health_on_their_own_port(self):
        self.start_stack(engine=False)
        for ch in CHANNELS:
            conn = self.conns[ch]
            with self.subTest(channel=ch):
                for path in ("/healthz", "/metrics", "/metrics?x=1"):
                    self.assertEqual(http("GET", conn.url(path), timeout=5)[0], 404, "webhook port %s" % path)
                self.assertEqual(http("GET", conn.admin_url("/healthz"), timeout=5)[0], 200)
                status, _, body, _ = http("GET", conn.admin_url("/metrics"), timeout=5)
                self.assertEqual(status, 200)
                self.assertIn(b"hilo_connector_link_up", body)
                # The metrics port serves nothing else: no webhook there.
                self.assertEqual(http("POST", conn.admin_url(WEBHOOK_PATH[ch]), b"a=1", timeout=5)[0], 404)
                self.assertNotEqual(conn.metrics_port, conn.port)

    def test_twilio_signature_over_the_url_as_sent(self):
        self.start_stack(engine=False)
        self.seed("D1", PHONE)
        token = self.conf["sms"]["auth_token"]
        base = self.conf["sms"]["public_url"]
        for i, query in enumerate(["?ob=o1%2Bx&d=D%201", "?a=%7E%41&b=c+d", "?q=%26x%3Dy;z=1"]):
            with self.subTest(query=query):
                sid = "SMraw%d" % i
                params = [("MessageSid", sid), ("SmsSid", sid), ("AccountSid", "AC" + "0" * 32), ("From", PHONE),
                          ("To", "+15005550006"), ("Body", "raw url %d" % i), ("NumMedia", "0"),
                          ("ApiVersion", "2010-04-01")]
                body = urllib.parse.urlencode(params).encode()
                url = base + WEBHOOK_PATH["sms"] + query
                decoded = base + WEBHOOK_PATH["sms"] + "?" + urllib.parse.unquote_plus(query[1:])
                headers = {"Content-Type": "application/x-www-form-urlencoded"}
                # Signed over the decoded form: not what was sent, refused.
                headers["X-Twilio-Signature"] = twilio_signature(token, decoded, params)
                status, _, resp, _ = http("POST", url, body, headers)
                self.assertEqual(status, 403, resp)
                # Signed over the URL exactly as sent: accepted and stored.
                headers["X-Twilio-Signature"] = twilio_signature(token, url, params)
                status, _, resp, _ = http("POST", url, body, headers)
                self.assertEqual(status, 200, resp)
                self.wait_items("D1", lambda it, sid=sid: it.get("pmid") == sid, 1, 15, "the signed webhook")


if __name__ == "__main__":
    unittest.main(verbosity=2)
