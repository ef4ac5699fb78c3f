"""Exactly once in the conversation: the same provider message delivered again — with the same
seq, with another seq, from another connector instance of the same channel — is stored once;
every later Ack says duplicate=true and names the same debtor; /metrics counts the duplicates.
The dedupe key is channel + provider_message_id: the same id on another channel is a different
message.
"""

import unittest

from hilo_harness import HiloTestCase, debtor_key, envelope, history, seed_debtor

DEBTOR = "D-2001"
PHONE = "+573001234567"
PMID = "SMdedupe0001"


class Dedupe(HiloTestCase):
    def test_same_envelope_stored_once(self):
        redis = self.redis()
        r = redis.client()
        seed_debtor(r, DEBTOR, [PHONE])
        router = self.router(redis)
        m0 = router.metrics()

        # 1. Same seq twice on one link (a link-level retry).
        link = self.raw_link(router)
        link.hello("sms", "sms-raw")
        link.send(envelope=envelope(7, "sms", PMID, PHONE, text="pago el viernes"))
        ack = link.expect("ack")
        self.assertEqual((ack.seq, ack.duplicate, ack.debtor_id), (7, False, DEBTOR))
        link.send(envelope=envelope(7, "sms", PMID, PHONE, text="pago el viernes"))
        ack = link.expect("ack")
        self.assertEqual((ack.seq, ack.duplicate, ack.debtor_id), (7, True, DEBTOR))

        # 2. Another seq (the provider retried its webhook).
        link.send(envelope=envelope(8, "sms", PMID, PHONE, text="pago el viernes"))
        ack = link.expect("ack")
        self.assertEqual((ack.seq, ack.duplicate, ack.debtor_id), (8, True, DEBTOR))

        # 3. Another connector instance of the same channel (the webhook hit the other one).
        other = self.connector(router, "sms", "sms-2")
        seq = other.send_envelope(provider_message_id=PMID, from_=PHONE, text="pago el viernes")
        res = other.wait_result(seq, 15)
        self.assertEqual(res.kind, "ack", res)
        self.assertTrue(res.duplicate, res)
        self.assertEqual(res.debtor_id, DEBTOR)

        items = history(r, DEBTOR)
        self.assertEqual([i["pmid"] for _, i in items], [PMID], items)
        self.assertEqual(r.zcard(debtor_key(DEBTOR, "seen")), 1)
        self.assertEqual(r.hget(debtor_key(DEBTOR, "conv"), "msgs_in"), "1")

        # 4. The same provider id on another channel is another message.
        wa = self.connector(router, "whatsapp", "wa-1")
        seq = wa.send_envelope(provider_message_id=PMID, from_=PHONE, text="por whatsapp")
        res = wa.wait_result(seq, 15)
        self.assertEqual(res.kind, "ack", res)
        self.assertFalse(res.duplicate, res)
        self.assertEqual([(i["ch"], i["pmid"]) for _, i in history(r, DEBTOR)],
                         [("sms", PMID), ("whatsapp", PMID)])

        m1 = router.metrics()
        d = lambda name, **kw: m1.value(name, **kw) - m0.value(name, **kw)
        self.assertEqual(d("hilo_acks_total", duplicate="true"), 3, "duplicate acks counted")
        self.assertEqual(d("hilo_acks_total", duplicate="false"), 2, "first acks counted")
        self.assertEqual(d("hilo_envelopes_total", channel="sms"), 4)
        self.assertEqual(d("hilo_envelopes_total", channel="whatsapp"), 1)


if __name__ == "__main__":
    unittest.main()
