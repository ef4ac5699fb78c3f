"""deploy/prometheus/hilo-alerts.yml checked by Prometheus's own promtool (Debian's, taken out of
its prometheus package by deploy/install-deps.sh): `promtool check rules` (valid PromQL, valid
rule files) and `promtool test rules` on prometheus/hilo-alerts.test.yml (the floor's alerts fire
when they should and stay quiet when they should not). A copy of the rules with one alert
weakened must fail those unit tests, so they can fail. tests/e2e/test_alert_rules.py checks the
other half: every metric the rules name is exported by the running processes."""

import os
import re
import shutil
import subprocess
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("HILO_SOURCE_DIR", os.path.join(HERE, "..", ".."))
RULES = os.path.join(SOURCE_DIR, "deploy", "prometheus", "hilo-alerts.yml")
UNIT_TESTS = os.path.join(HERE, "prometheus", "hilo-alerts.test.yml")


def promtool():
    for p in ("/usr/local/lib/hilo-test-tools/promtool", shutil.which("promtool")):
        if p and os.access(p, os.X_OK):
            return p
    raise AssertionError("promtool is missing: run HILO_WITH_TEST_TOOLS=1 deploy/install-deps.sh")


def run(*args, cwd=None):
    return subprocess.run([promtool(), *args], capture_output=True, text=True, timeout=120, cwd=cwd)


class PromtoolRules(unittest.TestCase):
    def test_rules_are_valid(self):
        p = run("check", "rules", RULES)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        n = int(re.search(r"SUCCESS: (\d+) rules found", p.stdout).group(1))
        self.assertGreaterEqual(n, 24, p.stdout)

    def test_floor_alerts_fire_as_written(self):
        p = run("test", "rules", UNIT_TESTS)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("SUCCESS", p.stdout)

    def test_a_weakened_rule_fails_the_unit_tests(self):
        with open(RULES) as f:
            text = f.read()
        # HiloQueueUnstaffed without its "unless an agent has a free slot": fires for en too.
        weak = text.replace("unless on (queue) max by (queue) (hilo_queue_agents_free) > 0", "")
        self.assertNotEqual(weak, text)
        with tempfile.TemporaryDirectory() as d:
            os.makedirs(os.path.join(d, "deploy", "prometheus"))
            os.makedirs(os.path.join(d, "tests", "integration", "prometheus"))
            with open(os.path.join(d, "deploy", "prometheus", "hilo-alerts.yml"), "w") as f:
                f.write(weak)
            shutil.copy(UNIT_TESTS, os.path.join(d, "tests", "integration", "prometheus"))
            p = run("test", "rules", "hilo-alerts.test.yml", cwd=os.path.join(d, "tests", "integration", "prometheus"))
        self.assertNotEqual(p.returncode, 0, p.stdout)
        self.assertIn("HiloQueueUnstaffed", p.stdout + p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
