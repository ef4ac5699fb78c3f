#!/usr/bin/python3
"""test_cli_options.py — how the `hilo` CLI reads its command line, its --json listings and
`hilo compliance check`, against a real redis-server (the CLI's own; no router needed).

Covers: GNU getopt_long forms on every command (`--opt=value` and `--opt value`, options after
operands where a command takes them anywhere, `--` ending the options), an unknown option and a
missing value (exit 64 with a message naming the command and the option), `--json` of each
listing parsed line by line and checked against what was seeded (conversations, agent list, debtor,
access-log), and `hilo compliance check` on the shipped rule packs and on a temporary rule-pack
directory whose calendars end early, are broken or are missing. The clock is never read: every
compliance check gets `--at`.
Runs under Debian's /usr/bin/python3 with python3-redis; stdlib unittest otherwise.
"""

import json
import os
import shutil
import subprocess
import unittest

import test_cli as base

SHIPPED_PACKS = os.path.join(base.SOURCE_DIR, "deploy", "compliance")


@unittest.skipUnless(os.access(base.HILO, os.X_OK), "the hilo CLI (%s) is not built" % base.HILO)
class HiloOptions(base.CliTestCase):
    @classmethod
    def conf_text(cls, packs=SHIPPED_PACKS):
        return ("[redis]\nhost = 127.0.0.1\nport = %d\ntimeout_ms = 3000\n\n"
                "[identity]\ndefault_country_code = 1\n\n"
                "[engine]\ncompliance_dir = %s\n" % (cls.server.port, packs))

    def json_lines(self, out):
        return [json.loads(line) for line in out.splitlines()]

    def seed_conversations(self):
        """Three conversations by the CLI's own import and send: D1001 oldest, D1003 newest."""
        self.hilo("import-debtors", base.DEMO_CSV)
        for debtor, channel in (("D1001", "whatsapp"), ("D1001", "sms"), ("D1002", "sms"), ("D1003", "whatsapp")):
            self.hilo("send", debtor, channel, "Hola")

    # ---- getopt forms ---------------------------------------------------------------------

    def test_value_with_equals_or_apart(self):
        self.seed_conversations()
        apart, _ = self.hilo("conversations", "--limit", "2")
        joined, _ = self.hilo("conversations", "--limit=2")
        self.assertEqual(apart, joined)
        self.assertEqual(len(apart.splitlines()), 3)  # header + 2
        rows = self.json_lines(self.hilo("conversations", "--json", "--limit=5")[0])
        self.assertEqual([r["debtor"] for r in rows], ["D1003", "D1002", "D1001"])
        # Options after the operand where the command takes them anywhere; `--` ends options.
        a, _ = self.hilo("thread", "D1001", "--json")
        b, _ = self.hilo("thread", "--json", "--", "D1001")
        self.assertEqual(a, b)
        self.assertEqual(len(self.json_lines(a)), 2)
        # send: options only before the operands, so a text may start with '-'.
        oid, _ = self.hilo("send", "D1002", "sms", "-10% si paga hoy")
        self.assertRegex(oid.strip(), "^" + base.OID + "$")
        self.r.xadd("hilo:{d:D1001}:access", {"a": "ana", "r": "agent", "d": "D1001", "ms": "1000"})
        self.r.xadd("hilo:{d:D1001}:access", {"a": "sue", "r": "supervisor", "d": "D1001", "ms": "2000"})
        rows = self.json_lines(self.hilo("access-log", "--debtor=D1001", "--limit=1", "--json")[0])
        self.assertEqual(rows, [{"ms": 2000, "agent": "sue", "role": "supervisor", "debtor": "D1001"}])

    def test_unknown_option_names_the_command(self):
        cases = [
            ("conversations", ("conversations", "--bogus")),
            ("thread", ("thread", "--bogus", "D1")),
            ("promises", ("promises", "D1", "--bogus")),
            ("debtor", ("debtor", "--bogus", "D1")),
            ("send", ("send", "--bogus", "D1", "sms", "x")),
            ("access-log", ("access-log", "--debtor", "D1", "--bogus")),
            ("agent list", ("agent", "list", "--bogus")),
            ("agent add", ("agent", "add", "a1", "--name", "A", "--bogus")),
            ("agent disable", ("agent", "disable", "--bogus", "a1")),
            ("import-debtors", ("import-debtors", "--bogus", "x.csv")),
            ("import-payments", ("import-payments", "--bogus", "x.csv")),
            ("migrate-addresses", ("migrate-addresses", "--bogus")),
            ("migrate", ("migrate", "--bogus")),
            ("link keygen", ("link", "keygen", "n1", "--bogus")),
            ("strategy plan", ("strategy", "plan", "--bogus")),
            ("strategy check", ("strategy", "check", "--bogus", "x.strategy")),
            ("strategy report", ("strategy", "report", "s1", "--bogus")),
            ("compliance check", ("compliance", "check", "--bogus")),
        ]
        for cmd, args in cases:
            with self.subTest(args=args):
                _, err = self.hilo(*args, expect=64)
                self.assertIn("hilo %s: unknown option '--bogus'" % cmd, err)
        _, err = self.hilo("conversations", "-x", expect=64)
        self.assertIn("hilo conversations: unknown option '-x'", err)
        _, err = self.hilo("conversations", "--json=yes", expect=64)
        self.assertIn("hilo conversations: option '--json' takes no value", err)
        p = subprocess.run([base.HILO, "--bogus"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 64)
        self.assertIn("hilo: unknown option '--bogus'", p.stderr)

    def test_missing_value(self):
        cases = [
            (("conversations", "--limit"), "conversations", "--limit"),
            (("access-log", "--debtor"), "access-log", "--debtor"),
            (("agent", "add", "a1", "--name"), "agent add", "--name"),
            (("agent", "passwd", "a1", "--password-env"), "agent passwd", "--password-env"),
            (("send", "--template"), "send", "--template"),
            (("strategy", "plan", "--at"), "strategy plan", "--at"),
            (("link", "keygen", "n1", "--out"), "link keygen", "--out"),
            (("compliance", "check", "--at"), "compliance check", "--at"),
        ]
        for args, cmd, opt in cases:
            with self.subTest(args=args):
                _, err = self.hilo(*args, expect=64)
                self.assertIn("hilo %s: option '%s' needs a value" % (cmd, opt), err)
        _, err = self.hilo("conversations", "--limit=zero", expect=64)
        self.assertIn("--limit wants a whole number from 1 to 1000000, not 'zero'", err)
        p = subprocess.run([base.HILO, "-c"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 64)
        self.assertIn("hilo: option '-c' needs a value", p.stderr)

    # ---- --json listings ------------------------------------------------------------------

    def test_conversations_json(self):
        self.seed_conversations()
        self.assertEqual(self.hilo("conversations", "--json")[0].count("\n"), 3)
        rows = {r["debtor"]: r for r in self.json_lines(self.hilo("conversations", "--json")[0])}
        d1 = rows["D1001"]
        conv = self.r.hgetall(base.dkey("D1001", "conv"))
        self.assertEqual(d1, {"debtor": "D1001", "name": "Ana María Gómez", "state": conv["state"],
                              "channel": "sms",
                              "last_activity_ms": int(self.r.zscore("hilo:convs", "D1001")),
                              "msgs_in": 0, "msgs_out": 2})
        self.assertEqual((rows["D1003"]["channel"], rows["D1003"]["msgs_out"]), ("whatsapp", 1))
        # An unidentified contact has no name: null, not a placeholder.
        self.r.zadd("hilo:convs", {"u:+16505550000": 1})
        self.r.hset(base.dkey("u:+16505550000", "conv"), mapping={"state": "bot", "msgs_in": "1",
                                                                  "last_channel": "sms"})
        u = [r for r in self.json_lines(self.hilo("conversations", "--json")[0]) if r["debtor"].startswith("u:")]
        self.assertEqual(u, [{"debtor": "u:+16505550000", "name": None, "state": "bot", "channel": "sms",
                              "last_activity_ms": 1, "msgs_in": 1, "msgs_out": 0}])
        self.r.flushall()
        self.assertEqual(self.hilo("conversations", "--json")[0], "")

    def test_agent_list_json(self):
        env = {"PW": "secret-password"}
        self.hilo("agent", "add", "ana", "--name=Ana Ruiz", "--skills", "es,cards", "--capacity=whatsapp=2,sms=1,voice=0",
                  "--password-env", "PW", env_extra=env)
        self.hilo("agent", "add", "--role", "supervisor", "sue", "--name", "Sue", "--password-env=PW", env_extra=env)
        self.hilo("agent", "disable", "sue")
        self.r.hset("hilo:agent:ana:live", "state", "available")
        rows = {r["id"]: r for r in self.json_lines(self.hilo("agent", "list", "--json")[0])}
        self.assertEqual(rows["ana"], {"id": "ana", "name": "Ana Ruiz", "role": "agent", "state": "available",
                                       "skills": ["es", "cards"],
                                       "capacity": {"whatsapp": 2, "sms": 1, "voice": 0}, "disabled": False})
        self.assertEqual(rows["sue"], {"id": "sue", "name": "Sue", "role": "supervisor", "state": "offline",
                                       "skills": [], "capacity": {"whatsapp": 3, "sms": 3, "voice": 1},
                                       "disabled": True})
        self.assertEqual(len(rows), 2)
        text, _ = self.hilo("agent", "list")
        self.assertIn("ID", text.splitlines()[0])

    def test_debtor_json(self):
        self.hilo("import-debtors", base.DEMO_CSV)
        out, _ = self.hilo("debtor", "+573005550179", "--json")
        self.assertEqual(out.count("\n"), 1)
        rec = json.loads(out)
        stored = self.r.hgetall(base.dkey("D1003", "debtor"))
        self.assertEqual(list(rec)[0], "id")
        self.assertEqual(rec, dict(stored, id="D1003"))
        self.assertEqual((rec["full_name"], rec["attr:notes"]), ("Carlos Andrés Restrepo", "Prefers WhatsApp, evenings only"))
        self.hilo("debtor", "--json", "D9999", expect=1)

    # ---- compliance check -----------------------------------------------------------------

    def pack_dir(self, name):
        d = os.path.join(self.tmp, name)
        shutil.rmtree(d, ignore_errors=True)
        shutil.copytree(SHIPPED_PACKS, d)
        return d, self.write(name + ".conf", self.conf_text(d))

    def test_compliance_check_shipped_packs(self):
        out, err = self.hilo("compliance", "check", "--at", "2026-06-01")
        self.assertEqual(err, "")
        lines = out.splitlines()
        self.assertEqual(lines[0].split(), ["PACK", "COUNTRIES", "CALENDAR", "FIRST", "LAST", "STATUS"])
        self.assertIn(["co_ley_2300", "CO", "CO", "2025", "2029", "ok"], [l.split() for l in lines])
        rows = {r["pack"]: r for r in self.json_lines(self.hilo("compliance", "check", "--json", "--at=2026-06-01")[0])}
        packs = sorted(f[:-5] for f in os.listdir(SHIPPED_PACKS) if f.endswith(".pack"))
        self.assertEqual(sorted(rows), packs)
        self.assertEqual(rows["co_ley_2300"], {
            "pack": "co_ley_2300", "name": "Colombia Ley 2300 de 2023", "countries": ["CO"], "calendar": "CO",
            "calendar_file": os.path.join(SHIPPED_PACKS, "holidays", "CO.txt"), "first_year": 2025,
            "last_year": 2029, "status": "ok", "error": None})
        self.assertEqual((rows["mx"]["calendar"], rows["mx"]["status"]), (None, "no_calendar"))
        # The last year the shipped calendars cover is judged as not covering the next one.
        _, err = self.hilo("compliance", "check", "--at", "2029-03-01", expect=1)
        self.assertIn("pack co_ley_2300: holiday calendar", err)
        self.hilo("compliance", "check", "--at", "2026-02-30", expect=64)

    def test_compliance_check_calendar_ending_early(self):
        d, conf = self.pack_dir("packs-short")
        co = os.path.join(d, "holidays", "CO.txt")
        with open(co, encoding="utf-8") as f:
            kept = [l for l in f if not l[:4].isdigit() or l[:4] in ("2025", "2026")]
        with open(co, "w", encoding="utf-8") as f:
            f.writelines(kept)
        out, err = self.hilo("compliance", "check", "--at", "2026-06-01", conf=conf, expect=1)
        self.assertIn(["co_ley_2300", "CO", "CO", "2025", "2026", "not_covered"], [l.split() for l in out.splitlines()])
        self.assertIn("warning: pack co_ley_2300: holiday calendar %s covers 2025-2026, not 2026 and 2027" % co, err)
        self.assertNotIn("pack cl:", err)
        rows = {r["pack"]: r for r in self.json_lines(
            self.hilo("compliance", "check", "--json", "--at", "2026-06-01", conf=conf, expect=1)[0])}
        self.assertEqual((rows["co_ley_2300"]["last_year"], rows["co_ley_2300"]["status"]), (2026, "not_covered"))
        self.assertEqual(rows["cl"]["status"], "ok")
        # The year before still sees this year and the next covered.
        self.hilo("compliance", "check", "--at", "2025-12-31", conf=conf)

    def test_compliance_check_broken_and_missing_calendars(self):
        d, conf = self.pack_dir("packs-broken")
        pe = os.path.join(d, "holidays", "PE.txt")
        with open(pe, encoding="utf-8") as f:
            lines = f.readlines()
        bad = next(i for i, l in enumerate(lines) if l[:4].isdigit())
        lines[bad] = "2026-02-30 Not a day\n"
        with open(pe, "w", encoding="utf-8") as f:
            f.writelines(lines)
        os.unlink(os.path.join(d, "holidays", "CL.txt"))
        out, err = self.hilo("compliance", "check", "--at", "2026-06-01", conf=conf, expect=1)
        self.assertIn("%s:%d: expected 'YYYY-MM-DD name' with a real date" % (pe, bad + 1), err)
        self.assertIn("%s:0: cannot open" % os.path.join(d, "holidays", "CL.txt"), err)
        rows = {r["pack"]: r for r in self.json_lines(
            self.hilo("compliance", "check", "--json", "--at", "2026-06-01", conf=conf, expect=1)[0])}
        self.assertEqual(rows["pe"]["status"], "broken")
        self.assertEqual(rows["pe"]["error"], "%s:%d: expected 'YYYY-MM-DD name' with a real date" % (pe, bad + 1))
        self.assertEqual((rows["cl"]["status"], rows["cl"]["calendar"]), ("missing", "CL"))
        self.assertEqual(rows["co_ley_2300"]["status"], "ok")  # the others are still reported


if __name__ == "__main__":
    unittest.main()
