"""At most once (protocol 1.2, docs/protocol.md §10.5): a strategy's step reaches a connector whose
Hello says supports_at_most_once with Outbound.at_most_once; the connector reports CALLING and
calls the provider only after the Ack. A message whose lease runs out after CALLING is never
handed off again: it is settled as `unknown`. UNKNOWN from the connector does the same; RETURNED
after CALLING (the provider refused) is retried; a CALLING the router cannot grant is refused
(FORBIDDEN for a connector never handed the message, GONE for an attempt that is no longer the
current one). A 1.1 connector (no flag in its Hello) keeps at-least-once.

Real redis-server and hilo-router (link authentication on, test clock), hand-made peers (RawLink)
that say exactly what each case needs. The strategy's step is committed as the strategy runner
commits one: commit_outbound.lua with a dispatch state carrying "strat" and the conv field
`strat` naming the message (router/lua/lib/strategy_state.lua).

Leases and the return back-off are on the test clock, like the gate (docs/architecture.md, "One
clock"): where a lease must run out or a back-off pass, the test moves the clock past it."""

import json
import time
import unittest

import hilo_link_pb2 as pb
from hilo_harness import (TEST_CLOCK_KEY, TEST_CLOCK_OVERRIDES, HiloTestCase, cli_path, commit_strategy_step, debtor_key, run_cli,
                          seed_debtor, use_workday_clock, wait_until)

DEBTOR, PHONE = "D-8001", "+16505550181"
LEASE_MS = 1500
RS = pb.DeliveryReport


class Peer:
    """A RawLink that speaks just enough of the link: Hello (1.1 or 1.2), reports, reading
    Outbounds and answers (matched by seq)."""

    def __init__(self, link, amo=True, instance="raw"):
        self.link, self.seq, self.frames = link, 0, []
        link.send(hello=pb.Hello(channel=pb.CHANNEL_SMS, instance=instance, software="test_at_most_once",
                                 supports_expiry=True, supports_at_most_once=amo))
        self.wait(lambda f: f.WhichOneof("body") == "welcome", "Welcome")

    def wait(self, pred, what, timeout=10):
        deadline = time.monotonic() + timeout
        while True:
            for i, f in enumerate(self.frames):
                if pred(f):
                    return self.frames.pop(i)
            left = deadline - time.monotonic()
            f = self.link.recv(max(left, 0.01)) if left > 0 else None
            if f is None:
                raise AssertionError("no %s within %ss (frames: %s)" % (what, timeout, self.frames))
            self.frames.append(f)

    def outbound(self, timeout=10):
        return self.wait(lambda f: f.WhichOneof("body") == "outbound", "Outbound", timeout).outbound

    def no_outbound(self, seconds):
        """No Outbound arrives for `seconds`."""
        try:
            o = self.outbound(seconds)
        except AssertionError:
            return
        raise AssertionError("unexpected Outbound %s attempt %d" % (o.outbound_id, o.attempt))

    def report(self, oid, state, attempt=0, **kw):
        """Sends a delivery report about `oid`; returns the answer frame (ack or nack)."""
        self.seq += 1
        seq = self.seq
        name = RS.State.Name(state).lower()
        env = pb.Envelope(seq=seq, channel=pb.CHANNEL_SMS, provider_message_id="dr:%s:%s:%d" % (oid, name, attempt),
                          delivery=pb.DeliveryReport(outbound_id=oid, debtor_id=DEBTOR, state=state, attempt=attempt,
                                                     **kw))
        self.link.send(envelope=env)
        f = self.wait(lambda f: f.WhichOneof("body") in ("ack", "nack") and getattr(f, f.WhichOneof("body")).seq == seq,
                      "the answer to seq %d" % seq)
        return f


