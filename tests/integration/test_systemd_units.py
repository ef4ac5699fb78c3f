"""The systemd units in deploy/systemd/: sandboxed well enough and valid (docs/operations.md,
"systemd").

- `systemd-analyze security --offline=true <unit file>` must score each unit 2.0 or lower (its
  "Overall exposure level" line; 0 is fully locked down, 10 is not at all).
- `systemd-analyze verify` must find nothing to say. verify works offline, but it insists that
  every Exec*= binary exists and is executable, and /usr/sbin/hilo-* exist only on a
  production host. So it runs on copies of the units in a temporary directory whose
  /usr/sbin/ paths point at executable stubs there; nothing else in the copy changes, and
  the template unit is checked as each channel's instance (hilo-connector@sms.service runs
  hilo-sms). verify exits 0 even for an unknown key or a bad value (it logs and ignores them),
  so its output must be empty, not only its exit status.
Skipped only when systemd-analyze is missing.
"""

import glob
import os
import re
import shutil
import subprocess
import tempfile
import unittest

SOURCE_DIR = os.environ.get("HILO_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
UNIT_DIR = os.path.join(SOURCE_DIR, "deploy", "systemd")
MAX_EXPOSURE = 2.0
CHANNELS = ("whatsapp", "sms", "voice")
ANALYZE = shutil.which("systemd-analyze")
OVERALL = re.compile(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)")


def units():
    return sorted(glob.glob(os.path.join(UNIT_DIR, "*.service")))


class TestSystemdUnits(unittest.TestCase):
    def setUp(self):
        if not ANALYZE:
            self.skipTest("systemd-analyze is not installed (Debian package systemd)")
        self.assertTrue(units(), "no unit files in %s" % UNIT_DIR)

    def test_exposure_at_most_2(self):
        for path in units():
            with self.subTest(unit=os.path.basename(path)):
                p = subprocess.run([ANALYZE, "security", "--offline=true", "--no-pager", path],
                                   capture_output=True, text=True, timeout=60)
                out = p.stdout + p.stderr
                m = OVERALL.search(out)
                self.assertIsNotNone(m, "no 'Overall exposure level' line (exit %d):\n%s" % (p.returncode, out))
                score = float(m.group(1))
                failing = "\n".join(l for l in out.splitlines() if l.startswith("\u2717"))
                self.assertLessEqual(score, MAX_EXPOSURE, "%s: exposure %.1f > %.1f; not set:\n%s"
                                     % (os.path.basename(path), score, MAX_EXPOSURE, failing))

    def test_units_have_the_watchdog_and_limits(self):
        # What the code relies on: Type=notify (READY=1 is sent), a WatchdogSec (the pings are
        # sent only then), a restart on watchdog, and a descriptor limit.
        for path in units():
            with self.subTest(unit=os.path.basename(path)):
                with open(path, encoding="utf-8") as f:
                    keys = dict(re.findall(r"^(\w+)=(.*)$", f.read(), re.M))
                self.assertEqual(keys.get("Type"), "notify")
                self.assertRegex(keys.get("WatchdogSec", ""), r"^[1-9]\d*s$")
                self.assertIn(keys.get("Restart"), ("always", "on-failure", "on-watchdog", "on-abnormal"))
                self.assertRegex(keys.get("LimitNOFILE", ""), r"^\d+$")

    def test_verify(self):
        tmp = tempfile.mkdtemp(prefix="hilo-units-")
        self.addCleanup(shutil.rmtree, tmp, True)
        bindir = os.path.join(tmp, "bin")
        os.makedirs(bindir)
        for name in ["hilo-router"] + ["hilo-" + c for c in CHANNELS]:
            stub = os.path.join(bindir, name)
            with open(stub, "w") as f:
                f.write("#!/bin/sh\nexit 0\n")
            os.chmod(stub, 0o755)
        checked = []
        for path in units():
            with open(path, encoding="utf-8") as f:
                text = f.read().replace("/usr/sbin/", bindir + "/")
            base = os.path.basename(path)
            names = [base.replace("@.", "@%s." % c) for c in CHANNELS] if "@." in base else [base]
            for name in names:
                copy = os.path.join(tmp, name)
                with open(copy, "w", encoding="utf-8") as f:
                    f.write(text)
                with self.subTest(unit=name):
                    p = subprocess.run([ANALYZE, "verify", "--no-pager", copy], capture_output=True,
                                       text=True, timeout=60)
                    out = (p.stdout + p.stderr).strip()
                    self.assertEqual((p.returncode, out), (0, ""), "systemd-analyze verify %s:\n%s" % (name, out))
                checked.append(name)
        self.assertIn("hilo-router.service", checked)
        self.assertIn("hilo-connector@sms.service", checked)


if __name__ == "__main__":
    unittest.main(verbosity=2)
