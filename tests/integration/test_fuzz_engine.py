"""The conversation engine (bot, verification, compliance gate, promises) on records it did not
write: debtors and conversations put straight into Redis with values no import would accept —
balances that are not numbers, unknown time zones and languages, a bot state that is not JSON,
an unknown conversation state — and seeded random messages from those debtors on every
channel (texts, buttons, digits, call events).

What must hold: every message is acked (it is stored whatever the engine makes of it), the
router keeps running and answers /healthz, the engine still answers the well-formed debtor
among them, and the router exits 0 on SIGTERM with (in the ASan+UBSan build) no sanitizer
report — the cleanup checks both.

HILO_FUZZ_SEED and HILO_FUZZ_TURNS run other seeds or longer.
"""

import os
import random
import sys
import time
import unittest

import hilo_link_pb2 as pb
from engine_helpers import EngineTestCase
from hilo_harness import debtor_key, history, seed_debtor, wait_until

SEED = int(os.environ.get("HILO_FUZZ_SEED", "20261123"))
TURNS = int(os.environ.get("HILO_FUZZ_TURNS", "400"))
DEBTORS = 12
ODD_FIELDS = {
    "balance": ["abc", "-5", "1e308", "", "99999999999999999999.99", "0.001", "12,50", "NaN", "0", " 10 "],
    "currency": ["", "XXX", "usd", "€", "US", "COP"],
    "days_past_due": ["-1", "x", "99999999999", "", "0"],
    "timezone": ["", "Mars/Olympus", "America/Bogota", "UTC", "../../etc/passwd", "America/New_York"],
    "language": ["", "xx", "es", "en", "zz-ZZ", "ES"],
    "country": ["", "XX", "CO", "MX", "US", "PE", "CL"],
    "document_last4": ["", "abcd", "12", "4321", "43210"],
    "full_name": ["", "Ana", "Ñandú Pérez", "x" * 3000, "\u202eevil", "%s%n"],
    "attr:payment_token": ["", "tok", "../x", "t" * 500],
    "attr:segment": ["", "vip", "x" * 200],
}
ODD_CONV = {
    "bot": ["{not json", "[]", "{\"step\":42}", "null", "{\"node\":\"nope\",\"tries\":-1}", ""],
    "state": ["weird", "queued", "closed", "assigned", "", "open"],
    "language": ["", "xx", "es"],
    "rev": ["x", "-1", "99999999999999999999"],
    "queue": ["", "nope.queue"],
    "closed_ms": ["x", "-1", "0"],
    "broken_promises": ["x", "-3", "1000000"],
}
TEXTS = ["hola", "¿cuánto debo?", "4321", "1234", "1", "2", "3", "sí", "no", "pagar mañana", "pagaré el 31 de febrero",
         "STOP", "BAJA", "agente", "quiero hablar con una persona", "plan de pagos", "5000", "$75.50 el viernes",
         "no soy yo", "número equivocado", "me van a demandar?", "", "x" * 2000, "\u0000", "💸💸💸", "ñ" * 100]
BUTTONS = ["balance", "pay", "plan", "agent", "optout", "PAY_NOW", "", "nope", "x" * 300]


class FuzzEngine(EngineTestCase):
    def test_odd_records_and_random_turns_never_stop_the_engine(self):
        rng = random.Random(SEED)
        self.start_engine()
        now = int(time.time() * 1000)
        self.set_clock(now)
        phones = {}
        for i in range(DEBTORS):
            d, phone = "F%02d" % i, "+1650555%04d" % (7000 + i)
            phones[d] = phone
            fields = {k: rng.choice(v) for k, v in ODD_FIELDS.items() if rng.random() < 0.6}
            seed_debtor(self.r, d, [phone], **fields)
            conv = {k: rng.choice(v) for k, v in ODD_CONV.items() if rng.random() < 0.4}
            if conv:
                self.r.hset(debtor_key(d, "conv"), mapping=conv)
        # One well-formed debtor: the engine must still answer it at the end.
        seed_debtor(self.r, "G1", ["+16505558888"], language="es", timezone="America/Bogota", country="CO",
                    document_last4="4321", balance="1250.00", currency="COP")
        sent = []
        for n in range(TURNS):
            d = rng.choice(sorted(phones))
            channel = rng.choice(["whatsapp", "whatsapp", "sms", "voice"])
            conn = self.conn(channel)
            pmid = "fz-%d-%d" % (SEED, n)
            kw = {}
            if channel == "voice":
                kind = rng.choice([pb.VoiceEvent.KIND_CALL_START, pb.VoiceEvent.KIND_GATHER, pb.VoiceEvent.KIND_GATHER,
                                   pb.VoiceEvent.KIND_CALL_END])
                kw["voice"] = pb.VoiceEvent(kind=kind, call_id="CA-%s" % d, digits=rng.choice(["", "1", "4321", "9#"]),
                                            speech=rng.choice(TEXTS[:20]), call_status="completed")
                kw["wants_reply"] = kind != pb.VoiceEvent.KIND_CALL_END
            elif rng.random() < 0.2:
                kw["button"] = pb.Button(payload=rng.choice(BUTTONS), title="b")
            else:
                kw["text"] = rng.choice(TEXTS) or "."
            if "\u0000" in kw.get("text", ""):
                kw["text"] = "nul"
            seq = conn.send_envelope(provider_message_id=pmid, from_=phones[d], to="+15550000000", **kw)
            sent.append((conn, seq, d, pmid))
            if n % 50 == 49:
                self.router_.assert_running()
        for conn, seq, d, pmid in sent:
            res = conn.wait_result(seq, 30)
            self.assertIsNotNone(res, "seed %d: no answer for %s of %s" % (SEED, pmid, d))
            self.assertEqual(res.kind, "ack", "seed %d: %s of %s: %r" % (SEED, pmid, d, res))
        # Every message is in its debtor's thread.
        for d in phones:
            stored = {it.get("pmid") for _, it in history(self.r, d)}
            for _, _, dd, pmid in sent:
                if dd == d:
                    self.assertIn(pmid, stored, "seed %d: %s not in %s's thread" % (SEED, pmid, d))
        self.router_.assert_running()
        self.assertEqual(self.router_.healthz(), 200)
        # The engine still works for a well-formed debtor.
        g = self.debtor("G1", "+16505558888")
        turn = g.say("whatsapp", "hola")
        self.assertTrue(turn.replies, "seed %d: no bot reply to a well-formed debtor after the fuzz" % SEED)
        errors = self.router_.log_lines("level=error", "mod=engine")
        # A turn is applied whatever the records hold (a 'rev' that is no number counts as 0).
        self.assertEqual([l for l in errors if "event=apply_failed" in l], [], "seed %d" % SEED)
        replies = sum(1 for d in phones for _, it in history(self.r, d) if it.get("dir") == "out")
        print("fuzz: seed %d, %d turns on %d odd debtors: %d bot replies, %d engine error lines"
              % (SEED, TURNS, DEBTORS, replies, len(errors)), file=sys.stderr)
        wait_until(lambda: self.router_.metrics().value("hilo_inflight") == 0, 30, "the router to settle")


if __name__ == "__main__":
    unittest.main()
