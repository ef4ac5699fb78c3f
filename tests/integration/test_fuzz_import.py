"""Seeded random damage to a portfolio CSV (deploy/demo/debtors.csv) imported with the real
`hilo import-debtors` into a real redis-server.

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
        conf = os.path.join(self.workdir, "hilo.conf")
        with open(conf, "w") as f:
            f.write("[redis]\nhost = 127.0.0.1\nport = %d\n\n[identity]\ndefault_country_code = 1\n" % redis.port)
        with open(DEMO, "rb") as f:
            demo = f.read()
        csv = os.path.join(self.workdir, "portfolio.csv")
        totals = {"imported": 0, "rejected": 0, "unreadable": 0}
        for n in range(FILES):
            r.flushall()
            with open(csv, "wb") as f:
                f.write(corrupt(rng, demo))
            p = subprocess.run([CLI_BIN, "-c", conf, "import-debtors", csv], capture_output=True, timeout=60,
                               stdin=subprocess.DEVNULL, env=_clean_env())
            out, err = p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
            what = "seed %d, file %d: exit %s\n%s%s" % (SEED, n, p.returncode, out, err[-2000:])
            self.assertEqual(sanitizer_reports(err), [], what)
            self.assertIn(p.returncode, (0, 1), what)
            if p.returncode == 1:
                totals["unreadable"] += 1
                self.assertEqual(r.scard("hilo:debtors"), 0, "a refused file imports nothing: " + what)
                continue
            m = re.fullmatch(r"imported (\d+), rejected (\d+)\n", out)
            self.assertIsNotNone(m, what)
            totals["imported"] += int(m.group(1))
            totals["rejected"] += int(m.group(2))
            # stderr lines are reports naming the file and a line (a CR or a stray byte of a
            # corrupted row may be echoed inside one).
            for line in err.split("\n"):
                if line:
                    self.assertTrue(line.startswith(csv + ":"), what)
                    self.assertRegex(line[len(csv) + 1:], r"^\d+: ", what)
            # (a row repeated imports the same debtor twice: one member)
            self.assertLessEqual(r.scard("hilo:debtors"), int(m.group(1)), what)
            self.assertEqual(r.scard("hilo:debtors") > 0, int(m.group(1)) > 0, what)
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


if __name__ == "__main__":
    unittest.main()
