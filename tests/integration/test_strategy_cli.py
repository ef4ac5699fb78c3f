#!/usr/bin/python3
"""test_strategy_cli.py — `hilo strategy check` and `hilo strategy plan` against a real
redis-server and the real CLI.

A small portfolio is imported with `hilo import-debtors` (consent columns and an `attorney`
attribute included), payments with `hilo import-payments`; the conversation facts the router would
have written (a dispute escalation, opt-outs, an agent's conversation, verification, a pending
promise) are written with redis-py as the router writes them. Then:
  * check: the demo strategy and a good file pass (exit 0); a syntax error, a disclosure variable
    an unverified debtor can reach, a text without the US pack's STOP and a first communication
    without the Reg F disclosure are refused with FILE:LINE and exit 1;
  * plan --json at a fixed --at: who is planned when (moved into the step's window and the gate's
    hours in the debtor's zone), on which channel, with which text; who is excluded for each
    reason (paid, paid by an imported payment, promise, dispute, opt-out of every channel, no
    consent, an agent's conversation, an attribute); the summary's counts; and that the plan
    writes nothing.
No test depends on today's date: every plan passes --at.
"""

import csv
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

from hilo_harness import HiloTestCase, SOURCE_DIR, cli_path, debtor_key, run_cli  # noqa: E402

DEMO = os.path.join(SOURCE_DIR, "deploy", "strategies", "demo.strategy")
COMPLIANCE = os.path.join(SOURCE_DIR, "deploy", "compliance")

# Tuesday 2026-11-24 09:00 UTC = 04:00 in New York, 01:00 in Los Angeles, 04:00 in Bogotá.
AT = "2026-11-24T09:00:00Z"

STRATEGY = """\
[strategy]
name = test_reminders
priority = 50
state = active
languages = en es
company = ACME Services
callback_phone = +1 650 555 0100
stop_attributes = attorney

[segment verified]
verified = yes
steps = v_sms

[segment early]
days_past_due = 1-60
steps = hello_whatsapp hello_sms

[step v_sms]
channel = sms
hours = 10:00-18:00
text.en = ACME Services, a debt collector: your balance is {balance}. Reply STOP to opt out.
text.es = ACME Services, cobrador de deudas: su saldo es {balance}. Responda STOP para salir.

[step hello_whatsapp]
channel = whatsapp
template = hello_v1
days = mon-fri
hours = 09:00-19:00
text.en = Hello from {company}. Call {callback_phone}. Reply STOP to opt out.
text.es = Hola de {company}. Llame al {callback_phone}. Responda STOP para salir.
within = 4h
on.timeout = hello_sms
on.failed = hello_sms
on.replied = end

[step hello_sms]
channel = sms
days = mon-fri
hours = 09:00-19:00
text.en = {company}: please call {callback_phone}. Reply STOP to opt out.
text.es = {company}: llame al {callback_phone}. Responda STOP para salir.
on.sent = end
"""

COLUMNS = ("debtor_id", "full_name", "phones", "document_last4", "balance", "currency", "days_past_due",
           "timezone", "language", "country", "attorney", "consent_sms", "consent_source")


def row(debtor_id, phone, **kw):
    r = {"debtor_id": debtor_id, "full_name": "Test " + debtor_id, "phones": phone, "document_last4": "1234",
         "balance": "100.00", "currency": "USD", "days_past_due": "30", "timezone": "America/New_York",
         "language": "en", "country": "US", "attorney": "", "consent_sms": "", "consent_source": ""}
    r.update(kw)
    return r


PORTFOLIO = [
    row("P1", "+16505550101"),                                         # planned, WhatsApp, 09:00 NY
    row("P2", "+16505550102", timezone="America/Los_Angeles", language="es"),  # 09:00 LA, Spanish
    row("PAID", "+16505550103", balance="0.00"),                       # paid in full (portfolio)
    row("PAID2", "+16505550104", balance="50.00"),                     # paid by an imported payment
    row("PROM", "+16505550105"),                                       # a pending promise
    row("DISP", "+16505550106"),                                       # escalated as a dispute
    row("OPT", "+16505550107", consent_sms="2025-01-10"),              # opted out of WhatsApp and SMS
    row("SMSONLY", "+16505550108", consent_sms="2025-01-10", consent_source="web form"),  # WA opt-out: SMS
    row("NOCONS", "+16505550109"),                                     # WA opt-out, no SMS consent
    row("AGENT", "+16505550110"),                                      # an agent holds the conversation
    row("ATTY", "+16505550111", attorney="Smith & Co"),                # stop attribute
    row("LATE", "+16505550112", days_past_due="90"),                   # no segment
    row("VER", "+16505550113", consent_sms="yes"),                     # verified: the SMS with balance
    row("CO1", "+573005550114", currency="COP", balance="820000.00", timezone="America/Bogota",
        country="CO", language="es"),                                  # Colombia: its pack's hours
]


