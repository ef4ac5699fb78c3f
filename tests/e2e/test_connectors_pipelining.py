"""Pipelined HTTP requests on each connector's webhook port: no request freezes a connector
(docs/security.md, "One request per connection").

With libwebsockets 4.1.6 one TCP connection carrying a POST immediately followed by a second POST
with a body — no signature needed — put a connector into a 100 % CPU loop for good: no /healthz,
no webhooks, no link, SIGTERM ignored. Every HTTP/1 answer now carries `Connection: close` and
the connection is closed after it. For each connector and each case: the first request is
answered (401 or 403: unsigned; 404 for /healthz, which is on the metrics port), only it, the connection is closed, the connector still answers
/healthz and still takes a signed webhook, and exits 0 on SIGTERM (the cleanup).
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from connectors_stack import CHANNELS, WEBHOOK_PATH, ConnectorStackCase  # noqa: E402
from hilo_fuzz import pipelined, post, trickle  # noqa: E402

PHONE = "+16505551234"


class ConnectorsPipelining(ConnectorStackCase):
    def test_pipelined_requests_are_answered_once_and_closed(self):
        self.start_stack(engine=False)
        self.seed("D1", PHONE)
        for ch in CHANNELS:
            conn, path = self.conns[ch], WEBHOOK_PATH[ch]
            cases = {
                "two POSTs in one write": ([post(path, b"a=1") + post(path, b"b=2")], 0),
                "a GET then a POST in one write": ([b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" + post(path, b"b=2")],
                                                   0),
                "a second POST before the first is answered": ([post(path, b"a=1"), post(path, b"b=2")], 0.3),
            }
            for name, (parts, gap) in cases.items():
                with self.subTest(channel=ch, case=name):
                    answer, closed = pipelined(conn.port, parts, gap)
                    head = answer.split(b"\r\n\r\n", 1)[0].lower()
                    self.assertRegex(head, rb"^http/1\.1 (200|401|403|404) ", answer[:200])
                    self.assertIn(b"\r\nconnection: close", head)
                    self.assertEqual(answer.count(b"HTTP/1.1 "), 1, answer[:400])
                    self.assertTrue(closed, "hilo-%s kept the connection open" % ch)
                    self.assertTrue(conn.running())
                    self.assertEqual(conn.healthz(), 200, "hilo-%s after %s" % (ch, name))
        # Still taking real webhooks: a signed SMS from the sandbox reaches the router.
        self.sandbox.send("sms", PHONE, "hello after the probes")
        self.assertTrue(self.wait_history_text("D1", "hello after the probes"))

    def test_slow_requests_are_cut_off(self):
        """request_timeout_ms: a webhook body trickled a byte at a time is cut off at the deadline
        (lws alone restarted its timeout on every byte), a silent client after as long, a head
        trickled in as well; counted in hilo_connector_http_too_slow_total."""
        self.start_stack(engine=False, connector_overrides={ch: {"request_timeout_ms": 1500} for ch in CHANNELS})
        for ch in CHANNELS:
            conn = self.conns[ch]
            # (with a signature header, however wrong: without one the POST is refused unread)
            sig = b"X-Hub-Signature-256: sha256=00" if ch == "whatsapp" else b"X-Twilio-Signature: AAAA"
            head = (b"POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                    b"%s\r\nContent-Length: 100000\r\n\r\n" % (WEBHOOK_PATH[ch].encode(), sig))
            with self.subTest(channel=ch):
                cut = trickle(conn.port, head, every_s=0.2, for_s=8)
                self.assertIsNotNone(cut, "a trickled body kept hilo-%s's connection for 8 s" % ch)
                self.assertLess(cut, 6)
                cut = trickle(conn.port, head, every_s=None, for_s=8)
                self.assertIsNotNone(cut, "a silent client kept hilo-%s's connection for 8 s" % ch)
                self.assertLess(cut, 6)
                # A head trickled a byte at a time: cut off too (the head has the same time).
                cut = trickle(conn.port, b"POST %s HTTP/1.1\r\nHost: x\r\nX-A: " % WEBHOOK_PATH[ch].encode(),
                              byte=b"a", every_s=0.2, for_s=8)
                self.assertIsNotNone(cut, "a trickled head kept hilo-%s's connection for 8 s" % ch)
                self.assertLess(cut, 4)
                self.assertGreaterEqual(conn.metrics().value("hilo_connector_http_too_slow_total"), 2)
                self.assertEqual(conn.healthz(), 200)

    def wait_history_text(self, debtor, text):
        from hilo_harness import history, wait_until
        return wait_until(lambda: any(it.get("text") == text for _, it in history(self.r, debtor)), 15,
                          "the webhook in the debtor's history")


if __name__ == "__main__":
    unittest.main(verbosity=2)
