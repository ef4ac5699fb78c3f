"""Seeded random damage to a portfolio CSV (deploy/demo/debtors.csv) imported with the real
`hilo import-debtors` into a real redis-server — and to a payments file imported twice with
`hilo import-payments` (the second import must change nothing).

What must hold whatever the file:
* exit 0 with "imported N, rejected M" (the file was read), or 1 (unreadable header), never a
  crash; in the ASan+UBSan build no sanitizer report;
* every line on stderr names the file and a line number;
* what was imported is whole: every debtor in hilo:debtors has its record, and every identity
  key (hilo:addr:<E.164>) points at a debtor whose phones list that address — so an inbound
  message is never filed under a debtor that does not claim its number.

HILO_FUZZ_SEED and HILO_FUZZ_FILES run other seeds or longer.
"""

import os
import random
import re
import subprocess
import unittest

from hilo_fuzz import damage_lines
from hilo_harness import CLI_BIN, SOURCE_DIR, HiloTestCase, _clean_env, cli_path, sanitizer_reports

SEED = int(os.environ.get("HILO_FUZZ_SEED", "20261123"))
FILES = int(os.environ.get("HILO_FUZZ_FILES", "150"))
DEMO = os.path.join(SOURCE_DIR, "deploy", "demo", "debtors.csv")
ODD_FIELDS = [b"", b"\"", b"\"\"", b"\"a,b\"", b"+1650", b"+16505551234", b"6505551234; +16505551234",
              b"-3", b"1e9", b"99999999999999999999.99", b"USD", b"usd", b"x" * 3000, b"\xff\xfe", b"\xc3",
              b"America/Bogota", b"../etc/passwd", b"es", b"spanish", b"u:+16505550009", b"D1001", b"\r", b"\n",
              b"\"line one\nline two\"", b"\x00", b"4321", b"12345"]


def corrupt(rng, data):
    """Damage to a CSV: hilo_fuzz's line edits, and fields replaced, removed or added, stray
    quotes and line endings."""
    def replace_field(rng, line):
        fields = line.split(b",")
        fields[rng.randrange(len(fields))] = rng.choice(ODD_FIELDS)
        return b",".join(fields)

    def remove_or_add_field(rng, line):
        fields = line.split(b",")
        if rng.random() < 0.5 and len(fields) > 1:
            del fields[rng.randrange(len(fields))]
        else:
            fields.insert(rng.randrange(len(fields) + 1), rng.choice(ODD_FIELDS))
        return b",".join(fields)

    def stray_quote(rng, line):
        pos = rng.randrange(len(line) + 1)
        return line[:pos] + b"\"" + line[pos:]

    return damage_lines(rng, data, [replace_field, remove_or_add_field, stray_quote,
                                    lambda rng, line: line + rng.choice([b"\r", b"\r\r", b",", b";"])])


