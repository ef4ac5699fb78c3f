"""No loss, no doubles when the router is SIGKILLed mid-stream.

Four connectors (each its own DEALER socket and I/O thread) push 10,000 envelopes in total,
spread over 200 imported debtors. When about a fifth are acked the router is killed with
SIGKILL and started again on the same ports, and again at about 60%. The connectors only follow
docs/protocol.md: they keep every unacked envelope and re-send it (after HELLO_REQUIRED /
Welcome / ack timeout) until it is acked. Afterwards every envelope is in Redis exactly once:
10,000 history entries whose provider ids are exactly the ones sent, each in its debtor's thread.

test_router_frozen: the router hangs (SIGSTOP) instead; the connector's silence detection
(3 heartbeat intervals) and Hello loop bring the session back when it wakes up.
"""

import collections
import json
import time
import unittest

from hilo_harness import HiloTestCase, debtor_key, seed_debtor, wait_until

DEBTORS = 200
CONNECTORS = [("sms", "sms-a"), ("whatsapp", "wa-a"), ("sms", "sms-b"), ("whatsapp", "wa-b")]
PER_CONNECTOR = 2500
KILL_AT = (2000, 6000)  # acked envelopes (all connectors) when the router is killed
BUDGET_S = 150          # the whole test must stay under 3 minutes, also under ASan


def phone(i):
    return "+1555%07d" % i


def debtor(i):
    return "K9-%04d" % i


class RouterKill9(HiloTestCase):
    def test_kill9_mid_stream(self):
        t0 = time.monotonic()
        redis = self.redis()
        r = redis.client()
        pipe = r.pipeline(transaction=False)
        for i in range(DEBTORS):
            seed_debtor(r, debtor(i), [phone(i)], pipe=pipe)
        pipe.execute()
        router = self.router(redis, overrides={"router": {"history_max": 100000}})

        conns = [self.connector(router, ch, inst, ack_timeout=3.0, window=200)
                 for ch, inst in CONNECTORS]
        expected = {}  # (channel, pmid) -> debtor id
        sent = []      # (connector, seq, expected debtor)
        for k, c in enumerate(conns):
            ch = CONNECTORS[k][0]
            for n in range(PER_CONNECTOR):
                i = (k * PER_CONNECTOR + n) % DEBTORS
                pmid = "k9-%s-%05d" % (c.instance, n)
                expected[(ch, pmid)] = debtor(i)
                seq = c.send_envelope(provider_message_id=pmid, from_=phone(i), to="+15550000000",
                                      text="msg %d of %s" % (n, c.instance))
                sent.append((c, seq, debtor(i)))
        total = len(sent)
        self.assertEqual(total, 10000)

        acked = lambda: sum(c.acked_count() for c in conns)
        kills = []
        for kill_at in KILL_AT:
            wait_until(lambda: acked() >= kill_at, 60,
                       lambda: "%d acks before the kill (have %d)" % (kill_at, acked()), interval=0.005)
            kills.append(acked())
            router.kill9()
            self.assertLess(kills[-1], total, "the stream ended before the kill: not mid-stream")
            time.sleep(0.5)  # connectors now talk to nobody
            router.start()
        at_kill = kills

        left = BUDGET_S - (time.monotonic() - t0)
        wait_until(lambda: all(c.pending_count() == 0 for c in conns), left,
                   lambda: "all envelopes acked (pending %s, stats %s)"
                   % ([c.pending_count() for c in conns], [dict(c.stats) for c in conns]),
                   interval=0.1)

        # Every envelope got an Ack (never a final Nack) naming its debtor.
        for c, seq, want in sent:
            res = c.results[seq]
            self.assertEqual(res.kind, "ack", res)
            self.assertEqual(res.debtor_id, want, res)
        resends = sum(c.stats["resends"] for c in conns)
        self.assertGreater(resends, 0, "nothing was re-sent: the kill did not hit in-flight traffic")

        # Redis: exactly the envelopes sent, each once, each in its debtor's thread.
        pipe = r.pipeline(transaction=False)
        for i in range(DEBTORS):
            pipe.xrange(debtor_key(debtor(i), "hist"))
        stored = collections.Counter()
        misfiled = []
        for i, entries in enumerate(pipe.execute()):
            for _, fields in entries:
                item = json.loads(fields["j"])
                key = (item["ch"], item["pmid"])
                stored[key] += 1
                if expected.get(key) != debtor(i):
                    misfiled.append((debtor(i), key))
        doubled = [k for k, n in stored.items() if n > 1]
        lost = [k for k in expected if k not in stored]
        extra = [k for k in stored if k not in expected]
        self.assertEqual(doubled, [], "%d envelopes stored twice" % len(doubled))
        self.assertEqual(lost, [], "%d envelopes lost" % len(lost))
        self.assertEqual(extra, [], "unexpected history entries")
        self.assertEqual(misfiled, [], "entries in the wrong thread")
        self.assertEqual(sum(stored.values()), total)
        msgs_in = sum(int(r.hget(debtor_key(debtor(i), "conv"), "msgs_in") or 0) for i in range(DEBTORS))
        self.assertEqual(msgs_in, total, "conv.msgs_in counts every message once")
        sys_stats = {c.instance: dict(c.stats) for c in conns}
        print("kills at %s acked; %.1fs; connector stats: %s"
              % (at_kill, time.monotonic() - t0, sys_stats))

    def test_router_frozen(self):
        """A router that hangs (SIGSTOP) longer than 3 heartbeat intervals: the connector
        declares the session dead, keeps everything, says Hello every interval; when the router
        wakes up (SIGCONT) a Welcome reopens the session and everything is acked, once."""
        redis = self.redis()
        r = redis.client()
        seed_debtor(r, debtor(0), [phone(0)])
        router = self.router(redis)
        c = self.connector(router, "sms", "sms-frozen", ack_timeout=3.0, window=50)
        send = lambda a, b: [c.send_envelope(provider_message_id="fz-%04d" % k, from_=phone(0),
                                             text="k%d" % k) for k in range(a, b)]
        n = 400
        seqs = send(0, 100)
        self.assertTrue(c.wait_all(30), "first 100 acked")
        router.freeze()
        try:
            seqs += send(100, 300)   # 50 go out (the window) and get no answer
            hb = c.heartbeat_s
            wait_until(lambda: c.stats["session_down"] >= 1, 3 * hb + 5,
                       "the connector to notice the silent router (3 heartbeat intervals)")
            self.assertFalse(c.session_up)
            seqs += send(300, n)     # queued while the session is down
            time.sleep(2 * hb)       # a few Hellos go unanswered meanwhile
            self.assertEqual(c.acked_count(), 100)
        finally:
            router.thaw()
        self.assertTrue(c.wait_all(60), "all acked after the router woke up: %s" % dict(c.stats))
        self.assertTrue(c.wait_session(5))
        self.assertTrue(all(c.results[s].kind == "ack" for s in seqs))
        self.assertGreaterEqual(c.stats["welcomes"], 2)
        pmids = [json.loads(f["j"])["pmid"] for _, f in r.xrange(debtor_key(debtor(0), "hist"))]
        self.assertEqual(sorted(pmids), ["fz-%04d" % k for k in range(n)], "each stored once")


if __name__ == "__main__":
    unittest.main()
