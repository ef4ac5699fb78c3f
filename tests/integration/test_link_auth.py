"""The link authenticates (docs/protocol.md §2, docs/security.md "The link authenticates"):
rogue peers on the router's link are refused, each in its own way.

The router runs with link_auth = curve (the harness's default) and the allowlist LinkKeys makes:
"sms-test" for sms, "raw-test" for every channel, plus here "voice-only" (voice) and
"sms-other" (sms, another connector group). Then:

* a peer without a key (a plain ZeroMQ DEALER, as any local process could open) says Hello
  for sms: no Welcome, ever; and a pending SMS outbound is not handed to it;
* a peer with a key the router does not list (a valid CURVE key pair): the handshake is
  refused by the ZAP handler (hilo_link_auth_refused_total, event=link_auth_refused), no
  Welcome;
* a listed key asking for a channel it is not listed for (voice-only says Hello for sms):
  Nack FORBIDDEN to the Hello, no Welcome;
* a listed sms peer of another group (sms-other) reporting SENT, FAILED or RETURNED for an
  outbound it was never handed: Nack FORBIDDEN, and the message stays pending; the connector
  that was handed it (sms-test) settles it, and so may another instance of its group;
* a reference connector with the right key works throughout.

Every case fails on a router without link authentication (there the rogue peers get a Welcome,
the outbound and their reports are accepted).
"""

import json
import os
import time
import unittest

import zmq

import hilo_link_pb2 as pb
from hilo_harness import (TEST_CLOCK_OVERRIDES, HiloTestCase, RawLink, cli_path, debtor_key, run_cli,
                          seed_debtor, use_workday_clock, wait_until)

DEBTOR = "D-8001"
PHONE = "+16505550188"


