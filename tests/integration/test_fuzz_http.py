"""Seeded random HTTP requests on the router's HTTP port (the console, /api/login, /healthz,
/metrics), written on raw sockets so that nothing in a client library tidies them: odd methods
and paths (traversal attempts among them), broken request lines and headers, lying
Content-Lengths, login bodies of every shape, plain garbage.

What must hold whatever the request:
* it is answered with an HTTP status the router uses, or the connection is closed — never a
  hang past the timeout;
* no file outside the console's assets is ever served;
* the router keeps serving (/healthz after every chunk), exits 0 on SIGTERM and, in the
  ASan+UBSan build, reports nothing (the cleanup checks both).

HILO_FUZZ_SEED and HILO_FUZZ_REQUESTS run other seeds or longer.
"""

import os
import random
import re
import socket
import sys
import unittest

from hilo_console import console_overrides
from hilo_fuzz import exchange, http_request
from hilo_harness import HiloTestCase

SEED = int(os.environ.get("HILO_FUZZ_SEED", "20261123"))
REQUESTS = int(os.environ.get("HILO_FUZZ_REQUESTS", "1500"))
CHUNK = 100
STATUSES = {200, 204, 301, 302, 304, 400, 401, 403, 404, 405, 408, 411, 413, 414, 415, 429, 431, 500, 501, 503,
            505}
OUTSIDE = [b"root:x:0:0", b"[redis]", b"appendonly"]     # /etc/passwd, the router's config, redis.conf
PATHS = ["/", "/console/", "/console/index.html", "/console/app.js", "/console/../../../../etc/passwd",
         "/console/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/console/..%2f..%2f..%2fetc%2fpasswd",
         "/console/....//....//etc/passwd", "/console/.hidden", "/console//etc/passwd", "/console/%00",
         "/console/" + "a" * 300, "/healthz", "/healthz?x=1", "/metrics", "/api/login", "/api/console-stats",
         "/ws", "/nope", "//", "*", "http://127.0.0.1/healthz", "/" + "x" * 9000, "/con sole/", "/ñ",
         "/console/%ff%fe", "/console/router-1/hilo.conf", "/console/../hilo.conf"]
LOGIN_BODIES = [{"agent": "ana", "password": "x"}, {"agent": 1, "password": None}, {"agent": "ana"}, {}, [],
                {"agent": "a" * 5000, "password": "p"}, {"agent": "ana", "password": ["x"]}, "ana", None, 1e308,
                {"agent": "\u0000", "password": "\u202e"}, {"agent": "ana", "password": "x", "extra": {"deep": [[]]}}]


class FuzzHttp(HiloTestCase):
    def test_root_redirects_to_the_console(self):
        # (this request once crashed the router: the redirect was written with no buffer)
        router = self.router(self.redis(), overrides=console_overrides(origins="*"))
        for req in (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", b"GET / HTTP/1.0\r\n\r\n"):
            resp = exchange(router.http_port, req)
            self.assertRegex(resp, rb"^HTTP/1\.[01] 302 ", resp)
            self.assertIn(b"\r\nlocation: /console/\r\n", resp.lower())
        router.assert_running()
        self.assertEqual(router.healthz(), 200)

    def test_random_requests_are_answered_or_closed_and_leak_no_file(self):
        rng = random.Random(SEED)
        redis = self.redis()
        router = self.router(redis, overrides=console_overrides(origins="*"))
        statuses = {}
        for n in range(REQUESTS):
            data = http_request(rng, router.http_port, PATHS, json_bodies=LOGIN_BODIES)
            try:
                resp = exchange(router.http_port, data)
            except socket.timeout:
                self.fail("seed %d: no answer and no close within 5 s to %r" % (SEED, data[:300]))
            what = "seed %d: %r -> %r" % (SEED, data[:200], resp[:300])
            for needle in OUTSIDE:
                self.assertNotIn(needle, resp, "a file outside the assets was served: " + what)
            m = re.match(rb"HTTP/1\.[01] (\d{3}) ", resp)
            if resp:
                self.assertIsNotNone(m, "not an HTTP response: " + what)
                status = int(m.group(1))
                self.assertIn(status, STATUSES, what)
                statuses[status] = statuses.get(status, 0) + 1
            else:
                statuses["closed"] = statuses.get("closed", 0) + 1
            if n % CHUNK == CHUNK - 1:
                router.assert_running()
                self.assertEqual(router.healthz(), 200, "seed %d: /healthz after request %d" % (SEED, n))
        self.assertGreater(statuses.get(200, 0), REQUESTS // 20, "too few served to mean anything: %r" % statuses)
        self.assertGreater(statuses.get(404, 0) + statuses.get(400, 0), REQUESTS // 10, statuses)
        print("fuzz: seed %d, %d requests: %r" % (SEED, REQUESTS, sorted(statuses.items(), key=str)),
              file=sys.stderr)


if __name__ == "__main__":
    unittest.main()
