"""Batched commits (router/src/inbound.c, router/lua/commit_inbound.lua): envelopes that arrive
together share one identity lookup (MGET) and one commit call, and still behave one by one —
each debtor's messages in arrival order, a provider id repeated inside one batch stored once,
unknown senders kept apart. When Redis refuses a write half-way through a batch, the whole
batch is nacked; the connector's retries then store every message exactly once. The history
is capped at [router] history_max (oldest dropped); the audit trail is not.
"""

import time
import unittest

from hilo_harness import HiloTestCase, debtor_key, envelope, history, seed_debtor, wait_until

DEBTORS = [("D-3001", "+573001110001"), ("D-3002", "+573001110002"), ("D-3003", "+573001110003")]
UNKNOWN = "+573009990000"


def commandstats(r):
    return {k[len("cmdstat_"):] if k.startswith("cmdstat_") else k: v["calls"]
            for k, v in r.info("commandstats").items()}


def collect(link, count, timeout=15):
    """The next `count` Ack/Nack frames: {seq: (kind, frame body)}."""
    out = {}
    deadline = time.monotonic() + timeout
    while len(out) < count:
        f = link.recv(max(0.1, deadline - time.monotonic()))
        if f is None:
            raise AssertionError("only %d of %d answers: %s" % (len(out), count, sorted(out)))
        kind = f.WhichOneof("body")
        body = getattr(f, kind)
        out[body.seq] = (kind, body)
    return out


