"""Pipelined HTTP requests on the router's HTTP port (console, /api/login, /healthz), plain and
TLS: no request freezes the router (docs/security.md, "One request per connection").

libwebsockets 4.1.6 spun for ever, at 100 % CPU, on a request with a body that it parsed from
bytes already buffered on the connection: two POSTs in one write, a GET then a POST, or a second
POST written before the first was answered. The router then answered nothing, /healthz
included, and ignored SIGTERM. It now answers every HTTP/1 request with `Connection: close` and
closes the connection, so no second request is ever parsed on it. Each case below: the first
request is answered, the connection is closed after it, and the router keeps serving (a
frozen router answers no /healthz), then exits 0 on SIGTERM (the harness's cleanup).
"""

import json
import ssl
import unittest

from hilo_console import console_overrides
from hilo_fuzz import pipelined, post
from hilo_harness import HiloTestCase, self_signed_cert, wait_until

LOGIN = "/api/login"
GET_HEALTHZ = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
CASES = {
    "two POSTs in one write": ([post(LOGIN, b"{}") + post(LOGIN, b"{}")], 0),
    "a GET then a POST in one write": ([GET_HEALTHZ + post(LOGIN, b"{}")], 0),
    "a second POST before the first is answered": ([post(LOGIN, b"{}"), post(LOGIN, b"{}")], 0.3),
    "a POST then a POST of a large body": ([post(LOGIN, b"{}") + post(LOGIN, b"x" * 20000)], 0),
}


class HttpPipelining(HiloTestCase):
    def check(self, router, ssl_context=None):
        for name, (parts, gap) in CASES.items():
            with self.subTest(name):
                answer, closed = pipelined(router.http_port, parts, gap, ssl_context)
                head = answer.split(b"\r\n\r\n", 1)[0].lower()
                self.assertRegex(head, rb"^http/1\.1 (200|400|401) ", answer[:200])
                self.assertIn(b"\r\nconnection: close", head)
                self.assertEqual(answer.count(b"HTTP/1.1 "), 1, answer[:400])  # only the first is answered
                self.assertTrue(closed, "the router kept the connection open")
                router.assert_running()
                self.assertEqual(self.healthz(router, ssl_context), 200, name)

    def healthz(self, router, ssl_context):
        if ssl_context is None:
            return router.healthz()
        try:
            answer, _ = pipelined(router.http_port, [GET_HEALTHZ], ssl_context=ssl_context)
        except OSError:
            return None
        return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else None

    def test_plain(self):
        router = self.router(self.redis(), overrides=console_overrides(origins="*"))
        self.check(router)
        # Keep-alive is gone, requests are not: a login still works, one connection each.
        answer, _ = pipelined(router.http_port, [post(LOGIN, json.dumps({"agent": "x", "password": "y"}).encode())])
        self.assertRegex(answer, rb"^HTTP/1\.1 401 ")

    def test_tls(self):
        key, crt = self_signed_cert(self.workdir)
        router = self.router(self.redis(), overrides=console_overrides(origins="*", tls_cert=crt, tls_key=key),
                             start=False)
        router.start(wait=False)
        ctx = ssl.create_default_context(cafile=crt)
        ctx.check_hostname = False
        ctx.set_alpn_protocols(["http/1.1"])
        wait_until(lambda: self.healthz(router, ctx) == 200, 20, "the router over TLS")
        self.check(router, ctx)


if __name__ == "__main__":
    unittest.main(verbosity=2)
