"""The modes of what deploy/quickstart.sh and the processes it starts write (docs/security.md,
"Files"): logs, Redis's data, dead letters, keys and passwords hold debtors' data or secrets, so
every file is 0600 and every directory 0700 — no bit for group or others.

The real quickstart runs (`start`, then `stop`), with its run/ in a temporary directory
(HILO_QS_RUN_DIR) and the binaries of this build (HILO_QS_BUILD_DIR, HILO_QS_BUILD=0: no
install, no rebuild). Its ports are fixed (5555, 8080, 8081-8083, 9081-9083, 8090, Redis 6390),
so it runs in a network namespace of its own (`unshare -rn`, loopback only): it cannot collide
with another test or a quickstart on this host. While it runs, Redis is made to write an RDB
snapshot and rewrite its AOF (as an admin user the quickstart's ACL file gets from
HILO_REDIS_ADMIN_PASSWORD), so its temporary and renamed files are covered too. Then every file
and directory under run/ is stat'ed. About 5 s a run.

- A fresh run/: nothing group- or other-accessible, and every file the issue names exists.
- A run/ left by an older quickstart (umask 022: 0755 directories, 0644 logs, dead letters and
  config): the quickstart names what it tightens and, once it has run, nothing is left wider.
Skipped when a network namespace cannot be made or redis-server is missing.
"""

import glob
import os
import shutil
import signal
import stat
import subprocess
import tempfile
import unittest

from hilo_harness import BUILD_DIR, ROUTER_BIN, SOURCE_DIR

QUICKSTART = os.path.join(SOURCE_DIR, "deploy", "quickstart.sh")
CHANNELS = ("whatsapp", "sms", "voice")
ADMIN_PASSWORD = "test-admin-password-for-modes"

# Inside the namespace: loopback up, the quickstart, Redis's own writes, the quickstart's stop.
# `stop` runs even when `start` failed, so nothing outlives the namespace's script.
SCRIPT = r"""
set -u
ip link set lo up
qs=$1
"$qs" start; rc=$?
if [ $rc = 0 ]; then
  cli() { timeout 5 redis-cli -p 6390 --user hilo-admin --pass "$HILO_REDIS_ADMIN_PASSWORD" --no-auth-warning "$@"; }
  cli bgsave >/dev/null && cli bgrewriteaof >/dev/null || rc=10
  for i in $(seq 100); do
    info=$(cli info persistence)
    case $info in *rdb_bgsave_in_progress:0*aof_rewrite_in_progress:0*) ! grep -q 'aof_rewrite_scheduled:1' <<<"$info" && break ;; esac
    sleep 0.1
  done
  cli save >/dev/null || rc=11
fi
"$qs" stop || rc=12
exit $rc
"""


def netns_ok():
    try:
        return subprocess.run(["unshare", "-rn", "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def loose(run):
    """Every path under `run` (itself included, links excepted) with a group or other bit."""
    out = []
    for root, dirs, files in os.walk(run):
        for p in [root] + [os.path.join(root, f) for f in files]:
            st = os.lstat(p)
            if not stat.S_ISLNK(st.st_mode) and st.st_mode & 0o077:
                out.append("%04o %s" % (stat.S_IMODE(st.st_mode), os.path.relpath(p, run)))
    return sorted(out)


class TestQuickstartModes(unittest.TestCase):
    def setUp(self):
        if not shutil.which("redis-server") or not shutil.which("redis-cli"):
            self.skipTest("redis-server is not installed")
        if not os.path.exists(ROUTER_BIN):
            self.skipTest("hilo-router is not built in %s" % BUILD_DIR)
        if not netns_ok():
            self.skipTest("cannot make a network namespace (unshare -rn)")
        self.tmp = tempfile.mkdtemp(prefix="hilo-qs-modes-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.run_dir = os.path.join(self.tmp, "run")
        self.addCleanup(self.kill_leftovers)

    def kill_leftovers(self):
        # Only if the script was cut short: the pids the quickstart recorded (ours).
        for f in glob.glob(os.path.join(self.run_dir, "*.pid")):
            try:
                os.kill(int(open(f).read().strip()), signal.SIGKILL)
            except (ValueError, OSError):
                pass

    def quickstart(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("HILO_")}
        env.update(HILO_QS_RUN_DIR=self.run_dir, HILO_QS_BUILD_DIR=BUILD_DIR, HILO_QS_BUILD="0",
                   HILO_QS_CHECK_S="1", HILO_REDIS_ADMIN_PASSWORD=ADMIN_PASSWORD)
        p = subprocess.run(["unshare", "-rn", "bash", "-c", SCRIPT, "bash", QUICKSTART], capture_output=True,
                           text=True, timeout=240, env=env)
        out = "exit %d\n--- stdout\n%s\n--- stderr\n%s" % (p.returncode, p.stdout[-4000:], p.stderr[-4000:])
        self.assertEqual(p.returncode, 0, out)
        return p, out

    def expected(self):
        """What the issue names, so that a missing file cannot pass for a private one."""
        paths = ["redis", "redis/appendonlydir", "redis/dump.rdb", "redis.log", "router.log",
                 "supervisor.log", "hilo.conf", "secrets", "secrets/router.key", "secrets/link_keys",
                 "secrets/users.acl", "secrets/redis-hilo-router.pass", "secrets/redis-hilo-cli.pass",
                 "secrets/redis-hilo-read.pass"]
        if os.path.exists(os.path.join(SOURCE_DIR, "connectors", "sandbox", "sandbox.py")):
            paths.append("sandbox.log")
        for ch in CHANNELS:
            if os.path.exists(os.path.join(BUILD_DIR, "connectors", ch, "hilo-" + ch)):
                paths += [ch + ".log", ch + "-1.dead-letters.jsonl", "secrets/%s.key" % ch]
        return paths

    def assert_all_private(self, out):
        missing = [p for p in self.expected() if not os.path.exists(os.path.join(self.run_dir, p))]
        self.assertEqual(missing, [], "not written by the quickstart:\n" + out)
        aof = glob.glob(os.path.join(self.run_dir, "redis", "appendonlydir", "*"))
        self.assertGreaterEqual(len(aof), 3, "Redis's AOF files (manifest, base, incr): %s" % aof)
        self.assertEqual(loose(self.run_dir), [], "group or other bits under run/:\n" + out)

    def test_everything_written_is_owner_only(self):
        _, out = self.quickstart()
        self.assert_all_private(out)

    def test_an_older_run_is_tightened(self):
        # What a quickstart with umask 022 left behind.
        old = {"router.log": "ts=... level=info\n", "sandbox.log": "+16505551234\n",
               "whatsapp-1.dead-letters.jsonl": '{"from":"+16505551234"}\n', "hilo.conf": "[redis]\n"}
        os.makedirs(os.path.join(self.run_dir, "redis"))
        os.chmod(self.run_dir, 0o755)
        os.chmod(os.path.join(self.run_dir, "redis"), 0o755)
        for name, text in old.items():
            path = os.path.join(self.run_dir, name)
            with open(path, "w") as f:
                f.write(text)
            os.chmod(path, 0o644)
        p, out = self.quickstart()
        for name in old:
            self.assertIn(os.path.join(self.run_dir, name), p.stderr, "the quickstart names what it tightens\n" + out)
        self.assertIn("taking group and other access away", p.stderr, out)
        self.assert_all_private(out)
        with open(os.path.join(self.run_dir, "whatsapp-1.dead-letters.jsonl")) as f:
            self.assertIn("+16505551234", f.read(), "an old dead letter is kept, not replaced")


if __name__ == "__main__":
    unittest.main(verbosity=2)
