"""One clock for the dispatcher (docs/architecture.md, "One clock"): under [engine] test_clock
the hand-off lease, the back-off of a returned message and the give-up (outbound_give_up_ms from
the first try) run on the test clock, like the gate. While the test clock stands still, a
returned message is not tried again and a dead connector's lease does not end, however much
wall-clock time passes; once the test clock passes the back-off or the lease, the message goes
again; and a message not handed to the provider within outbound_give_up_ms of test-clock time
fails as provider_unavailable.
"""

import json
import time
import unittest

import hilo_link_pb2 as pb
from hilo_harness import (TEST_CLOCK_KEY, TEST_CLOCK_OVERRIDES, WORKDAY_10AM_MS, HiloTestCase, cli_path, debtor_key,
                          run_cli, seed_debtor, wait_until)

DEBTOR = "D-7101"
PHONE = "+16505550191"
LEASE_MS = 1000
GIVE_UP_MS = 60000
POLL_MS = 50
T0 = WORKDAY_10AM_MS


class DispatchClock(HiloTestCase):
    def setUp(self):
        if cli_path() is None:
            self.skipTest("the hilo CLI ($HILO_BUILD_DIR/router/cli/hilo) is not built")
        super().setUp()
        self.redis_server = self.redis()
        self.r = self.redis_server.client()
        seed_debtor(self.r, DEBTOR, [PHONE], full_name="Eva Clock")
        self.set_clock(T0)
        self.rt = self.router(self.redis_server, overrides={
            **TEST_CLOCK_OVERRIDES, "router": {"outbound_lease_ms": LEASE_MS, "outbound_poll_ms": POLL_MS,
                                               "outbound_give_up_ms": GIVE_UP_MS}})

    def set_clock(self, ms):
        self.r.set(TEST_CLOCK_KEY, str(ms))

    def send(self, text, channel="sms"):
        return run_cli(self.rt.conf_path, "send", DEBTOR, channel, text).stdout.strip()

    def counted(self, channel):
        """The attempts counted against the debtor's frequency cap on the channel."""
        return set(self.r.zrange(debtor_key(DEBTOR, "contacts:" + channel), 0, -1))

    def ostat(self, oid):
        raw = self.r.hget(debtor_key(DEBTOR, "ostat"), oid)
        return json.loads(raw) if raw else {}

    def attempts(self, conn, oid):
        with conn._lock:
            return list(conn.outbound_seen.get(oid, []))

    def give_back(self, conn, o, channel=pb.CHANNEL_SMS):
        """RETURNED for the attempt received (the router's back-off: 1 s after attempt 1)."""
        env = pb.Envelope(provider_message_id="dr:%s:returned:%d" % (o.outbound_id, o.attempt),
                          channel=channel,
                          delivery=pb.DeliveryReport(outbound_id=o.outbound_id, debtor_id=DEBTOR,
                                                     state=pb.DeliveryReport.STATE_RETURNED, attempt=o.attempt,
                                                     error_code="rate_limited"))
        res = conn.wait_result(conn.send_envelope(envelope=env), 10)
        self.assertEqual(res.kind, "ack", res)

    def still(self, conn, oid, n, what):
        """Wall-clock time passes (3 s: three back-offs, three leases) with the test clock still:
        the message was received n times, no more."""
        time.sleep(3.0)
        self.assertEqual(len(self.attempts(conn, oid)), n, what)

    def test_returned_message_waits_for_the_test_clock(self):
        a = self.connector(self.rt, "sms", "sms-a")
        self.send("Recordatorio de pago")
        o = a.wait_outbound(15)[0]
        self.assertEqual(o.attempt, 1)
        self.give_back(a, o)
        self.still(a, o.outbound_id, 1, "a returned message went again before the test clock passed its back-off")
        self.set_clock(T0 + 999)
        self.still(a, o.outbound_id, 1, "a returned message went again before its back-off (1 s) on the test clock")
        self.set_clock(T0 + 1500)
        wait_until(lambda: len(self.attempts(a, o.outbound_id)) == 2, 10,
                   lambda: "the returned message to go again once the test clock passed its back-off (seen %r)"
                   % self.attempts(a, o.outbound_id))
        self.assertEqual(self.attempts(a, o.outbound_id), [1, 2])

    def test_lease_of_a_dead_connector_ends_on_the_test_clock(self):
        a = self.connector(self.rt, "sms", "sms-a")
        self.send("Mensaje con lease")
        o = a.wait_outbound(15)[0]
        a.close()  # received, never reported
        b = self.connector(self.rt, "sms", "sms-b")
        time.sleep(3.0)  # three leases of wall-clock time
        self.assertEqual(self.attempts(b, o.outbound_id), [],
                         "the lease ended on the wall clock while the test clock stood still")
        self.set_clock(T0 + LEASE_MS + 1)
        got = b.wait_outbound(10)
        self.assertEqual([x.outbound_id for x in got], [o.outbound_id])
        self.assertGreater(got[0].attempt, 1)

    def test_give_up_after_test_clock_time(self):
        a = self.connector(self.rt, "sms", "sms-a")
        self.send("Mensaje que no sale")
        o = a.wait_outbound(15)[0]
        self.give_back(a, o)
        # Half the give-up time later: tried again, not given up.
        self.set_clock(T0 + GIVE_UP_MS // 2)
        wait_until(lambda: len(self.attempts(a, o.outbound_id)) == 2, 10, "the second try")
        self.assertEqual(self.ostat(o.outbound_id).get("state"), None, "still pending")
        self.give_back(a, pb.Outbound(outbound_id=o.outbound_id, attempt=2))
        # Past outbound_give_up_ms since the first try, on the test clock only (seconds of wall
        # time): never handed off again; failed as provider_unavailable.
        self.set_clock(T0 + GIVE_UP_MS + 5000)
        wait_until(lambda: self.ostat(o.outbound_id).get("state") == "failed", 10,
                   lambda: "the message to fail after outbound_give_up_ms of test-clock time (ostat %r, seen %r)"
                   % (self.ostat(o.outbound_id), self.attempts(a, o.outbound_id)))
        st = self.ostat(o.outbound_id)
        self.assertEqual(st.get("reason"), "provider_unavailable", st)
        self.assertEqual(self.attempts(a, o.outbound_id), [1, 2], "never handed off after the give-up")
        self.assertFalse(self.r.hexists(debtor_key(DEBTOR, "out"), o.outbound_id))

    # Calls are capped (Regulation F: 7 in 7 days, the US pack): a call's attempt is counted when
    # it is handed to a connector. One given up after its connector went silent may have been
    # placed, so it stays counted; one every connector gave back was never placed, and does not.

    def test_a_call_given_up_unreported_stays_counted(self):
        a = self.connector(self.rt, "voice", "voice-a")
        self.send("This is ACME calling. Please call us back.", "voice")
        o = a.wait_outbound(15)[0]
        self.assertEqual(self.counted("voice"), {o.outbound_id})
        # Received, never reported (the connector placed it and died, or its report was lost).
        self.set_clock(T0 + GIVE_UP_MS + 5000)
        wait_until(lambda: self.ostat(o.outbound_id).get("state") == "failed", 10,
                   lambda: "the call to fail after the give-up (ostat %r)" % self.ostat(o.outbound_id))
        st = self.ostat(o.outbound_id)
        self.assertEqual((st.get("reason"), st.get("maybe_sent")), ("provider_unavailable", 1), st)
        self.assertEqual(self.counted("voice"), {o.outbound_id}, "a call that may have been placed left the cap")

    def test_a_call_given_back_every_time_is_not_counted(self):
        a = self.connector(self.rt, "voice", "voice-a")
        self.send("This is ACME calling. Please call us back.", "voice")
        o = a.wait_outbound(15)[0]
        self.give_back(a, o, pb.CHANNEL_VOICE)
        self.set_clock(T0 + GIVE_UP_MS + 5000)
        wait_until(lambda: self.ostat(o.outbound_id).get("state") == "failed", 10,
                   lambda: "the call to fail after the give-up (ostat %r)" % self.ostat(o.outbound_id))
        st = self.ostat(o.outbound_id)
        self.assertEqual(st.get("reason"), "provider_unavailable", st)
        self.assertNotIn("maybe_sent", st)
        self.assertEqual(self.counted("voice"), set(), "a call never placed still counts against the cap")


if __name__ == "__main__":
    unittest.main()
