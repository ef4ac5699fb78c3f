"""The newcomer's path, as README.md tells it: the first command of its first code block (the
quickstart) is read from the README and run, the demo agent account the quickstart prints is
parsed from its output, and Debian's Chromium logs into the console with it and sees the agent's
desk (tests/browser/newcomer.spec.js; screenshot: tests/artifacts/browser/newcomer-agent-desk.png).
How long it took is printed, not asserted. The quickstart is stopped at the end.

The README's second command is ./tests/run.sh, the suite this test is part of: CI runs it, so
this test only checks that the README still names it, rather than running itself again.

The quickstart runs the way test_quickstart_modes.py runs it: its run/ in a temporary directory
(HILO_QS_RUN_DIR) and the binaries of the build under test (HILO_QS_BUILD_DIR, HILO_QS_BUILD=0:
the package check and the build are skipped — the suite has just built that tree, and the
quickstart's own build would reconfigure it without the test clock). Its ports are fixed, so the
whole test runs in a network namespace of its own (`unshare -rn`, loopback only; the file
re-executes itself in one): it cannot collide with another test or a quickstart on this host,
and Chromium, in the same namespace, reaches the console on 127.0.0.1 like a newcomer's.
Skipped when a namespace cannot be made, or redis-server, the CLI, node, playwright-core or
/usr/bin/chromium is missing.
"""

import glob
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

from hilo_harness import BUILD_DIR, SOURCE_DIR, cli_path
from hilo_browser import ARTIFACTS, CHROMIUM, NODE, playwright_ready, run_spec

README = os.path.join(SOURCE_DIR, "README.md")
IN_NETNS = "HILO_NEWCOMER_NETNS"  # set by the re-execution inside `unshare -rn`


def readme_commands():
    """The commands of README.md's first code block, comments taken off."""
    with open(README, encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"^```[\w-]*\n(.*?)^```", text, re.M | re.S)
    if not m:
        return []
    return [line.split("#", 1)[0].strip() for line in m.group(1).splitlines() if line.split("#", 1)[0].strip()]


def printed_accounts(out):
    """{role: (id, password)} of the demo accounts in the quickstart's output, and the console URL."""
    accounts = {role: (ident, pw) for role, ident, pw in
                re.findall(r"^\s+(agent|supervisor):\s+(\S+)\s+password:\s+(\S+)\s*$", out, re.M)}
    url = re.search(r"^\s+console\s+(http://\S+)", out, re.M)
    return accounts, url and url.group(1)


@unittest.skipUnless(cli_path() and NODE and os.access(CHROMIUM, os.X_OK), "needs the CLI, node and /usr/bin/chromium")
class NewcomerPath(unittest.TestCase):
    def setUp(self):
        if os.environ.get(IN_NETNS) != "1":
            self.skipTest("cannot make a network namespace (unshare -rn): the quickstart's fixed ports "
                          "would collide with this host's")
        if not shutil.which("redis-server"):
            self.skipTest("redis-server is not installed")
        if not playwright_ready():
            self.skipTest("playwright-core is not installed (tests/browser/install.sh)")
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True, timeout=10)
        self.tmp = tempfile.mkdtemp(prefix="hilo-newcomer-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.run_dir = os.path.join(self.tmp, "run")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("HILO_")}
        self.env.update(HILO_QS_RUN_DIR=self.run_dir, HILO_QS_BUILD_DIR=BUILD_DIR, HILO_QS_BUILD="0")

    def stop_quickstart(self, command):
        p = subprocess.run(command + ["stop"], cwd=SOURCE_DIR, env=self.env, capture_output=True, text=True,
                           timeout=120)
        # Only if the stop was cut short: the pids the quickstart recorded (ours, in this namespace).
        for f in glob.glob(os.path.join(self.run_dir, "*.pid")):
            try:
                os.kill(int(open(f).read().strip()), signal.SIGKILL)
            except (ValueError, OSError):
                pass
        return p

    def test_readme_quickstart_then_console_login_in_chromium(self):
        commands = readme_commands()
        self.assertGreaterEqual(len(commands), 2, "README.md's first code block: %r" % commands)
        self.assertEqual(commands[0], "./deploy/quickstart.sh",
                         "README.md no longer starts with the quickstart: update this test with it")
        # The second command is the whole suite; CI runs it (this test is part of it).
        self.assertEqual(commands[1], "./tests/run.sh")
        command = shlex.split(commands[0])

        t0 = time.monotonic()
        self.addCleanup(self.stop_quickstart, command)
        p = subprocess.run(command, cwd=SOURCE_DIR, env=self.env, stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=300)
        started = time.monotonic()
        out = "exit %d\n--- stdout\n%s\n--- stderr\n%s" % (p.returncode, p.stdout[-4000:], p.stderr[-4000:])
        self.assertEqual(p.returncode, 0, out)
        accounts, url = printed_accounts(p.stdout)
        self.assertIn("agent", accounts, "the quickstart printed no demo agent account:\n" + out)
        self.assertIn("supervisor", accounts, "the quickstart printed no demo supervisor account:\n" + out)
        self.assertEqual(url, "http://127.0.0.1:8080/console/", out)
        agent, password = accounts["agent"]
        # The printed password is also in run/, owner only.
        pass_file = os.path.join(self.run_dir, "secrets", "console-%s.pass" % agent)
        with open(pass_file, encoding="utf-8") as f:
            self.assertEqual(f.read().strip(), password)
        self.assertEqual(os.stat(pass_file).st_mode & 0o777, 0o600)

        lines = run_spec(self, "newcomer.spec.js", dict(HILO_URL=url, HILO_AGENT=agent, HILO_PASSWORD=password))
        done = time.monotonic()
        self.assertIn("WHO Demo Agent (agent)\n", lines)
        shot = os.path.join(ARTIFACTS, "newcomer-agent-desk.png")
        self.assertGreater(os.path.getsize(shot), 1000, shot)

        stop = self.stop_quickstart(command)
        self.assertEqual(stop.returncode, 0, stop.stdout + stop.stderr)
        sys.stderr.write("newcomer path: quickstart %.1f s (no build: HILO_QS_BUILD=0), console login in Chromium "
                         "%.1f s, total %.1f s\n" % (started - t0, done - started, done - t0))


if __name__ == "__main__":
    if os.environ.get(IN_NETNS) != "1":
        try:
            netns = subprocess.run(["unshare", "-rn", "true"], capture_output=True, timeout=10).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            netns = False
        if netns:
            os.environ[IN_NETNS] = "1"
            os.execvp("unshare", ["unshare", "-rn", sys.executable, os.path.abspath(__file__)] + sys.argv[1:])
    unittest.main(verbosity=2)
