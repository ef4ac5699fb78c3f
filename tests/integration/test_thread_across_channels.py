"""One debtor, three channels, one thread.

A debtor is imported (with `hilo import-debtors` when the CLI is built, else written to Redis
as it does); a WhatsApp text arrives
from the wa_id "16505551234" (no '+'), then an SMS from "+16505551234", then a voice CALL_START
from the caller id "+16505551234". All three must land, in that order, in the one history
stream hilo:{d:ID}:hist with their channel and direction, and every Ack names the debtor.
A message from a number nobody imported is filed under the unidentified contact "u:<E.164>"
and never merged into the debtor's thread.
"""

import json
import time
import unittest

import hilo_link_pb2 as pb
from hilo_harness import HiloTestCase, cli_path, debtor_key, history, import_debtors, seed_debtor

DEBTOR = "D-1001"
PHONE = "+16505551234"
UNKNOWN = "+16505559876"


class ThreadAcrossChannels(HiloTestCase):
    def test_one_thread_three_channels(self):
        redis = self.redis()
        r = redis.client()
        router = self.router(redis)
        if cli_path():
            # The real import path: the CLI's identity map must be what the router reads.
            import_debtors(router.conf_path, self.workdir,
                           [{"debtor_id": DEBTOR, "full_name": "Ana Debtor", "phones": [PHONE]}])
            self.assertEqual(r.get("hilo:addr:" + PHONE), DEBTOR, "identity map after the import")
        else:
            seed_debtor(r, DEBTOR, [PHONE], full_name="Ana Debtor")
        wa = self.connector(router, "whatsapp", "whatsapp-1")
        sms = self.connector(router, "sms", "sms-1")
        voice = self.connector(router, "voice", "voice-1")

        steps = [
            (wa, dict(provider_message_id="wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQTAw", from_="16505551234",
                      to="15550001111", text="hola, quiero pagar", contact_name="Ana")),
            (sms, dict(provider_message_id="SM0123456789abcdef0123456789abcdef", from_=PHONE,
                       to="+15550002222", text="sigo aqui")),
            (voice, dict(provider_message_id="CA0123456789abcdef0123456789abcdef:start", from_=PHONE,
                         to="+15550003333",
                         voice=pb.VoiceEvent(kind=pb.VoiceEvent.KIND_CALL_START,
                                             call_id="CA0123456789abcdef0123456789abcdef"))),
        ]
        for conn, fields in steps:
            seq = conn.send_envelope(**fields)
            res = conn.wait_result(seq, 15)
            self.assertIsNotNone(res, "no answer to %s" % fields["provider_message_id"])
            self.assertEqual(res.kind, "ack", res)
            self.assertFalse(res.duplicate, res)
            self.assertEqual(res.debtor_id, DEBTOR, "ack must name the debtor: %r" % res)
            time.sleep(0.01)  # distinct recv_ms

        items = history(r, DEBTOR)
        self.assertEqual(len(items), 3, "history of %s: %r" % (DEBTOR, items))
        got = [(i["ch"], i["dir"], i["kind"], i["pmid"]) for _, i in items]
        self.assertEqual(got, [
            ("whatsapp", "in", "text", steps[0][1]["provider_message_id"]),
            ("sms", "in", "text", steps[1][1]["provider_message_id"]),
            ("voice", "in", "voice", steps[2][1]["provider_message_id"]),
        ])
        # Every sender address is normalized to the same E.164 number.
        self.assertEqual([i["from"] for _, i in items], [PHONE] * 3)
        self.assertEqual(items[0][1]["text"], "hola, quiero pagar")
        self.assertEqual(items[1][1]["text"], "sigo aqui")
        self.assertIn(items[2][1]["voice"]["event"].lower().replace("kind_", ""), ("call_start", "start"))
        self.assertEqual(items[2][1]["voice"]["call_id"], "CA0123456789abcdef0123456789abcdef")
        ids = [eid for eid, _ in items]
        self.assertEqual(ids, sorted(ids, key=lambda e: tuple(map(int, e.split("-")))))
        for _, i in items:
            self.assertGreater(i["recv_ms"], 0)

        conv = r.hgetall(debtor_key(DEBTOR, "conv"))
        self.assertEqual(conv.get("msgs_in"), "3", conv)
        self.assertEqual(conv.get("last_channel"), "voice", conv)
        self.assertNotEqual(conv.get("unidentified"), "1", conv)
        # Where replies go: the address as received (WhatsApp's wa_id has no '+').
        self.assertEqual(conv.get("addr:whatsapp"), "16505551234", conv)
        for ch in ("sms", "voice"):
            self.assertEqual(conv.get("addr:" + ch), PHONE, conv)
        self.assertIsNotNone(r.zscore("hilo:convs", DEBTOR))

        # An unknown number: its own unidentified contact, not merged.
        seq = sms.send_envelope(provider_message_id="SMffff0000", from_=UNKNOWN, text="who is this?")
        res = sms.wait_result(seq, 15)
        self.assertEqual(res.kind, "ack", res)
        self.assertEqual(res.debtor_id, "u:" + UNKNOWN)
        unk = history(r, "u:" + UNKNOWN)
        self.assertEqual([(i["ch"], i["dir"], i["pmid"]) for _, i in unk],
                         [("sms", "in", "SMffff0000")])
        self.assertEqual(r.hget(debtor_key("u:" + UNKNOWN, "conv"), "unidentified"), "1")
        self.assertEqual(len(history(r, DEBTOR)), 3, "the unknown sender was merged into %s" % DEBTOR)
        self.assertIsNone(r.get("hilo:addr:" + UNKNOWN), "the router must not invent identities")

        m = router.metrics()
        self.assertGreaterEqual(m.value("hilo_envelopes_total", channel="whatsapp"), 1)
        self.assertGreaterEqual(m.value("hilo_envelopes_total", channel="sms"), 2)
        self.assertGreaterEqual(m.value("hilo_envelopes_total", channel="voice"), 1)
        self.assertEqual(m.value("hilo_connectors", channel="sms"), 1)
        self.assertEqual(m.value("hilo_redis_up"), 1)
        self.assertGreater(m.value("hilo_redis_latency_seconds_count"), 0)
        self.assertTrue(m.has("hilo_redis_latency_seconds_bucket"))
        status, body = router.http_get("/healthz")
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body).get("status"), "ok", body)

        # Back to SMS, twice: the conversation's channel follows (the commit writes it only when
        # it changes), and each message still moves the per-channel receive time.
        last = {}
        for k in (1, 2):
            time.sleep(0.01)
            seq = sms.send_envelope(provider_message_id="SM-again-%d" % k, from_=PHONE, text="otra vez %d" % k)
            self.assertEqual(sms.wait_result(seq, 15).kind, "ack")
            conv = r.hgetall(debtor_key(DEBTOR, "conv"))
            self.assertEqual((conv.get("last_channel"), conv.get("addr:sms")), ("sms", PHONE), conv)
            self.assertEqual(conv.get("last_in:sms"), conv.get("last_in_ms"), conv)
            self.assertGreater(int(conv["last_in_ms"]), int(last.get("last_in_ms", 0)), conv)
            last = conv
        self.assertEqual(last.get("msgs_in"), "5", last)


if __name__ == "__main__":
    unittest.main()