def first_outbound(peers, timeout):
    """The first Outbound any of `peers` receives: (outbound, peer)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for p in peers:
            try:
                return p.outbound(0.1), p
            except AssertionError:
                pass
    raise AssertionError("no Outbound within %ss" % timeout)


@unittest.skipUnless(cli_path(), "the hilo CLI is not built")
class AtMostOnce(HiloTestCase):
    def setUp(self):
        super().setUp()
        self.redis_ = self.redis()
        self.r = self.redis_.client()
        seed_debtor(self.r, DEBTOR, [PHONE], full_name="Ana Once")
        use_workday_clock(self.r)
        # A raw peer sends no heartbeats: a long interval keeps its session for the test.
        self.rt = self.router(self.redis_, start=False, overrides={
            **TEST_CLOCK_OVERRIDES, "router": {"outbound_lease_ms": LEASE_MS, "outbound_poll_ms": 50,
                                              "heartbeat_ms": 10000}})
        self.rt.keys.add("sms-other", ["sms"])
        self.rt.start()

    def peer(self, amo=True, key="raw-test", instance="raw"):
        return Peer(self.raw_link(self.rt, key=key), amo=amo, instance=instance)

    def advance(self, ms):
        """Moves the test clock on by `ms`."""
        self.r.set(TEST_CLOCK_KEY, str(int(self.r.get(TEST_CLOCK_KEY)) + ms))

    def ostat(self, oid):
        raw = self.r.hget(debtor_key(DEBTOR, "ostat"), oid)
        return json.loads(raw) if raw else {}

    def odisp(self, oid):
        raw = self.r.hget(debtor_key(DEBTOR, "odisp"), oid)
        return json.loads(raw) if raw else {}

    def audit(self, ev):
        return [f for _, f in self.r.xrange(debtor_key(DEBTOR, "audit")) if f.get("ev") == ev]

    def unknowns(self):
        return self.rt.metrics().value("hilo_outbound_unknown_total", channel="sms")

    def assert_ack(self, f):
        self.assertEqual(f.WhichOneof("body"), "ack", f)

    def assert_nack(self, f, code):
        self.assertEqual(f.WhichOneof("body"), "nack", f)
        self.assertEqual(f.nack.code, code, f)
        self.assertFalse(f.nack.retryable, f)

    # ------------------------------------------------------------------------------------------

    def test_lease_runs_out_after_calling_settles_unknown_never_resent(self):
        a = self.peer(instance="sms-a")
        commit_strategy_step(self.r, DEBTOR, PHONE, "o-step-1", "Recordatorio de pago")
        o = a.outbound()
        self.assertEqual((o.outbound_id, o.attempt, o.at_most_once), ("o-step-1", 1, True))
        self.assert_ack(a.report("o-step-1", RS.STATE_CALLING, attempt=1))
        self.assertEqual(self.odisp("o-step-1").get("calling"), 1, "CALLING recorded before the Ack")
        # A second connector joins; an operator's message waits behind the step (order).
        b = self.peer(instance="sms-b")
        later = run_cli(self.rt.conf_path, "send", DEBTOR, "sms", "Mensaje siguiente").stdout.strip()
        # a "dies" (says nothing more): the lease runs out, the step is settled unknown.
        self.advance(LEASE_MS + 1)
        st = wait_until(lambda: self.ostat("o-step-1") if self.ostat("o-step-1").get("state") == "unknown" else None,
                        LEASE_MS / 1000.0 + 10, lambda: "unknown (ostat %s)" % self.ostat("o-step-1"))
        self.assertEqual((st["reason"], st["rank"], st.get("strat"), st["attempts"]),
                         ("connector_lost_during_call", 4, 1, 1), st)
        self.assertFalse(self.r.hexists(debtor_key(DEBTOR, "out"), "o-step-1"), "left the pending set")
        self.assertNotIn("o-step-1", self.r.zrange(debtor_key(DEBTOR, "oq:sms"), 0, -1), "left the queue")
        evs = [e for e in self.audit("outbound_unknown") if e["ref"] == "o-step-1"]
        self.assertEqual(len(evs), 1, self.audit("outbound_unknown"))
        self.assertEqual(evs[0]["reason"], "connector_lost_during_call")
        self.assertEqual(self.unknowns(), 1)
        # The next message goes (to either connector); the step never again.
        nxt, holder = first_outbound([a, b], 10)
        self.assertEqual((nxt.outbound_id, nxt.at_most_once), (later, False))
        self.assert_ack(holder.report(later, RS.STATE_SENT, attempt=nxt.attempt, provider_message_id="SMnext"))
        self.advance(LEASE_MS + 1)  # past another lease: still never again
        a.no_outbound(LEASE_MS / 1000.0)
        b.no_outbound(0.2)
        # The provider's answer after all: kept beside the unknown, which stays.
        self.assert_ack(a.report("o-step-1", RS.STATE_SENT, attempt=1, provider_message_id="SMlate"))
        st = self.ostat("o-step-1")
        self.assertEqual((st["state"], st["late"]["state"], st["late"]["pmid"]), ("unknown", "sent", "SMlate"), st)

    def test_a_1_1_connector_keeps_at_least_once(self):
        old = self.peer(amo=False, instance="sms-1.1")
        commit_strategy_step(self.r, DEBTOR, PHONE, "o-step-2", "Recordatorio")
        o = old.outbound()
        self.assertEqual((o.outbound_id, o.attempt, o.at_most_once), ("o-step-2", 1, False))
        # Nothing reported: handed off again after the lease, as before 1.2.
        self.advance(LEASE_MS + 1)
        o2 = old.outbound(10)
        self.assertEqual((o2.outbound_id, o2.attempt, o2.at_most_once), ("o-step-2", 2, False))
        self.assertEqual(self.ostat("o-step-2"), {})
        self.assertEqual(self.unknowns(), 0)
        self.assert_ack(old.report("o-step-2", RS.STATE_SENT, attempt=2, provider_message_id="SM2"))
        self.assertEqual(self.ostat("o-step-2")["state"], "sent")

    def test_a_1_2_connector_is_preferred_for_a_step(self):
        old = self.peer(amo=False, instance="sms-1.1")
        new = self.peer(amo=True, instance="sms-1.2")
        for i in range(3):
            oid = "o-pref-%d" % i
            commit_strategy_step(self.r, DEBTOR, PHONE, oid, "Paso %d" % i)
            o = new.outbound()
            self.assertEqual((o.outbound_id, o.at_most_once), (oid, True))
            self.assert_ack(new.report(oid, RS.STATE_CALLING, attempt=o.attempt))
            self.assert_ack(new.report(oid, RS.STATE_SENT, attempt=o.attempt, provider_message_id="SMp%d" % i))
        old.no_outbound(0.3)

    def test_unknown_report_settles_unknown(self):
        a = self.peer()
        commit_strategy_step(self.r, DEBTOR, PHONE, "o-step-3", "Recordatorio")
        o = a.outbound()
        self.assert_ack(a.report("o-step-3", RS.STATE_CALLING, attempt=o.attempt))
        self.assert_ack(a.report("o-step-3", RS.STATE_UNKNOWN, attempt=o.attempt, error_code="network",
                                 error_message="timed out after the request was written"))
        st = self.ostat("o-step-3")
        self.assertEqual((st["state"], st["reason"], st.get("error_code"), st.get("strat")),
                         ("unknown", "provider_outcome_unknown", "network", 1), st)
        self.assertFalse(self.r.hexists(debtor_key(DEBTOR, "out"), "o-step-3"))
        self.assertEqual(len(self.audit("outbound_unknown")), 1)
        self.assertEqual(self.unknowns(), 1)
        self.assertEqual(self.rt.metrics().value("hilo_delivery_reports_total", channel="sms", state="unknown"), 1)
        self.advance(LEASE_MS + 1)  # past the lease: settled, never handed off again
        a.no_outbound(LEASE_MS / 1000.0 + 0.5)
        # A repeat of the report is harmless.
        self.assert_ack(a.report("o-step-3", RS.STATE_UNKNOWN, attempt=o.attempt, error_code="network"))
        self.assertEqual(self.unknowns(), 1)

    def test_returned_after_calling_is_retried(self):
        a = self.peer()
        commit_strategy_step(self.r, DEBTOR, PHONE, "o-step-4", "Recordatorio")
        o = a.outbound()
        self.assert_ack(a.report("o-step-4", RS.STATE_CALLING, attempt=1))
        # The provider refused it with its own error (nothing sent): given back.
        self.assert_ack(a.report("o-step-4", RS.STATE_RETURNED, attempt=1, error_code="20503"))
        self.assertNotIn("calling", self.odisp("o-step-4"))
        self.advance(1001)  # past the back-off after a first attempt (1 s)
        o2 = a.outbound(10)
        self.assertEqual((o2.outbound_id, o2.attempt, o2.at_most_once), ("o-step-4", 2, True))
        # The first attempt's CALLING again (late, duplicated): not the current attempt.
        self.assert_nack(a.report("o-step-4", RS.STATE_CALLING, attempt=1), pb.Nack.CODE_GONE)
        self.assert_ack(a.report("o-step-4", RS.STATE_CALLING, attempt=2))
        self.assert_ack(a.report("o-step-4", RS.STATE_SENT, attempt=2, provider_message_id="SM4"))
        self.assertEqual(self.ostat("o-step-4")["state"], "sent")
        self.assertEqual(self.unknowns(), 0)

    def test_calling_refused(self):
        a = self.peer()
        commit_strategy_step(self.r, DEBTOR, PHONE, "o-step-5", "Recordatorio")
        o = a.outbound()
        # Another group's connector, never handed the message.
        other = self.peer(key="sms-other", instance="sms-other")
        self.assert_nack(other.report("o-step-5", RS.STATE_CALLING, attempt=o.attempt), pb.Nack.CODE_FORBIDDEN)
        self.assertNotIn("calling", self.odisp("o-step-5"), "nothing recorded")
        # Bad input: no attempt; a part; an attempt that is not the current one.
        self.assert_nack(a.report("o-step-5", RS.STATE_CALLING), pb.Nack.CODE_INVALID)
        self.assert_nack(a.report("o-step-5", RS.STATE_CALLING, attempt=o.attempt, part=1, parts=2),
                         pb.Nack.CODE_INVALID)
        self.assert_nack(a.report("o-step-5", RS.STATE_CALLING, attempt=o.attempt + 5), pb.Nack.CODE_GONE)
        self.assertNotIn("calling", self.odisp("o-step-5"))
        # No CALLING before its lease ran out: handed off again (to either connector).
        self.advance(LEASE_MS + 1)
        o2, holder = first_outbound([a, other], 10)
        self.assertEqual((o2.outbound_id, o2.attempt), ("o-step-5", o.attempt + 1))
        # The lapsed attempt's CALLING is refused: its connector must not call.
        self.assert_nack(a.report("o-step-5", RS.STATE_CALLING, attempt=o.attempt), pb.Nack.CODE_GONE)
        self.assert_ack(holder.report("o-step-5", RS.STATE_FAILED, attempt=o2.attempt, error_code="21211"))
        # Settled: nothing to call any more.
        self.assert_nack(holder.report("o-step-5", RS.STATE_CALLING, attempt=o2.attempt), pb.Nack.CODE_GONE)
        self.assertEqual(self.rt.metrics().value("hilo_nacks_total", code="GONE"), 3)
        self.assertEqual(self.rt.metrics().value("hilo_nacks_total", code="FORBIDDEN"), 1)
        self.assertEqual(self.ostat("o-step-5")["state"], "failed")

if __name__ == "__main__":
    unittest.main()