@unittest.skipUnless(cli_path(), "the hilo CLI is not built")
class FuzzImport(HiloTestCase):
    def test_random_csv_damage_imports_what_is_whole_and_reports_the_rest(self):
        rng = random.Random(SEED)
        redis = self.redis()
        r = redis.client()
        conf = self.write_conf(redis)
        with open(DEMO, "rb") as f:
            demo = f.read()
        csv = os.path.join(self.workdir, "portfolio.csv")
        totals = {"imported": 0, "rejected": 0, "unreadable": 0}
        for n in range(FILES):
            r.flushall()
            with open(csv, "wb") as f:
                f.write(corrupt(rng, demo))
            got = self.cli(conf, "import-debtors", csv, n=n, ok=(0, 1))
            what = "seed %d, file %d: %r" % (SEED, n, got)
            if got is None:
                totals["unreadable"] += 1
                self.assertEqual(r.scard("hilo:debtors"), 0, "a refused file imports nothing: " + what)
                continue
            totals["imported"] += got["imported"]
            totals["rejected"] += got["rejected"]
            # (a row repeated imports the same debtor twice: one member)
            self.assertLessEqual(r.scard("hilo:debtors"), got["imported"], what)
            self.assertEqual(r.scard("hilo:debtors") > 0, got["imported"] > 0, what)
            debtors = r.smembers("hilo:debtors")
            for d in debtors:
                self.assertTrue(r.exists("hilo:{d:%s}:debtor" % d), "%s has no record: %s" % (d, what))
            for key in r.scan_iter("hilo:addr:*"):
                addr = key[len("hilo:addr:"):]
                owner = r.get(key)
                self.assertIn(owner, debtors, "%s points at %s, not imported: %s" % (key, owner, what))
                phones = (r.hget("hilo:{d:%s}:debtor" % owner, "phones") or "").split(";")
                self.assertIn(addr, phones, "%s points at %s, whose phones are %s: %s" % (key, owner, phones, what))
        self.assertGreater(totals["imported"], FILES, "too little imported to mean anything: %r" % totals)
        self.assertGreater(totals["rejected"], FILES // 3, "too little rejected to mean anything: %r" % totals)

    def test_random_payment_files_apply_once_and_report_the_rest(self):
        # import-payments: the same damage to a payments file; each file imported twice, and
        # the second time changes nothing (the reference is the dedupe key).
        rng = random.Random(SEED + 1)
        redis = self.redis()
        r = redis.client()
        conf = self.write_conf(redis)
        rows = ["debtor_id,amount,currency,paid_at,reference"]
        for i in range(20):
            rows.append("D100%d,%d.%02d,USD,2026-11-%02dT1%d:00:00Z,BANK-%04d"
                        % (1 + i % 2, 10 + i, i, 1 + i, i % 10, i))
        base = ("\n".join(rows) + "\n").encode()
        csv = os.path.join(self.workdir, "payments.csv")
        applied_total = 0
        for n in range(FILES // 2):
            r.flushall()
            self.cli(conf, "import-debtors", DEMO)
            with open(csv, "wb") as f:
                f.write(corrupt(rng, base))
            first = self.cli(conf, "import-payments", csv, n=n, ok=(0, 1))
            if first is None:
                continue
            before = {k: r.hgetall(k) for k in r.scan_iter("hilo:{d:*}:payments")}
            second = self.cli(conf, "import-payments", csv, n=n, ok=(0,))
            what = "seed %d, file %d: %r then %r" % (SEED + 1, n, first, second)
            self.assertEqual(second["applied"], 0, what)
            self.assertEqual(second["duplicates"], first["applied"] + first["duplicates"], what)
            self.assertEqual({k: r.hgetall(k) for k in r.scan_iter("hilo:{d:*}:payments")}, before, what)
            self.assertEqual(sum(len(v) for v in before.values()), first["applied"], what)
            applied_total += first["applied"]
        self.assertGreater(applied_total, FILES, "too little applied to mean anything")

    def write_conf(self, redis):
        conf = os.path.join(self.workdir, "hilo.conf")
        with open(conf, "w") as f:
            f.write("[redis]\nhost = 127.0.0.1\nport = %d\n\n[identity]\ndefault_country_code = 1\n" % redis.port)
        return conf

    def cli(self, conf, *args, n=0, ok=(0,)):
        """Runs the CLI; checks exit status, sanitizer silence and that every report names the
        file and a line (a CR or a stray byte of a corrupted row may be echoed inside one).
        Returns the summary's counts, or None for exit 1 (an unreadable file or header)."""
        p = subprocess.run([CLI_BIN, "-c", conf] + list(args), capture_output=True, timeout=60,
                           stdin=subprocess.DEVNULL, env=_clean_env())
        out, err = p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
        what = "seed %d, file %d, %s: exit %s\n%s%s" % (SEED, n, args[0], p.returncode, out, err[-2000:])
        self.assertEqual(sanitizer_reports(err), [], what)
        self.assertIn(p.returncode, ok, what)
        if p.returncode == 1:
            return None
        path = args[-1]
        for line in err.split("\n"):
            if line:
                self.assertTrue(line.startswith(path + ":"), what)
                self.assertRegex(line[len(path) + 1:], r"^\d+: ", what)
        if args[0] == "import-payments":
            m = re.search(r"applied (\d+), duplicates (\d+), rejected (\d+); promises kept (\d+)\n$", out)
            self.assertIsNotNone(m, what)
            return dict(zip(("applied", "duplicates", "rejected", "kept"), map(int, m.groups())))
        m = re.fullmatch(r"imported (\d+), rejected (\d+)\n", out)
        self.assertIsNotNone(m, what)
        return dict(zip(("imported", "rejected"), map(int, m.groups())))


if __name__ == "__main__":
    unittest.main()
