"""Acceptance 4, 6, 7 — the compliance gate on outbound messages, against a real router, Redis and
the real CLI, with the test clock.

What reaches the gate today, and how each case is driven:
* The bot's replies (engine.c): they answer the debtor on the channel just used, so they are
  replies: shipped packs let them out at night (replies_outside_hours = yes) and never cap them.
  Checked: a reply at 22:30 (Reg F) goes out.
* Collector-initiated messages: agents and campaigns are other issues; the one real path today is
  `hilo send` on a router whose engine is enabled — it passes the same gate (router/cli/
  send_gate.c, collector-initiated, frequency cap recorded with freq_cap.lua), and a block lands
  in the audit trail as ev=blocked with its reason, like the router's.
  4. 22:30 debtor-local under Regulation F: blocked (outside_contact_hours); 10:00 passes; a
     Sunday in Colombia is blocked (closed_day).
  6. WhatsApp free-form 25 h after the last inbound: blocked (whatsapp_window); a template
     (`hilo send --template NAME`: Outbound.template) passes; at 23 h free-form passes.
  7. The 8th call attempt in 7 days: blocked (frequency_cap); it passes again once the first
     attempt ages out.
"""

import unittest

from engine_helpers import EngineTestCase, local_ms
from hilo_harness import debtor_key, history, run_cli, wait_until

NY = "America/New_York"
BOG = "America/Bogota"
US_SMS, US_SMS_PHONE = "D1002", "+16505550142"
US_WA, US_WA_PHONE = "D1001", "+16505551234"
US_VOICE, US_VOICE_PHONE = "D1011", "+16505550311"
CO, CO_PHONE = "D1004", "+573005550233"
DEBTORS = [
    {"debtor_id": US_SMS, "full_name": "James Whitfield", "phones": [US_SMS_PHONE], "language": "en"},
    {"debtor_id": US_WA, "full_name": "Ana María Gómez", "phones": [US_WA_PHONE], "language": "es"},
    {"debtor_id": US_VOICE, "full_name": "Emily Carter", "phones": [US_VOICE_PHONE], "language": "en"},
    {"debtor_id": CO, "full_name": "Luisa Fernanda Ortiz", "phones": [CO_PHONE], "language": "es",
     "country": "CO", "timezone": BOG, "currency": "COP", "balance": "820000.00"},
]


