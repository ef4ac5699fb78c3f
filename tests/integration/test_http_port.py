"""The router's HTTP port (docs/security.md): it listens on exactly `[router] http_bind`, and every
answer carries the console's security headers.

It used to open a dual-stack IPv6 wildcard socket — every interface, IPv4 and IPv6 — although
the config said 127.0.0.1. Checked by reading the router's listening sockets from /proc, never by
connecting to a non-loopback address.
"""

import socket
import ssl
import unittest
import urllib.error
import urllib.request

from hilo_console import console_overrides
from hilo_fuzz import exchange, trickle
from hilo_harness import HiloTestCase, self_signed_cert, wait_until
from hilo_sockets import listening


class HttpPort(HiloTestCase):
    def http_sockets(self, router):
        return [s for s in listening(router.proc.pid) if s[2] == router.http_port]

    def test_the_configured_address_only(self):
        redis = self.redis()
        router = self.router(redis, overrides=console_overrides(origins="*"))
        self.assertEqual(self.http_sockets(router), [("ipv4", "127.0.0.1", router.http_port)])
        self.assertEqual(router.healthz(), 200)
        # Another loopback address: that one, not 127.0.0.1.
        other = self.router(redis, name="router-2", overrides=dict(console_overrides(origins="*"),
                                                                   router={"http_bind": "127.0.0.2"}), start=False)
        other.start(wait=False)   # (the harness's readiness check asks 127.0.0.1)
        got = wait_until(lambda: self.http_sockets(other), 20, "router-2 listening")
        self.assertEqual(got, [("ipv4", "127.0.0.2", other.http_port)])
        other.assert_running()

    def test_security_headers_on_every_answer(self):
        router = self.router(self.redis(), overrides=console_overrides(origins="*"))
        for path in ("/console/", "/console/console.js", "/healthz", "/nope"):
            with self.subTest(path):
                try:
                    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (router.http_port, path), timeout=5) as r:
                        h = r.headers
                except urllib.error.HTTPError as e:
                    h = e.headers
                csp = h.get("Content-Security-Policy", "")
                self.assertIn("default-src 'none'", csp)
                self.assertIn("script-src 'self'", csp)
                self.assertIn("frame-ancestors 'none'", csp)
                self.assertNotIn("unsafe-inline", csp)
                self.assertEqual(h.get("X-Content-Type-Options"), "nosniff")
                self.assertEqual(h.get("X-Frame-Options"), "DENY")
                self.assertEqual(h.get("Referrer-Policy"), "no-referrer")
                self.assertEqual(h.get("Connection"), "close")

    def test_tls_policy(self):
        """[console] tls_*: TLS 1.2 or 1.3 only, and for 1.2 forward-secret AEAD suites only."""
        key, crt = self_signed_cert(self.workdir)
        router = self.router(self.redis(), overrides=console_overrides(origins="*", tls_cert=crt, tls_key=key),
                             start=False)
        router.start(wait=False)

        def handshake(version, ciphers="DEFAULT:@SECLEVEL=0"):
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            ctx.minimum_version = ctx.maximum_version = version
            if version != ssl.TLSVersion.TLSv1_3:
                ctx.set_ciphers(ciphers)
            try:
                with socket.create_connection(("127.0.0.1", router.http_port), timeout=5) as raw:
                    with ctx.wrap_socket(raw) as s:
                        return s.version(), s.cipher()[0]
            except (ssl.SSLError, ConnectionError):
                return None
        wait_until(lambda: handshake(ssl.TLSVersion.TLSv1_3), 20, "the router over TLS 1.3")
        self.assertIsNotNone(handshake(ssl.TLSVersion.TLSv1_2, "ECDHE-RSA-AES128-GCM-SHA256"))
        self.assertIsNotNone(handshake(ssl.TLSVersion.TLSv1_2, "ECDHE-RSA-CHACHA20-POLY1305"))
        self.assertIsNone(handshake(ssl.TLSVersion.TLSv1_2, "ECDHE-RSA-AES128-SHA"))      # CBC
        self.assertIsNone(handshake(ssl.TLSVersion.TLSv1_2, "AES128-GCM-SHA256"))         # no forward secrecy
        self.assertIsNone(handshake(ssl.TLSVersion.TLSv1_1))
        self.assertIsNone(handshake(ssl.TLSVersion.TLSv1))

    def test_slow_requests_are_cut_off(self):
        """[router] http_request_timeout_ms: a POST body trickled a byte at a time is cut off at
        the deadline (lws alone restarted its timeout on every byte); a client that goes silent
        after its headers is closed after as long."""
        router = self.router(self.redis(), overrides=dict(console_overrides(origins="*"),
                                                          router={"http_request_timeout_ms": "1500"}))
        head = (b"POST /api/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                b"Content-Length: 100000\r\n\r\n")
        cut = trickle(router.http_port, head, every_s=0.2, for_s=8)
        self.assertIsNotNone(cut, "a trickled body kept the connection for 8 s")
        self.assertLess(cut, 6)
        cut = trickle(router.http_port, head, every_s=None, for_s=8)
        self.assertIsNotNone(cut, "a silent client kept the connection for 8 s")
        self.assertLess(cut, 6)
        # Headers trickled a byte at a time: libwebsockets' header-table idle limit (10 s), which
        # a trickle does not restart, cuts them off.
        cut = trickle(router.http_port, b"POST /api/login HTTP/1.1\r\nHost: x\r\nX-A: ", byte=b"a", every_s=0.5,
                      for_s=16)
        self.assertIsNotNone(cut, "trickled headers kept the connection for 16 s")
        self.assertTrue(router.log_lines("mod=http", "event=request_too_slow"))
        self.assertEqual(router.healthz(), 200)

    def test_oversize_heads_get_431(self):
        """A head (request line + the headers the router reads) over 8 KiB is answered 431 and
        closed; libwebsockets alone dropped anything over its 4 KB table without a status, with
        an error line per request."""
        router = self.router(self.redis(), overrides=console_overrides(origins="*"))

        def status(data):
            answer = exchange(router.http_port, data)
            return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.") else None
        get = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: %s\r\n\r\n"
        self.assertEqual(status(get % (b"c" * 6000)), 200)     # under the limit, over lws's old table
        self.assertEqual(status(get % (b"c" * 12000)), 431)
        self.assertEqual(status(b"GET /%s HTTP/1.1\r\nHost: x\r\n\r\n" % (b"p" * 9000)), 431)
        self.assertEqual(status(b"POST /api/login HTTP/1.1\r\nHost: x\r\nUser-Agent: %s\r\nContent-Length: 2\r\n"
                                b"\r\n{}" % (b"u" * 10000)), 431)
        # Past libwebsockets' own table (32 KiB): closed without a status; the process serves on.
        for _ in range(50):
            self.assertIsNone(status(get % (b"c" * 40000)))
        self.assertEqual(router.healthz(), 200)
        # 50 dropped heads, a few complaints (the library's lines are rate-limited).
        self.assertLessEqual(len(router.log_lines("mod=lws")), 25)
        self.assertTrue(router.log_lines("mod=http", "event=header_too_large"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
