#!/usr/bin/python3
"""test_freq_cap.py — router/lua/freq_cap.lua against a real redis-server.

Starts redis-server on a free port in a temp dir, loads the script with SCRIPT LOAD and runs it
with EVALSHA exactly as the router does (argv built by router/compliance/src/freq_cap.c):
  EVALSHA <sha> 1 hilo:{d:<id>}:contacts:<channel> <now ms> <window ms> <limit> <attempt id>
Checks: the 8th call attempt in 7 days is blocked, old attempts age out, a retried attempt id is
not counted twice, blocked attempts are not recorded, and concurrent callers never exceed the cap.
Needs /usr/bin/python3 with Debian's python3-redis; HILO_SOURCE_DIR (set by ctest) or the repo
layout to find the script.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import redis

from hilo_harness import free_port, lua_script

SOURCE_DIR = os.environ.get("HILO_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
SCRIPT = os.path.join(SOURCE_DIR, "router", "lua", "freq_cap.lua")

DAY = 24 * 3600 * 1000
WEEK = 7 * DAY
T0 = 1752588000000  # Tue 2025-07-15 14:00:00 UTC


class FreqCapTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="hilo-freqcap-")
        cls.port = free_port()
        cls.log = open(os.path.join(cls.tmp, "redis.log"), "w")
        cls.proc = subprocess.Popen(
            ["redis-server", "--port", str(cls.port), "--bind", "127.0.0.1", "--dir", cls.tmp,
             "--save", "", "--appendonly", "no", "--daemonize", "no"],
            stdout=cls.log, stderr=subprocess.STDOUT)
        cls.r = redis.Redis(host="127.0.0.1", port=cls.port, socket_timeout=5)
        deadline = time.time() + 10
        while True:
            try:
                cls.r.ping()
                break
            except redis.exceptions.ConnectionError:
                if time.time() > deadline or cls.proc.poll() is not None:
                    cls.tearDownClass()
                    raise RuntimeError("redis-server did not start")
                time.sleep(0.05)
        cls.sha = cls.r.script_load(lua_script(SCRIPT))

    @classmethod
    def tearDownClass(cls):
        cls.r.close()
        cls.proc.terminate()
        try:
            cls.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            cls.proc.kill()
            cls.proc.wait()
        cls.log.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.r.flushall()

    def cap(self, key, now, attempt, limit=7, window=WEEK, client=None):
        reply = (client or self.r).evalsha(self.sha, 1, key, now, window, limit, attempt)
        return [int(x) for x in reply]

    def test_eighth_call_in_seven_days_is_blocked(self):
        key = "hilo:{d:D1}:contacts:voice"
        for i in range(7):  # one call a day, Tue..Mon
            self.assertEqual(self.cap(key, T0 + i * DAY, f"o{i}"), [1, i + 1, 0])
        # The 8th, on day 6 + 1 h: blocked until the first call (T0) is 7 days old.
        now = T0 + 6 * DAY + 3600 * 1000
        self.assertEqual(self.cap(key, now, "o7"), [0, 7, T0 + WEEK])
        # Blocked attempts are not recorded.
        self.assertEqual(self.r.zcard(key), 7)
        self.assertIsNone(self.r.zscore(key, "o7"))
        # One ms before the first call ages out: still blocked; at T0 + 7 d: allowed.
        self.assertEqual(self.cap(key, T0 + WEEK - 1, "o7")[0], 0)
        self.assertEqual(self.cap(key, T0 + WEEK, "o7"), [1, 7, 0])
        # The aged-out entry was pruned, the key expires with the window.
        self.assertIsNone(self.r.zscore(key, "o0"))
        self.assertGreater(self.r.pttl(key), 0)
        self.assertLessEqual(self.r.pttl(key), WEEK)

    def test_old_attempts_age_out(self):
        key = "hilo:{d:D2}:contacts:sms"
        for i in range(3):
            self.assertEqual(self.cap(key, T0 + i, f"a{i}", limit=3, window=DAY)[0], 1)
        self.assertEqual(self.cap(key, T0 + 10, "a3", limit=3, window=DAY), [0, 3, T0 + DAY])
        # A day later all three are out of the window: the count starts again.
        self.assertEqual(self.cap(key, T0 + DAY + 2, "a4", limit=3, window=DAY), [1, 1, 0])
        self.assertEqual(self.r.zcard(key), 1)

    def test_retried_attempt_counts_once(self):
        key = "hilo:{d:D3}:contacts:whatsapp"
        self.assertEqual(self.cap(key, T0, "same", limit=2), [1, 1, 0])
        self.assertEqual(self.cap(key, T0 + 5, "same", limit=2), [1, 1, 0])
        self.assertEqual(self.cap(key, T0 + 6, "other", limit=2), [1, 2, 0])
        # At the cap, a retry of a recorded attempt is still allowed (it was already sent).
        self.assertEqual(self.cap(key, T0 + 7, "same", limit=2), [1, 2, 0])
        self.assertEqual(self.cap(key, T0 + 8, "third", limit=2)[0], 0)

    def test_channels_and_debtors_are_separate(self):
        for i in range(7):
            self.cap("hilo:{d:D4}:contacts:voice", T0 + i, f"v{i}")
        self.assertEqual(self.cap("hilo:{d:D4}:contacts:voice", T0 + 8, "v8")[0], 0)
        self.assertEqual(self.cap("hilo:{d:D4}:contacts:sms", T0 + 8, "s1")[0], 1)
        self.assertEqual(self.cap("hilo:{d:D5}:contacts:voice", T0 + 8, "v1")[0], 1)

    def test_bad_arguments(self):
        with self.assertRaises(redis.exceptions.ResponseError):
            self.r.evalsha(self.sha, 1, "hilo:{d:D6}:contacts:sms", T0, 0, 7, "x")
        with self.assertRaises(redis.exceptions.ResponseError):
            self.r.evalsha(self.sha, 1, "hilo:{d:D6}:contacts:sms", "soon", WEEK, 7, "x")

    def test_concurrent_callers_never_exceed_the_cap(self):
        key = "hilo:{d:D7}:contacts:voice"
        results = []
        lock = threading.Lock()

        def worker(n):
            client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5)
            for k in range(5):
                res = self.cap(key, T0 + k, f"w{n}-{k}", client=client)
                with lock:
                    results.append(res[0])
            client.close()

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(len(results), 40)
        self.assertEqual(sum(results), 7)
        self.assertEqual(self.r.zcard(key), 7)


if __name__ == "__main__":
    if not os.path.exists(SCRIPT):
        sys.exit(f"missing {SCRIPT}")
    unittest.main(verbosity=2)
