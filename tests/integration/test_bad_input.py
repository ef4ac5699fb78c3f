"""Bad input on the link: each bad frame gets a Nack with the right code, a reason and
retryable=false (or true for HELLO_REQUIRED), the router logs a line with the code and the
reason, nothing of it is stored, the session that sent it goes on working, and another
connector is served meanwhile (a valid envelope interleaved after every bad one is acked).
"""

import time
import unittest

import hilo_link_pb2 as pb
from hilo_harness import HiloTestCase, envelope, history, seed_debtor, wait_until

DEBTOR = "D-5001"
PHONE = "+16505550101"
PLACEHOLDER = b"@@PLACEHOLDER@@"
BAD_UTF8 = b"ab\xc3\x28\xed\xa0\x80\xffcd\xf8\x88\x80\x80!"   # bad continuation, surrogate, 0xff, 5-byte form
assert len(BAD_UTF8) == len(PLACEHOLDER)


def frame_bytes(env, major=1):
    return pb.Frame(major=major, minor=0, envelope=env).SerializeToString()


def with_bad_utf8(env):
    """The frame of `env`, with the string that was PLACEHOLDER replaced by invalid UTF-8 bytes
    of the same length (so every length prefix stays right). protobuf refuses to build it."""
    data = frame_bytes(env)
    assert data.count(PLACEHOLDER) == 1
    return data.replace(PLACEHOLDER, BAD_UTF8)


