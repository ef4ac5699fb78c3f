"""Redis goes away during traffic and comes back on the same port and directory (AOF everysec).

The router must notice by itself (/healthz 503), refuse new envelopes with a retryable Nack
UNAVAILABLE (or leave them unanswered: the connector's ack timeout re-sends them), reconnect by
itself when Redis is back (/healthz 200, same router process) and go on. Everything acked before
the outage is in Redis after it; in the end everything is acked and stored exactly once.
Three variants: a clean stop (SIGTERM), a crash (SIGKILL: acked writes are in the AOF file,
page cache, before Redis answers) and a hang (SIGSTOP then SIGCONT: nothing is closed, the router
must time Redis out itself).
"""

import collections
import json
import threading
import time
import unittest

from hilo_harness import HiloTestCase, debtor_key, seed_debtor, wait_until

DEBTORS = 50


def phone(i):
    return "+1555020%04d" % i


def debtor(i):
    return "RR-%03d" % i


class RedisRestart(HiloTestCase):
    def test_redis_stop_start(self):
        self._outage("stop")

    def test_redis_sigkill_restart(self):
        self._outage("kill")

    def test_redis_hung(self):
        """Redis stops answering without closing anything (SIGSTOP): hiredis has no command
        timeout, the router must notice by itself after [redis] timeout_ms."""
        self._outage("freeze")

    def _outage(self, mode):
        redis = self.redis()
        r = redis.client()
        pipe = r.pipeline(transaction=False)
        for i in range(DEBTORS):
            seed_debtor(r, debtor(i), [phone(i)], pipe=pipe)
        pipe.execute()
        router = self.router(redis, overrides={"redis": {"timeout_ms": 1000}})
        router_pid = router.proc.pid
        conns = [self.connector(router, "sms", "sms-r", ack_timeout=2.0, window=64),
                 self.connector(router, "whatsapp", "wa-r", ack_timeout=2.0, window=64)]

        sent = {}  # (connector index, seq) -> (channel, pmid, debtor)
        stop_feed = threading.Event()

        def feed():
            n = 0
            while not stop_feed.is_set():
                for k, c in enumerate(conns):
                    i = n % DEBTORS
                    pmid = "rr-%s-%06d" % (c.instance, n)
                    seq = c.send_envelope(provider_message_id=pmid, from_=phone(i), text="m%d" % n)
                    sent[(k, seq)] = (("sms", "whatsapp")[k], pmid, debtor(i))
                n += 1
                if n % 4 == 0:
                    time.sleep(0.01)  # ~800 envelopes/s in total

        feeder = threading.Thread(target=feed, daemon=True)
        feeder.start()
        self.addCleanup(stop_feed.set)
        time.sleep(1.5)

        # Acked before the outage: must survive it.
        acked_before = set()
        for (k, seq), key in list(sent.items()):
            res = conns[k].results.get(seq)
            if res is not None and res.kind == "ack":
                acked_before.add(key)
        self.assertGreater(len(acked_before), 100, "too little traffic before the outage")
        if mode == "kill":
            redis.kill()
        elif mode == "stop":
            redis.stop()
        else:
            redis.freeze()
        try:
            router.wait_health(503, 15)
            self.assertEqual(router.metrics().value("hilo_redis_up"), 0, "hilo_redis_up during the outage")
            time.sleep(1.5)  # traffic keeps coming while Redis is away
        finally:
            if mode == "freeze":
                redis.thaw()
        if mode != "freeze":
            redis.start()
        router.wait_health(200, 30)
        self.assertEqual(router.proc.pid, router_pid, "the router must reconnect, not restart")
        router.assert_running()

        stored = self._stored(r)
        missing = [k for k in acked_before if k not in stored]
        self.assertEqual(missing, [], "%d envelopes acked before the outage are not in Redis"
                         % len(missing))

        time.sleep(1.5)  # traffic after the outage
        stop_feed.set()
        feeder.join(10)
        wait_until(lambda: all(c.pending_count() == 0 for c in conns), 90,
                   lambda: "all envelopes acked (pending %s, stats %s)"
                   % ([c.pending_count() for c in conns], [dict(c.stats) for c in conns]),
                   interval=0.1)
        retried = sum(c.stats["nacks:UNAVAILABLE"] + c.stats["timeouts"] + c.stats["session_down"]
                      for c in conns)
        self.assertGreater(retried, 0, "no retryable nack or timeout during the outage: %s"
                           % [dict(c.stats) for c in conns])
        for (k, seq), key in sent.items():
            res = conns[k].results[seq]
            self.assertEqual(res.kind, "ack", "%s: %r" % (key, res))
            self.assertEqual(res.debtor_id, key[2])

        stored = self._stored(r)
        want = collections.Counter(sent.values())
        doubled = [k for k, n in stored.items() if n > 1]
        self.assertEqual(doubled, [], "stored twice")
        self.assertEqual(set(stored), set(want), "history differs from what was acked")
        m = router.metrics()
        self.assertEqual(m.value("hilo_redis_up"), 1)
        if mode == "freeze":
            self.assertGreaterEqual(m.value("hilo_redis_timeouts_total"), 1, "the silent Redis was noticed")
        print("%s: %d envelopes, acked before outage %d, stats %s"
              % (mode, len(sent), len(acked_before),
                 [dict(c.stats) for c in conns]))

    def _stored(self, r):
        """(channel, pmid, debtor) -> how many history entries."""
        pipe = r.pipeline(transaction=False)
        for i in range(DEBTORS):
            pipe.xrange(debtor_key(debtor(i), "hist"))
        out = collections.Counter()
        for i, entries in enumerate(pipe.execute()):
            for _, f in entries:
                item = json.loads(f["j"])
                out[(item["ch"], item["pmid"], debtor(i))] += 1
        return out


if __name__ == "__main__":
    unittest.main()
