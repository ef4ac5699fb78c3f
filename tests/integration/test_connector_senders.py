"""Connectors that serve numbers of their own (protocol 1.3, docs/protocol.md §4.1).

Two reference SMS connectors on one real router (conversation engine on): A announces our number
+15550001111 in its Hello, B announces +15550002222. Debtors write to one number or the other;
each bot reply goes out through the connector that announced the number the debtor wrote to,
with Outbound.from set to it — never through the other one, whatever the round robin. When B is
away, a reply from B's number waits for it (it does not go out from A's number) and goes once a
connector announcing that number says Hello. A Hello with malformed senders is refused MALFORMED.
"""

import time
import unittest

import hilo_link_pb2 as pb
from engine_helpers import EngineTestCase
from hilo_harness import debtor_key, wait_until

A_NUM, B_NUM = "+15550001111", "+15550002222"


class Senders(EngineTestCase):
    def start(self):
        self.redis_ = self.redis()
        self.r = self.redis_.client()
        self.router_ = self.router(self.redis_, overrides=self.engine_overrides())
        self.import_debtors([{"debtor_id": "D%d" % i, "phones": ["+1650555%04d" % i], "language": "en",
                              "country": "US", "timezone": "America/New_York"} for i in range(6)])

    def write(self, conn, i, to, n):
        seq = conn.send_envelope(provider_message_id="SM-%d-%d" % (i, n), from_="+1650555%04d" % i, to=to,
                                 text="hello")
        self.assertEqual(conn.wait_result(seq, 10).kind, "ack")

    def test_replies_leave_from_the_number_written_to(self):
        self.start()
        a = self.connector(self.router_, "sms", instance="sms-a", senders=[A_NUM])
        b = self.connector(self.router_, "sms", instance="sms-b", senders=[B_NUM])
        for i in range(6):
            self.write(a if i % 2 == 0 else b, i, A_NUM if i % 2 == 0 else B_NUM, 1)
        wait_until(lambda: len(a.outbounds) >= 3 and len(b.outbounds) >= 3, 15, "the bot's six replies")
        time.sleep(0.3)
        self.assertEqual(sorted(o.to for o in a.outbounds), ["+1650555%04d" % i for i in (0, 2, 4)])
        self.assertEqual(sorted(o.to for o in b.outbounds), ["+1650555%04d" % i for i in (1, 3, 5)])
        self.assertEqual({getattr(o, "from") for o in a.outbounds}, {A_NUM})
        self.assertEqual({getattr(o, "from") for o in b.outbounds}, {B_NUM})
        self.assertEqual(self.r.hget(debtor_key("D1", "conv"), "via:sms"), B_NUM)

        # B goes away: D3 writes to B's number again (the envelope comes in through A, as a
        # provider may post to any instance); the reply waits for B's number.
        b.close()
        wait_until(lambda: self.router_.log_lines("link", "event=connector_lost"), 10, "B to be dropped")
        before = len(a.outbounds)
        self.write(a, 3, B_NUM, 2)
        time.sleep(2.5)
        self.assertEqual(len(a.outbounds), before, "a reply from B's number went out through A")
        b2 = self.connector(self.router_, "sms", instance="sms-b2", senders=[B_NUM])
        wait_until(lambda: [o for o in b2.outbounds if o.to == "+16505550003"], 15,
                   "the waiting reply to reach B's number")
        # B never reported on its messages: once their leases end they come to B2 as well (B's
        # number), never to A.
        self.assertEqual({getattr(o, "from") for o in b2.outbounds}, {B_NUM})
        self.assertLessEqual({o.to for o in b2.outbounds}, {"+1650555%04d" % i for i in (1, 3, 5)})
        self.assertEqual(len(a.outbounds), before)

    def test_malformed_senders_are_refused(self):
        self.start()
        for senders, why in ((["+1555"] * 257, "at most 256 senders"), ([""], "sender 1"),
                             ([A_NUM, "x" * 64], "sender 2"), (["bad\nnumber"], "sender 1")):
            link = self.raw_link(self.router_)
            link.send(hello=pb.Hello(channel=pb.CHANNEL_SMS, instance="bad-senders", supports_expiry=True,
                                     senders=senders))
            nack = link.expect("nack")
            self.assertEqual((nack.code, nack.retryable), (pb.Nack.CODE_MALFORMED, False), nack)
            self.assertIn(why, nack.reason)
        ok = self.raw_link(self.router_)
        ok.send(hello=pb.Hello(channel=pb.CHANNEL_SMS, instance="good", senders=[A_NUM, "x" * 63]))
        self.assertGreater(ok.expect("welcome").heartbeat_ms, 0)


if __name__ == "__main__":
    unittest.main()
