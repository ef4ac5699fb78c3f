"""Two routers against one Redis: correctness may not depend on one router process.

- One thread: a debtor's WhatsApp message through router 1, SMS through router 2, call through
  router 1 land in one history, in order.
- Dedupe across routers: the same provider message through router 1 then router 2 is stored once;
  router 2's Ack says duplicate=true.
- Router 1 is SIGKILLed mid-stream while router 2 keeps serving its connectors; router 1 comes
  back, its connectors re-send; every envelope is stored exactly once.
"""

import collections
import json
import time
import unittest

import hilo_link_pb2 as pb
from hilo_harness import HiloTestCase, debtor_key, history, seed_debtor, wait_until

DEBTORS = 100
PER_CONNECTOR = 1000


def phone(i):
    return "+1555030%04d" % i


def debtor(i):
    return "TR-%03d" % i


class TwoRouters(HiloTestCase):
    def setUp(self):
        super().setUp()
        self.rs = self.redis()
        self.r = self.rs.client()
        pipe = self.r.pipeline(transaction=False)
        for i in range(DEBTORS):
            seed_debtor(self.r, debtor(i), [phone(i)], pipe=pipe)
        pipe.execute()
        over = {"router": {"history_max": 100000}}
        self.r1 = self.router(self.rs, "router-1", overrides=over)
        self.r2 = self.router(self.rs, "router-2", overrides=over)

    def test_thread_and_dedupe_across_routers(self):
        wa1 = self.connector(self.r1, "whatsapp", "wa-on-1")
        sms2 = self.connector(self.r2, "sms", "sms-on-2")
        voice1 = self.connector(self.r1, "voice", "voice-on-1")
        sms1 = self.connector(self.r1, "sms", "sms-on-1")
        d, p = debtor(7), phone(7)
        steps = [
            (wa1, dict(provider_message_id="wamid.tr.1", from_=p.lstrip("+"), text="hola")),
            (sms2, dict(provider_message_id="SMtr2", from_=p, text="sms")),
            (voice1, dict(provider_message_id="CAtr3:start", from_=p,
                          voice=pb.VoiceEvent(kind=pb.VoiceEvent.KIND_CALL_START, call_id="CAtr3"))),
        ]
        for conn, fields in steps:
            res = conn.wait_result(conn.send_envelope(**fields), 15)
            self.assertEqual(res.kind, "ack", res)
            self.assertEqual(res.debtor_id, d)
            self.assertFalse(res.duplicate)
            time.sleep(0.01)
        self.assertEqual([(i["ch"], i["pmid"]) for _, i in history(self.r, d)],
                         [("whatsapp", "wamid.tr.1"), ("sms", "SMtr2"), ("voice", "CAtr3:start")])

        # The same SMS through the other router: a duplicate.
        res = sms1.wait_result(sms1.send_envelope(provider_message_id="SMtr2", from_=p, text="sms"), 15)
        self.assertEqual(res.kind, "ack", res)
        self.assertTrue(res.duplicate, res)
        self.assertEqual(res.debtor_id, d)
        # And the other way round, for a new message.
        res = sms1.wait_result(sms1.send_envelope(provider_message_id="SMtr4", from_=p, text="x"), 15)
        self.assertFalse(res.duplicate, res)
        res = sms2.wait_result(sms2.send_envelope(provider_message_id="SMtr4", from_=p, text="x"), 15)
        self.assertTrue(res.duplicate, res)
        self.assertEqual([i["pmid"] for _, i in history(self.r, d)],
                         ["wamid.tr.1", "SMtr2", "CAtr3:start", "SMtr4"])
        dup = lambda rt: rt.metrics().value("hilo_acks_total", duplicate="true")
        self.assertEqual(dup(self.r1), 1)
        self.assertEqual(dup(self.r2), 1)

    def test_a_router_clock_off_shows_on_metrics_and_in_the_log(self):
        """A third router runs 4 s behind (libfaketime): its /metrics shows Redis's clock ~4 s
        ahead and its log warns once (event=clock_skew); routers in step show ~0 and stay
        quiet. Offer deadlines, presence and history times use each router's own clock, so
        operators need to see the skew."""
        behind = self.router(self.rs, "router-behind", clock_offset_s=-4)
        offset = lambda rt: rt.metrics().value("hilo_clock_offset_seconds")
        wait_until(lambda: behind.metrics().has("hilo_clock_offset_seconds"), 5, "the first clock check")
        self.assertAlmostEqual(offset(behind), 4.0, delta=0.5)
        wait_until(lambda: behind.log_lines("event=clock_skew"), 5, "the skew warning")
        self.assertEqual(len(behind.log_lines("event=clock_skew")), 1, "one warning, not one per check")
        for rt in (self.r1, self.r2):
            wait_until(lambda: rt.metrics().has("hilo_clock_offset_seconds"), 5, "the first clock check")
            self.assertLess(abs(offset(rt)), 0.2)
            self.assertEqual(rt.log_lines("event=clock_skew"), [])

    def test_kill9_one_router_other_serves(self):
        conns = [self.connector(self.r1, "sms", "sms-1", ack_timeout=3.0, window=100),
                 self.connector(self.r1, "whatsapp", "wa-1", ack_timeout=3.0, window=100),
                 self.connector(self.r2, "sms", "sms-2", ack_timeout=3.0, window=100),
                 self.connector(self.r2, "whatsapp", "wa-2", ack_timeout=3.0, window=100)]
        chans = ["sms", "whatsapp", "sms", "whatsapp"]
        expected = {}
        for k, c in enumerate(conns):
            for n in range(PER_CONNECTOR):
                i = (n + k) % DEBTORS   # every debtor gets messages through both routers
                pmid = "tr-%s-%05d" % (c.instance, n)
                expected[(chans[k], pmid)] = debtor(i)
                c.send_envelope(provider_message_id=pmid, from_=phone(i), text="n%d" % n)
        on1, on2 = conns[:2], conns[2:]
        acked = lambda cs: sum(c.acked_count() for c in cs)
        wait_until(lambda: acked(on1) >= PER_CONNECTOR // 2, 60, "router 1 half way", interval=0.005)
        self.r1.kill9()
        at_kill = acked(on2)
        time.sleep(1.5)
        after = acked(on2)
        self.assertTrue(after > at_kill or after == 2 * PER_CONNECTOR,
                        "router 2 stopped serving while router 1 was down (%d -> %d)" % (at_kill, after))
        self.r2.assert_running()
        self.r1.start()
        wait_until(lambda: all(c.pending_count() == 0 for c in conns), 120,
                   lambda: "all acked (pending %s)" % [c.pending_count() for c in conns], interval=0.1)
        for c in conns:
            for seq, res in c.results.items():
                self.assertEqual(res.kind, "ack", res)

        pipe = self.r.pipeline(transaction=False)
        for i in range(DEBTORS):
            pipe.xrange(debtor_key(debtor(i), "hist"))
        stored = collections.Counter()
        for i, entries in enumerate(pipe.execute()):
            for _, f in entries:
                item = json.loads(f["j"])
                self.assertEqual(expected.get((item["ch"], item["pmid"])), debtor(i), item)
                stored[(item["ch"], item["pmid"])] += 1
        self.assertEqual([k for k, n in stored.items() if n > 1], [], "stored twice")
        self.assertEqual(set(stored), set(expected), "lost envelopes: %d"
                         % len(set(expected) - set(stored)))


if __name__ == "__main__":
    unittest.main()