@unittest.skipUnless(cli_path(), "the hilo CLI is not built")
class StrategyCli(HiloTestCase):
    def setUp(self):
        super().setUp()
        self.r = self.redis()
        self.conf = os.path.join(self.workdir, "hilo.conf")
        self.sdir = os.path.join(self.workdir, "strategies")
        os.makedirs(self.sdir)
        with open(self.conf, "w") as f:
            f.write("[redis]\nhost = 127.0.0.1\nport = %d\n[engine]\ncompliance_dir = %s\n"
                    "[strategies]\ndir = strategies\n" % (self.r.port, COMPLIANCE))
        self.good = self.write("test.strategy", STRATEGY)

    def write(self, name, text, folder=None):
        path = os.path.join(folder or self.sdir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def cli(self, *args, check=True, input=None):
        return run_cli(self.conf, *args, check=check, input=input)

    def import_portfolio(self):
        path = os.path.join(self.workdir, "portfolio.csv")
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(COLUMNS)
            for d in PORTFOLIO:
                w.writerow([d[c] for c in COLUMNS])
        p = self.cli("import-debtors", path)
        self.assertIn("imported %d, rejected 0" % len(PORTFOLIO), p.stdout)
        pay = os.path.join(self.workdir, "payments.csv")
        with open(pay, "w") as f:
            f.write("debtor_id,amount,currency,paid_at,reference\nPAID2,50.00,USD,2026-11-20,BANK-1\n"
                    "P1,10.00,USD,2026-11-20,BANK-2\n")
        self.cli("import-payments", pay)
        r = self.r.client()
        conv = lambda d: debtor_key(d, "conv")  # noqa: E731
        r.hset(debtor_key("PROM", "promises"), "p1", json.dumps(
            {"kind": "promise", "amount_cents": 5000, "currency": "USD", "due": "2026-11-30",
             "due_ms": 1796101199999, "channel": "sms", "created_ms": 1795500000000, "state": "pending"}))
        r.hset(conv("DISP"), mapping={"state": "queued", "esc_reason": "dispute"})
        r.hset(conv("DISP"), "state", "closed")  # the agent closed it: the dispute still stops contact
        r.hset(conv("OPT"), mapping={"optout:whatsapp": "1795000000000", "optout:sms": "1795000000001"})
        r.hset(conv("SMSONLY"), "optout:whatsapp", "1795000000000")
        r.hset(conv("NOCONS"), "optout:whatsapp", "1795000000000")
        r.hset(conv("AGENT"), mapping={"state": "assigned", "agent": "a1"})
        r.hset(conv("VER"), "verified_ms", "1795000000000")

    def snapshot(self):
        r = self.r.client()
        out = {}
        for k in sorted(r.keys("*")):
            t = r.type(k)
            out[k] = (t, r.hgetall(k) if t == "hash" else sorted(r.smembers(k)) if t == "set"
                      else r.xlen(k) if t == "stream" else r.get(k) if t == "string" else None)
        return out

    def plan(self, *args):
        p = self.cli("strategy", "plan", "--json", *args)
        lines = [json.loads(l) for l in p.stdout.splitlines()]
        self.assertIn("summary", lines[-1])
        return {d["debtor"]: d for d in lines[:-1]}, lines[-1]["summary"]

    # ---- check -------------------------------------------------------------------------------

    def test_check(self):
        p = self.cli("strategy", "check", DEMO, self.good)
        self.assertIn("demo.strategy: ok", p.stdout)
        self.assertIn("test.strategy: ok — strategy test_reminders", p.stdout)
        bad = os.path.join(self.workdir, "bad")
        os.makedirs(bad)
        cases = [
            ("syntax.strategy", STRATEGY.replace("channel = whatsapp", "channel = fax"),
             ["syntax.strategy:25: channel: want whatsapp, sms, voice or best, got 'fax'"]),
            ("privacy.strategy", STRATEGY.replace("please call {callback_phone}", "you owe {balance}"),
             ["privacy.strategy:40: step hello_sms text.en uses {balance}, a disclosure variable, and "
              "unverified debtors reach it (segment early: verified = any)"]),
            ("notice.strategy", STRATEGY.replace("Llame al {callback_phone}. Responda STOP para salir.",
                                                 "Llame al {callback_phone}."),
             ["notice.strategy:30: step hello_whatsapp text.es lacks the opt-out notice pack us_reg_f requires "
              "for US (one of: STOP)"]),
            ("disclosure.strategy", STRATEGY.replace("ACME Services, a debt collector:", "ACME Services:"),
             ["disclosure.strategy:21: step v_sms text.en is the first communication of segment verified and "
              "lacks the disclosure pack us_reg_f requires for US: \"debt collector\""]),
        ]
        for name, text, expected in cases:
            path = self.write(name, text, bad)
            p = self.cli("strategy", "check", path, check=False)
            self.assertEqual(p.returncode, 1, p.stderr)
            for e in expected:
                self.assertIn(os.path.join(bad, e), p.stderr)
        # A step that leaves its channel and hours to the contact optimizer (docs/optimizer.md) is
        # checked for every channel it may take: a call first does not spare the SMS its STOP.
        assert STRATEGY.count("[step hello_sms]\nchannel = sms\n") == 1
        best = STRATEGY.replace("[step hello_sms]\nchannel = sms\n",
                                "[step hello_sms]\nchannel = best\nchannels = voice sms\n").replace(
            "hours = 09:00-19:00\ntext.en = {company}: please", "hours = best 09:00-19:00\ntext.en = {company}: please")
        self.assertIn("hours = best 09:00-19:00", best)
        p = self.cli("strategy", "check", self.write("best.strategy", best, bad))
        self.assertIn("best.strategy: ok — strategy test_reminders", p.stdout)
        path = self.write("best_notice.strategy",
                          best.replace("{company}: please call {callback_phone}. Reply STOP to opt out.",
                                       "{company}: please call {callback_phone}."), bad)
        p = self.cli("strategy", "check", path, check=False)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertRegex(p.stderr, r"best_notice\.strategy:\d+: step hello_sms text\.en lacks the opt-out notice pack "
                                   r"us_reg_f requires for US")
        # Usage and a missing file.
        self.assertEqual(self.cli("strategy", "check", check=False).returncode, 64)
        p = self.cli("strategy", "check", os.path.join(bad, "none.strategy"), check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("none.strategy:0: cannot open", p.stderr)
        # Two files with one priority: refused together.
        other = self.write("other.strategy", STRATEGY.replace("name = test_reminders", "name = other"), bad)
        p = self.cli("strategy", "check", self.good, other, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("priority 50 is also", p.stderr)

    def test_check_and_plan_standard_input(self):
        # `-` is standard input, named <stdin>; check reads it once and uses it alone and with
        # the other files.
        p = self.cli("strategy", "check", DEMO, "-", input=STRATEGY)
        self.assertIn("demo.strategy: ok", p.stdout)
        self.assertIn("<stdin>: ok — strategy test_reminders", p.stdout)
        p = self.cli("strategy", "check", "-", check=False, input=STRATEGY.replace("channel = whatsapp", "channel = fax"))
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("<stdin>:25: channel: want whatsapp, sms, voice or best, got 'fax'", p.stderr)
        other = STRATEGY.replace("name = test_reminders", "name = other")
        p = self.cli("strategy", "check", self.good, "-", check=False, input=other)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertRegex(p.stderr, r"<stdin>:\d+: priority 50 is also")
        p = self.cli("strategy", "plan", "--json", "-", input=STRATEGY)
        self.assertIn("summary", json.loads(p.stdout.splitlines()[-1]))

    # ---- plan --------------------------------------------------------------------------------

    def test_plan(self):
        self.import_portfolio()
        before = self.snapshot()
        items, summary = self.plan("--at", AT)
        self.assertEqual(self.snapshot(), before, "plan wrote to Redis")

        p1 = items["P1"]
        self.assertEqual((p1["strategy"], p1["segment"], p1["step"], p1["channel"], p1["template"]),
                         ("test_reminders", "early", "hello_whatsapp", "whatsapp", "hello_v1"))
        self.assertEqual(p1["to"], "+16505550101")
        self.assertEqual(p1["at"], "2026-11-24T14:00:00.000Z")  # 09:00 in New York
        self.assertEqual(p1["local"], "2026-11-24 09:00 America/New_York")
        self.assertEqual(p1["text"], "Hello from ACME Services. Call +1 650 555 0100. Reply STOP to opt out.")
        p2 = items["P2"]
        self.assertEqual(p2["at"], "2026-11-24T17:00:00.000Z")  # 09:00 in Los Angeles
        self.assertEqual(p2["text"], "Hola de ACME Services. Llame al +1 650 555 0100. Responda STOP para salir.")
        # WhatsApp opted out, SMS consented: the WhatsApp step counts as failed, the SMS goes.
        s = items["SMSONLY"]
        self.assertEqual((s["step"], s["channel"], s["at"]), ("hello_sms", "sms", "2026-11-24T14:00:00.000Z"))
        # Verified: the disclosing step, at its own window's opening (10:00 New York).
        v = items["VER"]
        self.assertEqual((v["segment"], v["step"], v["at"]), ("verified", "v_sms", "2026-11-24T15:00:00.000Z"))
        self.assertEqual(v["text"], "ACME Services, a debt collector: your balance is 100.00 USD. "
                                    "Reply STOP to opt out.")
        # Colombia: Ley 2300 allows 07:00-19:00 on weekdays; the step's window opens at 09:00.
        self.assertEqual(items["CO1"]["local"], "2026-11-24 09:00 America/Bogota")

        expected = {"PAID": "paid", "PAID2": "paid", "PROM": "promise", "DISP": "dispute", "OPT": "opted_out",
                    "NOCONS": "no_consent", "AGENT": "agent_conversation", "ATTY": "attribute",
                    "LATE": "no_segment"}
        for d, reason in expected.items():
            self.assertEqual(items[d].get("excluded"), reason, items[d])
        self.assertEqual(items["ATTY"]["detail"], "attorney")
        self.assertEqual(summary["debtors"], len(PORTFOLIO))
        self.assertEqual(summary["planned"], len(PORTFOLIO) - len(expected))
        self.assertEqual(summary["by_reason"], {"paid": 2, "promise": 1, "dispute": 1, "opted_out": 1,
                                                "no_consent": 1, "agent_conversation": 1,
                                                "attribute:attorney": 1, "no_segment": 1})
        self.assertEqual(summary["by_channel"], {"whatsapp": 3, "sms": 2})
        self.assertEqual(summary["at"], "2026-11-24T09:00:00.000Z")

    def test_plan_times(self):
        self.import_portfolio()
        # Inside the window: now. Friday after the window: Monday 09:00 (days = mon-fri).
        items, _ = self.plan("--at", "2026-11-24T20:00:00Z")
        self.assertEqual(items["P1"]["at"], "2026-11-24T20:00:00.000Z")
        items, _ = self.plan("--at", "2026-11-27T23:30:00-05:00")
        self.assertEqual(items["P1"]["local"], "2026-11-30 09:00 America/New_York")
        # The same plan from the strategies directory and from the file, in text form.
        p = self.cli("strategy", "plan", "--at", AT)
        self.assertIn("plan at 2026-11-24T09:00:00.000Z: 14 debtors, 5 planned, 9 excluded", p.stdout)
        self.assertIn("  excluded: agent_conversation 1, attribute:attorney 1, dispute 1, no_consent 1, "
                      "no_segment 1, opted_out 1, paid 2, promise 1\n", p.stdout)
        p2 = self.cli("strategy", "plan", "--at", AT, "--limit", "0", self.good)
        self.assertNotIn("P1 ", p2.stdout)
        self.assertIn("5 planned, 9 excluded", p2.stdout)
        # Bad --at, and a broken strategy file in the directory (exit 2: configuration).
        self.assertEqual(self.cli("strategy", "plan", "--at", "2026-11-24 09:00", check=False).returncode, 64)
        self.write("broken.strategy", "[strategy]\nname = x\n")
        p = self.cli("strategy", "plan", "--at", AT, check=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("broken.strategy:", p.stderr)

    def test_consent_import(self):
        self.import_portfolio()
        r = self.r.client()
        self.assertEqual(r.hgetall(debtor_key("SMSONLY", "consent")),
                         {"sms:+16505550108": "granted|1736467200000|import:web form"})
        self.assertEqual(r.hgetall(debtor_key("P1", "consent")), {})
        self.assertTrue(r.hget(debtor_key("VER", "consent"), "sms:+16505550113").startswith("granted|"))
        # A consent the debtor revoked in a conversation is not re-granted by a re-import.
        r.hset(debtor_key("OPT", "consent"), "sms:+16505550107", "revoked|1795000000000|conversation")
        self.import_portfolio()
        self.assertEqual(r.hget(debtor_key("OPT", "consent"), "sms:+16505550107"),
                         "revoked|1795000000000|conversation")
        # A bad value is refused with FILE:LINE.
        path = os.path.join(self.workdir, "bad.csv")
        with open(path, "w") as f:
            f.write("debtor_id,full_name,phones,consent_sms\nB1,Bad One,+16505550199,sometimes\n")
        p = self.cli("import-debtors", path)
        self.assertIn("bad.csv:2: debtor B1: consent_sms: want YYYY-MM-DD", p.stderr)


if __name__ == "__main__":
    unittest.main()