class LinkAuth(HiloTestCase):
    def setUp(self):
        if cli_path() is None:
            self.skipTest("the hilo CLI ($HILO_BUILD_DIR/router/cli/hilo) is not built")
        if not zmq.has("curve"):
            self.skipTest("pyzmq/libzmq without CURVE")
        super().setUp()

    def start(self, **router):
        self.redis_ = self.redis()
        self.r = self.redis_.client()
        seed_debtor(self.r, DEBTOR, [PHONE], full_name="Ana Rogue")
        use_workday_clock(self.r)
        overrides = {**TEST_CLOCK_OVERRIDES, "router": {"outbound_poll_ms": 50, "outbound_lease_ms": 60000}}
        self.rt = self.router(self.redis_, overrides=overrides, start=False, **router)
        if self.rt.keys is not None:
            self.rt.keys.add("voice-only", ["voice"])
            self.rt.keys.add("sms-other", ["sms"])
            self.rt.keys.add("stranger", ["sms"], listed=False)
        self.rt.start()
        return self.rt

    def rogue(self, **auth):
        link = RawLink(self.rt.link, **auth)
        self.addCleanup(link.close)
        return link

    def hello_answer(self, link, channel, timeout=3.0):
        """Sends Hello for `channel` every 0.5 s for `timeout` s; the first answer (a Frame)
        or None."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            # Never blocking: a DEALER whose handshake failed has no peer, and a blocking send
            # would wait for ever.
            data = pb.Frame(major=1, minor=1, hello=pb.Hello(channel=channel, instance="rogue",
                                                              software="rogue/1")).SerializeToString()
            try:
                link.sock.send(data, zmq.NOBLOCK)
            except zmq.Again:
                pass
            f = link.recv(0.5)
            if f is not None:
                return f
        return None

    def pending(self, oid):
        return self.r.hexists(debtor_key(DEBTOR, "out"), oid)

    def test_rogue_peers_are_refused(self):
        rt = self.start()
        keys = rt.keys

        # 1. No key at all: the CURVE handshake never completes; nothing reaches the router.
        plain = self.rogue()
        f = self.hello_answer(plain, pb.CHANNEL_SMS)
        self.assertIsNone(f, "a peer without a key got an answer: %s" % f)

        # 2. A CURVE key that is not listed: refused by the ZAP handler.
        stranger = self.rogue(**keys.client("stranger"))
        f = self.hello_answer(stranger, pb.CHANNEL_SMS)
        self.assertIsNone(f, "a peer with an unlisted key got an answer: %s" % f)
        wait_until(lambda: rt.metrics().value("hilo_link_auth_refused_total") >= 1, 5,
                   "hilo_link_auth_refused_total to count the unlisted key")
        self.assertTrue(rt.log_lines("event=link_auth_refused", keys.keys["stranger"][0]),
                        "the refusal is logged with the key")

        # 3. A listed key asking for a channel it is not listed for.
        voice_only = self.rogue(**keys.client("voice-only"))
        f = self.hello_answer(voice_only, pb.CHANNEL_SMS)
        self.assertIsNotNone(f, "no answer to a listed key's Hello")
        self.assertEqual(f.WhichOneof("body"), "nack", f)
        self.assertEqual(f.nack.code, pb.Nack.CODE_FORBIDDEN, f)
        self.assertIn("voice-only", f.nack.reason)
        self.assertGreaterEqual(rt.metrics().value("hilo_nacks_total", code="FORBIDDEN"), 1)
        # ... while its own channel is fine.
        f = self.hello_answer(voice_only, pb.CHANNEL_VOICE)
        self.assertEqual(f.WhichOneof("body"), "welcome", f)

        # An SMS outbound while only rogues are around: nobody gets it.
        run_cli(rt.conf_path, "send", DEBTOR, "sms", "Hola Ana, su saldo es 100 USD")
        time.sleep(1.0)
        oid = wait_until(lambda: self.r.hkeys(debtor_key(DEBTOR, "out")), 5, "the outbound committed")[0]
        for link in (plain, stranger):
            f = link.recv(0.2)
            self.assertIsNone(f, "a rogue peer received %s" % f)
        self.assertIsNone(voice_only.recv(0.2), "the voice peer received the SMS outbound")
        self.assertTrue(self.pending(oid))

        # 4. The real SMS connector gets it; a listed SMS peer of another group may not report on
        #    it (SENT, FAILED, RETURNED), and the message stays pending.
        conn = self.connector(rt, "sms", "sms-a")
        got = conn.wait_outbound(15)
        self.assertTrue(got, "the SMS connector never received the outbound")
        self.assertEqual(got[0].outbound_id, oid)
        other = self.rogue(**keys.client("sms-other"))
        f = self.hello_answer(other, pb.CHANNEL_SMS)
        self.assertEqual(f.WhichOneof("body"), "welcome", f)
        self.assertIsNone(other.recv(0.2), "the other group's peer received the outbound")
        seq = 100
        for state, extra in (("STATE_SENT", {"provider_message_id": "SMrogue-1"}),
                             ("STATE_FAILED", {"error_code": "30003"}),
                             ("STATE_RETURNED", {"error_code": "rate_limited", "attempt": 1})):
            seq += 1
            env = pb.Envelope(seq=seq, channel=pb.CHANNEL_SMS, provider_message_id="dr:rogue:%d" % seq,
                              sent_at_ms=int(time.time() * 1000),
                              delivery=pb.DeliveryReport(outbound_id=oid, debtor_id=DEBTOR,
                                                         state=getattr(pb.DeliveryReport, state), **extra))
            setattr(env, "from", PHONE)
            other.send(envelope=env)
            nack = other.expect("nack", 10)
            self.assertEqual((nack.seq, nack.code), (seq, pb.Nack.CODE_FORBIDDEN), "%s: %s" % (state, nack))
            self.assertIn(oid, nack.reason)
            self.assertTrue(self.pending(oid), "a %s report from the wrong connector settled it" % state)
        self.assertEqual(json.loads(self.r.hget(debtor_key(DEBTOR, "odisp"), oid))["to"], ["sms-test"],
                         "the dispatch state names the group the message was handed to")
        self.assertIsNone(self.r.hget(debtor_key(DEBTOR, "ostat"), oid), "no status recorded from the rogue")

        # 5. Another instance of the group it was handed to may report (provider status webhooks
        #    reach any instance): its SENT settles it.
        twin = self.connector(rt, "sms", "sms-b")
        res = twin.wait_result(twin.report_delivery(oid, "sent", provider_message_id="SMreal-1", debtor_id=DEBTOR), 10)
        self.assertEqual(res.kind, "ack", res)
        wait_until(lambda: not self.pending(oid), 5, "the SENT report of the right group to settle it")
        self.assertEqual(json.loads(self.r.hget(debtor_key(DEBTOR, "ostat"), oid))["state"], "sent")

    def test_secret_key_files_must_be_private(self):
        """A router whose secret key file others may read refuses to start, naming the file."""
        redis = self.redis()
        rt = self.router(redis, start=False)
        os.chmod(rt.keys.router_key_file, 0o640)
        rt.start(wait=False)
        wait_until(lambda: rt.proc.poll() is not None, 15, "the router to refuse its key file")
        self.assertEqual(rt.proc.returncode, 2)
        self.assertIn("%s: the secret file has mode 0640: group and others must have no access"
                      % rt.keys.router_key_file, rt.log())
        os.chmod(rt.keys.router_key_file, 0o600)
        rt.start()


if __name__ == "__main__":
    unittest.main()
