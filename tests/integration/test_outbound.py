"""Outbound messages: committed first, then sent, settled by a delivery report, re-sent after
the lease when nobody reports.

`hilo send <debtor> sms "text"` commits an outbound; the router sends it as an Outbound frame to
the connected SMS connector. A DeliveryReport(SENT) settles it: it leaves hilo:{d:ID}:out and
the debtor's queue (oq:sms), hilo:{d:ID}:ostat has its state; a later report that carries only the
provider's id (DELIVERED) is matched through that id. A connector that receives an outbound and
dies without reporting: after the lease (outbound_lease_ms = 1000 here, on the test clock like
the gate: the test moves it) the router sends it again to the connector that took its place,
with attempt > 1.
"""

import json
import time
import unittest

import hilo_link_pb2 as pb
from hilo_harness import (TEST_CLOCK_KEY, TEST_CLOCK_OVERRIDES, WORKDAY_10AM_MS, HiloTestCase, cli_path, debtor_key, history, run_cli,
                          seed_debtor, use_workday_clock, wait_until)

DEBTOR = "D-7001"
PHONE = "+16505550177"
LEASE_MS = 1000


class Outbound(HiloTestCase):
    def setUp(self):
        if cli_path() is None:
            self.skipTest("the hilo CLI ($HILO_BUILD_DIR/router/cli/hilo) is not built")
        super().setUp()

    def send(self, router, text):
        out = run_cli(router.conf_path, "send", DEBTOR, "sms", text)
        return out.stdout

    def ostat(self, r, oid):
        raw = r.hget(debtor_key(DEBTOR, "ostat"), oid)
        return json.loads(raw) if raw else None

    def test_outbound_delivery_and_lease(self):
        redis = self.redis()
        r = redis.client()
        seed_debtor(r, DEBTOR, [PHONE], full_name="Ana Outbound")
        use_workday_clock(r)  # the gate at hand-off: within contact hours whatever the real time
        router = self.router(redis, overrides={**TEST_CLOCK_OVERRIDES, "router": {"outbound_lease_ms": LEASE_MS,
                                                          "outbound_poll_ms": 50}})
        a = self.connector(router, "sms", "sms-a")

        # 1. Sent, then settled by SENT; DELIVERED by provider id only.
        self.send(router, "Hola Ana, tiene un mensaje")
        got = a.wait_outbound(15)
        self.assertEqual(len(got), 1, "no Outbound reached the SMS connector")
        o = got[0]
        self.assertTrue(o.outbound_id)
        self.assertEqual(o.channel, pb.CHANNEL_SMS)
        self.assertEqual(o.to, PHONE)
        self.assertEqual(o.debtor_id, DEBTOR)
        self.assertEqual(o.text, "Hola Ana, tiene un mensaje")
        self.assertEqual(o.attempt, 1)
        self.assertEqual(r.hexists(debtor_key(DEBTOR, "out"), o.outbound_id), True,
                         "pending until a report settles it")
        out_items = [i for _, i in history(r, DEBTOR) if i["dir"] == "out"]
        self.assertEqual([(i["ch"], i.get("oid")) for i in out_items], [("sms", o.outbound_id)])

        res = a.wait_result(a.report_delivery(o.outbound_id, "sent", provider_message_id="SMout-1"), 10)
        self.assertEqual(res.kind, "ack", res)
        wait_until(lambda: not r.hexists(debtor_key(DEBTOR, "out"), o.outbound_id), 5,
                   "the SENT report to settle the outbound")
        dispatched = len(a.outbound_seen[o.outbound_id])
        self.assertEqual(self.ostat(r, o.outbound_id)["state"], "sent")
        self.assertEqual(r.zrange(debtor_key(DEBTOR, "oq:sms"), 0, -1), [], "left the debtor's queue")
        res = a.wait_result(a.send_envelope(
            provider_message_id="dr:SMout-1:delivered", from_=PHONE,
            delivery=pb.DeliveryReport(provider_message_id="SMout-1",
                                       state=pb.DeliveryReport.STATE_DELIVERED)), 10)
        self.assertEqual(res.kind, "ack", res)
        wait_until(lambda: (self.ostat(r, o.outbound_id) or {}).get("state") == "delivered", 5,
                   lambda: "ostat delivered via the provider id (have %r)" % self.ostat(r, o.outbound_id))
        # A late SENT must not overwrite DELIVERED.
        res = a.wait_result(a.report_delivery(o.outbound_id, "sent", provider_message_id="SMout-1b"), 10)
        self.assertEqual(res.kind, "ack", res)
        self.assertEqual(self.ostat(r, o.outbound_id)["state"], "delivered")
        self.assertEqual(dispatched, 1, "the test clock stood still: no lease ran out")
        r.set(TEST_CLOCK_KEY, str(WORKDAY_10AM_MS + LEASE_MS * 3 // 2))  # past the lease
        time.sleep(1.0)
        self.assertEqual(len(a.outbound_seen[o.outbound_id]), dispatched,
                         "a settled outbound is never re-sent")

        # 2. Received, never reported, the connector dies: re-sent after the lease.
        self.send(router, "Segundo mensaje")
        got = a.wait_outbound(15, count=2)
        self.assertEqual(len(got), 2)
        o2 = got[1]
        self.assertEqual((o2.text, o2.attempt), ("Segundo mensaje", 1))
        a.close()
        b = self.connector(router, "sms", "sms-b")
        # The lease is on the test clock (docs/architecture.md, "One clock"): it ends when the
        # clock passes it.
        r.set(TEST_CLOCK_KEY, str(WORKDAY_10AM_MS + LEASE_MS * 3 + 1))
        got = b.wait_outbound(10)
        self.assertEqual([x.outbound_id for x in got], [o2.outbound_id],
                         "the unsettled outbound must be re-sent to the new connector")
        self.assertGreater(got[0].attempt, 1)
        self.assertEqual(got[0].text, "Segundo mensaje")
        res = b.wait_result(b.report_delivery(o2.outbound_id, "failed", provider_message_id="SMout-2",
                                              error_code="30003", error_message="Unreachable"), 10)
        self.assertEqual(res.kind, "ack", res)
        wait_until(lambda: not r.hexists(debtor_key(DEBTOR, "out"), o2.outbound_id), 5,
                   "the FAILED report to settle the outbound")
        st = self.ostat(r, o2.outbound_id)
        self.assertEqual((st["state"], st.get("error_code")), ("failed", "30003"))

        m = router.metrics()
        self.assertGreaterEqual(m.value("hilo_outbound_sent_total", channel="sms"), 3)
        self.assertGreaterEqual(m.value("hilo_delivery_reports_total", channel="sms", state="sent"), 2)
        self.assertGreaterEqual(m.value("hilo_delivery_reports_total", channel="sms", state="failed"), 1)
        # Delivery reports are not conversation messages: the thread has the two outbounds only.
        self.assertEqual([(i["dir"], i.get("oid")) for _, i in history(r, DEBTOR)],
                         [("out", o.outbound_id), ("out", o2.outbound_id)])

    def test_pending_messages_of_an_older_router_are_sent_in_order(self):
        """An upgrade loses nothing already accepted: messages an older router committed to the
        dispatch index of its time (hilo:outbox:<channel>, "<debtor>|<outbound id>") are moved to
        the debtor's queue when the router starts and go out, oldest first, after the gate."""
        redis = self.redis()
        r = redis.client()
        seed_debtor(r, DEBTOR, [PHONE], full_name="Ana Outbound")
        use_workday_clock(r)
        oids = ["o1795000000000-00000000000%d" % i for i in (1, 2)]
        for i, oid in enumerate(oids):  # as the old commit_outbound.lua wrote them
            ob = pb.Outbound(outbound_id=oid, channel=pb.CHANNEL_SMS, to=PHONE, debtor_id=DEBTOR,
                             text="Mensaje %d" % (i + 1), created_ms=1795000000000 + i)
            r.hset(debtor_key(DEBTOR, "out"), oid, ob.SerializeToString())
            r.zadd("hilo:outbox:sms", {"%s|%s" % (DEBTOR, oid): 1795000000000 + i})
        r.zadd("hilo:outbox:sms", {"%s|o-gone" % DEBTOR: 1, "malformed": 2})  # no payload; no debtor
        router = self.router(redis, overrides={**TEST_CLOCK_OVERRIDES, "router": {"outbound_poll_ms": 50}})
        a = self.connector(router, "sms", "sms-a")
        got = a.wait_outbound(15)
        self.assertEqual([o.outbound_id for o in got], oids[:1], "the oldest first, alone")
        a.wait_result(a.report_delivery(oids[0], "sent", provider_message_id="SMold-1"), 10)
        got = a.wait_outbound(15, count=2)
        self.assertEqual([o.outbound_id for o in got], oids)
        a.wait_result(a.report_delivery(oids[1], "sent", provider_message_id="SMold-2"), 10)
        wait_until(lambda: r.hlen(debtor_key(DEBTOR, "out")) == 0, 10, "both settled")
        self.assertEqual(r.zrange("hilo:outbox:sms", 0, -1), [], "the old index is gone")
        self.assertTrue(router.log_lines("dispatch", "event=outbound_migrated"))


if __name__ == "__main__":
    unittest.main()