class BadInput(HiloTestCase):
    def test_bad_frames(self):
        redis = self.redis()
        r = redis.client()
        seed_debtor(r, DEBTOR, [PHONE])
        router = self.router(redis)
        good = self.connector(router, "whatsapp", "wa-good")
        link = self.raw_link(router)
        welcome = link.hello("sms", "sms-bad")
        self.assertGreater(welcome.max_payload, 0)
        self.assertGreater(welcome.heartbeat_ms, 0)
        m0 = router.metrics()

        big = envelope(22, "sms", "SMbig", PHONE, text="x" * (welcome.max_payload + 100))
        unspecified = envelope(23, "sms", "SMunspec", PHONE, text="hi")
        unspecified.channel = pb.CHANNEL_UNSPECIFIED
        two_kinds = envelope(30, "sms", "SMtwo", PHONE)
        two_kinds.button.payload = "YES"
        two_kinds.voice.kind = pb.VoiceEvent.KIND_CALL_START
        cases = [
            # (what, bytes, expected code, seq expected in the Nack: None = 0 or the seq)
            ("not protobuf", b"\xff\xfenot a protobuf frame", "MALFORMED", 0),
            ("truncated", b"\x62\x10\x08\x01", "MALFORMED", 0),
            ("major 2", frame_bytes(envelope(21, "sms", "SMv2", PHONE, text="hi"), major=2), "VERSION", None),
            ("oversize", frame_bytes(big), "TOO_LARGE", None),
            ("channel unspecified", frame_bytes(unspecified), "UNKNOWN_CHANNEL", 23),
            ("not the hello's channel", frame_bytes(envelope(24, "voice", "CAx", PHONE,
                                                             voice=pb.VoiceEvent(kind=1, call_id="CAx"))),
             "UNKNOWN_CHANNEL", 24),
            ("invalid UTF-8 in text", with_bad_utf8(envelope(25, "sms", "SMutf", PHONE,
                                                             text=PLACEHOLDER.decode())), "INVALID_UTF8", 25),
            ("invalid UTF-8 in a nested media caption",
             with_bad_utf8(envelope(26, "sms", "SMutf2", PHONE,
                                    media=[pb.Media(url="https://x/y.jpg", caption=PLACEHOLDER.decode())])),
             "INVALID_UTF8", 26),
            ("missing provider_message_id", frame_bytes(envelope(27, "sms", "", PHONE, text="hi")), "INVALID", 27),
            ("missing from", frame_bytes(envelope(28, "sms", "SMnofrom", "", text="hi")), "INVALID", 28),
            ("no content", frame_bytes(envelope(29, "sms", "SMempty", PHONE)), "INVALID", 29),
            ("button and voice", frame_bytes(two_kinds), "INVALID", 30),
            ("from is not a phone number", frame_bytes(envelope(31, "sms", "SMnotphone", "hello@example",
                                                                text="hi")), "INVALID", 31),
            ("delivery report without any id",
             frame_bytes(envelope(32, "sms", "dr:x", PHONE,
                                  delivery=pb.DeliveryReport(state=pb.DeliveryReport.STATE_SENT))), "INVALID", 32),
            ("delivery report about a part beyond its parts",
             frame_bytes(envelope(33, "sms", "dr:SMp:sent", PHONE,
                                  delivery=pb.DeliveryReport(state=pb.DeliveryReport.STATE_SENT, outbound_id="o1",
                                                             debtor_id=DEBTOR, provider_message_id="SMp",
                                                             part=3, parts=2))), "INVALID", 33),
            ("delivery report with more than 100 parts",
             frame_bytes(envelope(34, "sms", "dr:SMq:sent", PHONE,
                                  delivery=pb.DeliveryReport(state=pb.DeliveryReport.STATE_SENT,
                                                             provider_message_id="SMq", part=1, parts=101))),
             "INVALID", 34),
            ("returned message named only by the provider's id",
             frame_bytes(envelope(35, "sms", "dr:o9:returned:1", PHONE,
                                  delivery=pb.DeliveryReport(state=pb.DeliveryReport.STATE_RETURNED,
                                                             provider_message_id="SMr", attempt=1))),
             "INVALID", 35),
            ("delivery state out of range",
             frame_bytes(envelope(36, "sms", "dr:o9:x", PHONE,
                                  delivery=pb.DeliveryReport(state=99, outbound_id="o9", debtor_id=DEBTOR))),
             "INVALID", 36),
        ]
        good_seqs = []
        for n, (what, data, code, want_seq) in enumerate(cases):
            with self.subTest(what):
                link.send_bytes(data)
                nack = link.expect("nack")
                got = pb.Nack.Code.Name(nack.code)[len("CODE_"):]
                self.assertEqual(got, code, "%s: %s" % (what, nack))
                self.assertTrue(nack.reason.strip(), "%s: a Nack must carry a reason" % what)
                self.assertFalse(nack.retryable, "%s: %s is final" % (what, code))
                if want_seq is not None:
                    self.assertEqual(nack.seq, want_seq, what)
                else:
                    self.assertIn(nack.seq, (0, 21, 22), what)
            # Meanwhile another connector is served.
            seq = good.send_envelope(provider_message_id="wamid.good.%d" % n, from_="16505550101",
                                     text="still here %d" % n)
            good_seqs.append(seq)
            res = good.wait_result(seq, 10)
            self.assertIsNotNone(res, "the router stopped serving after %r" % what)
            self.assertEqual(res.kind, "ack", "%s: %r" % (what, res))

        # The session that sent all that is still open: a valid envelope is acked.
        link.send(envelope=envelope(40, "sms", "SMvalid", PHONE, text="valid at last"))
        ack = link.expect("ack")
        self.assertEqual((ack.seq, ack.duplicate, ack.debtor_id), (40, False, DEBTOR))

        # Only the valid ones are stored.
        pmids = [i["pmid"] for _, i in history(r, DEBTOR)]
        self.assertEqual(pmids, ["wamid.good.%d" % n for n in range(len(cases))] + ["SMvalid"])
        self.assertEqual(r.keys("hilo:{d:u:*"), [], "nothing filed under unidentified contacts")

        # One log line per refusal, with the code and the reason (no message bodies).
        want = {}
        for _, _, code, _ in cases:
            want[code] = want.get(code, 0) + 1

        def logged():
            return all(len(router.log_lines("event=nack", "code=" + c, "reason=")) >= k
                       for c, k in want.items())
        wait_until(logged, 10, lambda: "nack log lines %r in:\n%s" % (
            want, "\n".join(router.log_lines("nack"))))
        for line in router.log_lines("event=nack"):
            self.assertNotIn("still here", line)
            self.assertNotIn("valid at last", line)
        # The reference connector refuses an oversize envelope itself (never sent).
        seq = good.send_envelope(provider_message_id="wamid.big", from_="16505550101",
                                 text="y" * (good.max_payload + 1))
        res = good.wait_result(seq, 10)
        self.assertEqual((res.kind, res.nack.code, res.nack.retryable),
                         ("nack", pb.Nack.CODE_TOO_LARGE, False), res)

        m1 = router.metrics()
        for code, k in want.items():
            self.assertEqual(m1.value("hilo_nacks_total", code=code) - m0.value("hilo_nacks_total", code=code),
                             k, "hilo_nacks_total{code=%s}" % code)

    def test_session_rules(self):
        redis = self.redis()
        seed_debtor(redis.client(), DEBTOR, [PHONE])
        router = self.router(redis)

        # An envelope from a peer that never said Hello: HELLO_REQUIRED, retryable.
        link = self.raw_link(router)
        link.send(envelope=envelope(5, "sms", "SMearly", PHONE, text="too early"))
        nack = link.expect("nack")
        self.assertEqual(nack.code, pb.Nack.CODE_HELLO_REQUIRED, nack)
        self.assertTrue(nack.retryable)
        self.assertEqual(nack.seq, 5)
        # A heartbeat from an unknown peer gets the same answer.
        link.send(heartbeat=pb.Heartbeat(sent_ms=int(time.time() * 1000)))
        nack = link.expect("nack")
        self.assertEqual(nack.code, pb.Nack.CODE_HELLO_REQUIRED, nack)
        # Hello, then the same envelope again: acked.
        link.hello("sms", "sms-late")
        link.send(envelope=envelope(5, "sms", "SMearly", PHONE, text="too early"))
        ack = link.expect("ack")
        self.assertEqual((ack.seq, ack.duplicate), (5, False))

        # A Hello without a channel, and a Hello of major 2, are refused.
        link2 = self.raw_link(router)
        link2.send(hello=pb.Hello(channel=pb.CHANNEL_UNSPECIFIED, instance="nochan"))
        nack = link2.expect("nack")
        self.assertEqual(nack.code, pb.Nack.CODE_UNKNOWN_CHANNEL, nack)
        self.assertFalse(nack.retryable)
        link2.send_bytes(pb.Frame(major=2, hello=pb.Hello(channel=pb.CHANNEL_SMS)).SerializeToString())
        nack = link2.expect("nack")
        self.assertEqual(nack.code, pb.Nack.CODE_VERSION, nack)
        # A higher minor with unknown fields is fine (field 99 of Frame, field 99 of Hello).
        hello = pb.Frame(major=1, minor=7, hello=pb.Hello(channel=pb.CHANNEL_SMS, instance="future"))
        data = hello.SerializeToString()
        # Frame field 99 (varint 1): tag (99<<3)|0 = 792 = 0x98 0x06.
        link2.send_bytes(data + b"\x98\x06\x01")
        welcome = link2.expect("welcome")
        self.assertGreater(welcome.heartbeat_ms, 0)

        # The router heartbeats an open session.
        time.sleep(welcome.heartbeat_ms / 1000.0 * 2.5)
        link2.recv(0.2)
        self.assertGreaterEqual(link2.heartbeats, 1, "no heartbeat from the router")


if __name__ == "__main__":
    unittest.main()