class CommitBatch(HiloTestCase):
    def setUp(self):
        super().setUp()
        self.rs = self.redis()
        self.r = self.rs.client()
        for d, phone in DEBTORS:
            seed_debtor(self.r, d, [phone])
        self.rt = self.router(self.rs, overrides={"router": {"commit_batch_max": "16"}})

    def test_burst_is_batched_and_ordered(self):
        r = self.r
        r.config_resetstat()
        link = self.raw_link(self.rt)
        link.hello("sms", "sms-burst")
        # 48 envelopes without waiting: 15 per debtor in order, 2 from an unknown number, and
        # the first envelope's provider id again (a provider retry landing in the same burst).
        sent = []
        seq = 0
        for k in range(15):
            for d, phone in DEBTORS:
                seq += 1
                sent.append((seq, d, "SMb%s-%02d" % (d, k), phone))
        for k in range(2):
            seq += 1
            sent.append((seq, "u:" + UNKNOWN, "SMu-%02d" % k, UNKNOWN))
        seq += 1
        repeat_seq = seq
        sent.append((seq, DEBTORS[0][0], sent[0][2], DEBTORS[0][1]))
        for s, _, pmid, phone in sent:
            link.send(envelope=envelope(s, "sms", pmid, phone, text="mensaje %d" % s))

        answers = collect(link, len(sent))
        for s, d, pmid, _ in sent:
            kind, body = answers[s]
            self.assertEqual(kind, "ack", (s, body))
            self.assertEqual(body.debtor_id, d, (s, pmid))
            self.assertEqual(body.duplicate, s == repeat_seq, (s, pmid))

        for d, _ in DEBTORS:
            pmids = [i["pmid"] for _, i in history(r, d)]
            self.assertEqual(pmids, ["SMb%s-%02d" % (d, k) for k in range(15)], d)
            self.assertEqual(r.hget(debtor_key(d, "conv"), "msgs_in"), "15")
            self.assertEqual(r.zcard(debtor_key(d, "seen")), 15)
        self.assertEqual([i["pmid"] for _, i in history(r, "u:" + UNKNOWN)], ["SMu-00", "SMu-01"])
        self.assertEqual(r.hget(debtor_key("u:" + UNKNOWN, "conv"), "unidentified"), "1")
        self.assertEqual(r.hget(debtor_key(DEBTORS[0][0], "conv"), "unidentified"), "0")
        # The listing index is written right after the commit, on its own (inbound.c): the acks
        # may reach us before Redis has run it.
        wait_until(lambda: r.zscore("hilo:convs", DEBTORS[1][0]) is not None, 5, "the listing index entry")

        # Batched: fewer lookups and commit calls than envelopes, and at most 16 per call. The
        # envelopes whose address the identity cache answered were not looked up at all.
        calls = commandstats(r)
        hits = int(self.rt.metrics().value("hilo_identity_cache_lookups_total", result="hit"))
        self.assertGreaterEqual(calls.get("mget", 0), (len(sent) - hits) // 16)
        self.assertGreaterEqual(calls.get("mget", 0), 1)
        self.assertLess(calls.get("mget", 0), len(sent))
        self.assertGreaterEqual(calls.get("evalsha", 0), len(sent) // 16)
        self.assertLess(calls.get("evalsha", 0), len(sent))
        self.assertEqual(calls.get("get", 0), 0, "identity is looked up with MGET only")

    def test_refused_write_nacks_the_batch_and_retries_store_once(self):
        r = self.r
        broken = DEBTORS[1][0]
        # A key of the wrong type: Redis refuses the history append for this debtor.
        r.set(debtor_key(broken, "hist"), "not a stream")
        link = self.raw_link(self.rt)
        link.hello("whatsapp", "wa-burst")
        sent = []
        for k in range(10):
            for d, phone in DEBTORS:
                sent.append((len(sent) + 1, d, "wamid.%s.%d" % (d, k), phone))
        for s, _, pmid, phone in sent:
            link.send(envelope=envelope(s, "whatsapp", pmid, phone.lstrip("+"), text="hola %d" % s))
        answers = collect(link, len(sent))
        nacked = [x for x in sent if answers[x[0]][0] == "nack"]
        broken_seqs = {s for s, d, _, _ in sent if d == broken}
        self.assertTrue(broken_seqs <= {s for s, _, _, _ in nacked}, "every message of the broken debtor is nacked")
        for s, _, _, _ in nacked:
            self.assertIn("retry", answers[s][1].reason)
        self.assertTrue(self.rt.log_lines("event=commit_failed"), "the refused commit is logged")

        # Redis repaired; the connector re-sends what was nacked (new seqs, same provider ids).
        r.delete(debtor_key(broken, "hist"))
        retry = [(1000 + i, d, pmid, phone) for i, (_, d, pmid, phone) in enumerate(nacked)]
        for s, _, pmid, phone in retry:
            link.send(envelope=envelope(s, "whatsapp", pmid, phone.lstrip("+"), text="hola otra vez"))
        answers = collect(link, len(retry))
        for s, d, pmid, _ in retry:
            self.assertEqual(answers[s][0], "ack", (s, pmid, answers[s][1]))
            self.assertEqual(answers[s][1].debtor_id, d)

        for d, _ in DEBTORS:
            pmids = sorted(i["pmid"] for _, i in history(r, d))
            self.assertEqual(pmids, sorted("wamid.%s.%d" % (d, k) for k in range(10)), d)
            self.assertEqual(r.hget(debtor_key(d, "conv"), "msgs_in"), "10", d)


class HistoryCap(HiloTestCase):
    def test_history_is_capped_audit_is_not(self):
        rs = self.redis()
        r = rs.client()
        d, phone = DEBTORS[0]
        seed_debtor(r, d, [phone])
        rt = self.router(rs, overrides={"router": {"history_max": "10"}})
        link = self.raw_link(rt)
        link.hello("sms", "sms-cap")
        for s in range(1, 26):
            link.send(envelope=envelope(s, "sms", "SMcap%02d" % s, phone, text="m%d" % s))
        answers = collect(link, 25)
        self.assertTrue(all(kind == "ack" for kind, _ in answers.values()), answers)
        # The newest 10, in order; the conversation counts all 25; the audit keeps all 25.
        self.assertEqual([i["pmid"] for _, i in history(r, d)], ["SMcap%02d" % s for s in range(16, 26)])
        self.assertEqual(r.hget(debtor_key(d, "conv"), "msgs_in"), "25")
        inbound = [f for _, f in r.xrange(debtor_key(d, "audit")) if f.get("ev") == "inbound"]
        self.assertEqual([f["ref"] for f in inbound], ["sms:SMcap%02d" % s for s in range(1, 26)])


if __name__ == "__main__":
    unittest.main()