class Compliance(EngineTestCase):
    def setUp(self):
        super().setUp()
        self.start_engine()
        self.import_debtors(DEBTORS)

    def send(self, debtor_id, channel, text, template=None):
        """`hilo send`: (exit status, stdout, stderr)."""
        opt = ["--template", template] if template else []
        p = run_cli(self.router_.conf_path, "send", *opt, debtor_id, channel, text, check=False)
        return p.returncode, p.stdout.strip(), p.stderr.strip()

    def assertBlocked(self, debtor_id, channel, text, reason):
        n = len(self.blocked(debtor_id))
        outs = len([1 for _, it in history(self.r, debtor_id) if it["dir"] == "out"])
        rc, out, err = self.send(debtor_id, channel, text)
        self.assertEqual(rc, 1, "expected a block (%s), got exit %d: %s %s" % (reason, rc, out, err))
        self.assertIn(reason, err)
        b = self.blocked(debtor_id)[n:]
        self.assertEqual(len(b), 1, b)
        self.assertEqual((b[0]["reason"], b[0]["channel"], b[0]["by"]), (reason, channel, "cli"))
        self.assertEqual(len([1 for _, it in history(self.r, debtor_id) if it["dir"] == "out"]), outs,
                         "a blocked message is not committed")
        return b[0]

    def assertSent(self, debtor_id, channel, text, template=None):
        rc, out, err = self.send(debtor_id, channel, text, template)
        self.assertEqual(rc, 0, "expected the message to pass: %s" % err)
        oid = out.splitlines()[-1]
        conn = self.conn(channel)
        o = wait_until(lambda: next((o for o in list(conn.outbounds) if o.outbound_id == oid), None), 10,
                       "outbound %s on %s" % (oid, channel))
        self.assertEqual(o.text, text)
        conn.wait_result(conn.report_delivery(oid, "sent", provider_message_id="P" + oid), 10)
        return o

    def test_bot_reply_at_night_is_a_reply(self):
        # Acceptance 4, the debtor-initiated side: the bot answers at 22:30 (documented policy).
        self.set_clock_local(NY, 2026, 11, 24, 22, 30)
        t = self.debtor(US_SMS, US_SMS_PHONE).say("sms", "hello")
        self.assertTrue(t.replies, "the bot's reply to the debtor's own message goes out at 22:30")
        self.assertEqual(self.blocked(US_SMS), [])

    def test_contact_hours(self):
        # Acceptance 4: Regulation F, 22:30 blocked, 10:00 passes.
        self.set_clock_local(NY, 2026, 11, 24, 22, 30)
        b = self.assertBlocked(US_SMS, "sms", "Reminder: your account is past due", "outside_contact_hours")
        self.assertIn("22:30 in America/New_York is outside 08:00-21:00", b["text"])
        self.assertIn("Regulation F", b["text"])
        self.set_clock_local(NY, 2026, 11, 24, 10, 0)
        self.assertSent(US_SMS, "sms", "Reminder: your account is past due")
        # Colombia: never on Sunday; a Tuesday morning passes.
        self.set_clock_local(BOG, 2026, 11, 29, 10, 0)                  # Sunday
        b = self.assertBlocked(CO, "sms", "Recordatorio de pago", "closed_day")
        self.assertIn("Ley 2300", b["text"])
        self.set_clock_local(BOG, 2026, 11, 24, 10, 0)                  # Tuesday
        self.assertSent(CO, "sms", "Recordatorio de pago")

    def test_whatsapp_window(self):
        # Acceptance 6. The debtor writes on WhatsApp (the real commit records last_in:whatsapp);
        # the test then pins that instant to 10:00 local so the hours check cannot interfere.
        self.set_clock_local(NY, 2026, 11, 24, 10, 0)
        ana = self.debtor(US_WA, US_WA_PHONE)
        ana.say("whatsapp", "hola")
        conv = ana.conv()
        self.assertIn("last_in:whatsapp", conv)
        t0 = local_ms(NY, 2026, 11, 24, 10, 0)
        self.r.hset(debtor_key(US_WA, "conv"), "last_in:whatsapp", t0)
        self.set_clock(t0 + 25 * 3600 * 1000)
        b = self.assertBlocked(US_WA, "whatsapp", "Hola Ana, tenemos una propuesta", "whatsapp_window")
        self.assertIn("25 h", b["text"])
        o = self.assertSent(US_WA, "whatsapp", "Recordatorio: tiene un saldo pendiente", template="saldo_pendiente")
        self.assertEqual((o.template.name, o.template.language), ("saldo_pendiente", "es"))
        item = [it for _, it in history(self.r, US_WA) if it.get("oid") == o.outbound_id][0]
        self.assertEqual((item["kind"], item["template"]), ("template", "saldo_pendiente"))
        self.set_clock(t0 + 23 * 3600 * 1000)
        self.assertSent(US_WA, "whatsapp", "Hola Ana, tenemos una propuesta")

    def test_call_frequency_cap(self):
        # Acceptance 7: 12 CFR 1006.14(b)(2), 7 calls in 7 days (us_reg_f cap.voice = 7/7d).
        days = [(2026, 11, d) for d in range(24, 31)]                   # 7 days, one call each
        for y, m, d in days:
            self.set_clock_local(NY, y, m, d, 10, 0)
            self.assertSent(US_VOICE, "voice", "Llamada de cobranza %d" % d)
        self.set_clock_local(NY, 2026, 11, 30, 11, 0)                    # the 8th within 7 days
        self.assertBlocked(US_VOICE, "voice", "Llamada de cobranza 8", "frequency_cap")
        self.assertEqual(self.r.zcard(debtor_key(US_VOICE, "contacts:voice")), 7)
        # Other channels have their own count.
        self.assertSent(US_VOICE, "sms", "Mensaje de texto")
        # The first call ages out 7 days after it was made.
        self.set_clock_local(NY, 2026, 12, 1, 10, 1)
        self.assertSent(US_VOICE, "voice", "Llamada de cobranza 9")


if __name__ == "__main__":
    unittest.main()
