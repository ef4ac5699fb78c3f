"""The systemd notify protocol and the liveness watchdog, without systemd (proto/src/watchdog.c,
deploy/systemd/*.service: Type=notify, WatchdogSec=).

The test plays systemd's part: it binds a unix datagram socket, passes it as NOTIFY_SOCKET with
WATCHDOG_USEC=400000 (pings every 200 ms expected), and reads what the process sends. WATCHDOG_PID
is left unset, which sd_watchdog_enabled() reads as "this process"; set to another pid, the
watchdog is off. A SIGSTOPped process stands for a frozen loop: its pings must stop, which is
what makes systemd restart it.
"""

import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
import unittest

from hilo_harness import SOURCE_DIR, HiloTestCase, free_port, tail, wait_until, write_conf

sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "e2e"))
from connectors_stack import ConnectorProc, connector_bin, connector_conf  # noqa: E402

WATCHDOG_USEC = 400000  # pings every 200 ms

# Our own environment must not carry a watchdog of ours (a test run under a systemd unit): the
# children inherit it, and WATCHDOG_PID (our pid) would turn their watchdog off.
for _k in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"):
    os.environ.pop(_k, None)


class NotifySocket:
    """What systemd listens on: a unix datagram socket; every datagram's lines are kept with
    their arrival time (monotonic)."""

    def __init__(self):
        # A short directory of its own: a socket path is limited to 107 bytes.
        self.dir = tempfile.mkdtemp(prefix="hilo-nt-")
        self.path = os.path.join(self.dir, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.1)
        self.lock = threading.Lock()
        self.notes = []  # (monotonic time, line)
        self.running = True
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        while self.running:
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            now = time.monotonic()
            with self.lock:
                self.notes.extend((now, line) for line in data.decode("utf-8", "replace").splitlines())

    def times(self, line, since=0.0):
        with self.lock:
            return [t for t, l in self.notes if l == line and t >= since]

    def lines(self):
        with self.lock:
            return [l for _, l in self.notes]

    def close(self):
        self.running = False
        self.thread.join(2)
        self.sock.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class WatchdogCase(HiloTestCase):
    def notify_socket(self):
        n = NotifySocket()
        self.addCleanup(n.close)
        return n

    def env(self, n, **more):
        e = {"NOTIFY_SOCKET": n.path, "WATCHDOG_USEC": str(WATCHDOG_USEC)}
        e.update(more)
        return e

    def check_lifecycle(self, n, pid, stop, log_path, what):
        """READY=1, then pings; none while `pid` is stopped; pings again after SIGCONT; then
        `stop()` (SIGTERM) must give STOPPING=1 and exit status 0."""
        wait_until(lambda: n.times("READY=1"), 10, lambda: "%s: READY=1 (got %r)\n%s"
                   % (what, n.lines(), tail(log_path)))
        # Pings keep arriving: ~10 in 2 s at 200 ms; at least 4 even on a loaded machine.
        t0 = time.monotonic()
        time.sleep(2.0)
        pings = [t for t in n.times("WATCHDOG=1", since=t0) if t <= t0 + 2.0]
        self.assertGreaterEqual(len(pings), 4, "%s: WATCHDOG=1 in 2 s: %d (want >= 4, one per 200 ms)"
                                % (what, len(pings)))
        gaps = [b - a for a, b in zip(pings, pings[1:])]
        self.assertLess(max(gaps), 1.0, "%s: longest gap between pings %.3fs (interval 0.2s)" % (what, max(gaps)))

        # A frozen loop: no ping for 1 s (after a moment for a datagram already in flight).
        os.kill(pid, signal.SIGSTOP)
        try:
            time.sleep(0.3)
            t1 = time.monotonic()
            time.sleep(1.0)
            frozen = n.times("WATCHDOG=1", since=t1)
            self.assertEqual(len(frozen), 0, "%s: %d WATCHDOG=1 while SIGSTOPped (want 0)" % (what, len(frozen)))
        finally:
            os.kill(pid, signal.SIGCONT)
        t2 = time.monotonic()
        wait_until(lambda: n.times("WATCHDOG=1", since=t2), 5, "%s: WATCHDOG=1 again after SIGCONT" % what)

        self.assertEqual(n.times("STOPPING=1"), [], "%s: STOPPING=1 before the stop" % what)
        status = stop()
        self.assertEqual(status, 0, "%s: exit status %s after SIGTERM (want 0)\n%s" % (what, status, tail(log_path)))
        wait_until(lambda: n.times("STOPPING=1"), 2, lambda: "%s: STOPPING=1 (got %r)" % (what, n.lines()[-5:]))
        self.assertEqual(len(n.times("READY=1")), 1, "%s: READY=1 sent once" % what)


class TestRouterWatchdog(WatchdogCase):
    def test_ready_pings_freeze_stopping(self):
        n = self.notify_socket()
        redis = self.redis()
        router = self.router(redis, env=self.env(n))
        self.assertTrue(router.log_lines("watchdog", "event=watchdog_on", "ping_ms=200"),
                        "no watchdog_on line:\n%s" % tail(router.log_path))
        self.check_lifecycle(n, router.proc.pid, router.stop, router.log_path, "hilo-router")

    def test_watchdog_pid_of_another_process_turns_it_off(self):
        # sd_watchdog_enabled(): WATCHDOG_PID names the process the watchdog is for; another
        # pid (say the shell that started us) means "not you": READY=1 still, no pings.
        n = self.notify_socket()
        redis = self.redis()
        router = self.router(redis, env=self.env(n, WATCHDOG_PID=str(os.getpid())))
        wait_until(lambda: n.times("READY=1"), 10, lambda: "READY=1 (got %r)" % n.lines())
        time.sleep(1.0)
        self.assertEqual(n.times("WATCHDOG=1"), [], "pings with WATCHDOG_PID of another process")
        self.assertEqual(router.stop(), 0)
        wait_until(lambda: n.times("STOPPING=1"), 2, "STOPPING=1")

    def test_without_notify_socket_nothing_changes(self):
        # Outside systemd: no NOTIFY_SOCKET, the router runs and stops as before.
        redis = self.redis()
        router = self.router(redis, env={"WATCHDOG_USEC": str(WATCHDOG_USEC)})
        time.sleep(0.5)
        self.assertEqual(router.healthz(), 200)
        self.assertEqual(router.log_lines("event=notify_failed"), [])
        self.assertEqual(router.stop(), 0)


class TestConnectorWatchdog(WatchdogCase):
    CHANNEL = "sms"

    def test_ready_pings_freeze_stopping(self):
        if not os.access(connector_bin(self.CHANNEL), os.X_OK):
            self.skipTest("hilo-%s is not built" % self.CHANNEL)
        n = self.notify_socket()
        redis = self.redis()
        router = self.router(redis)
        port = free_port()
        conf_path = os.path.join(self.workdir, "connectors.conf")
        write_conf(conf_path, connector_conf(router, {self.CHANNEL: port}, self.workdir))
        c = ConnectorProc(self.CHANNEL, self.workdir, conf_path, port, env=self.env(n))
        self._logs.append(("hilo-" + self.CHANNEL, c.log_path))
        self.addCleanup(c.stop_and_check)
        c.start(wait=True)
        self.check_lifecycle(n, c.proc.pid, lambda: c.stop()[0], c.log_path, "hilo-" + self.CHANNEL)


if __name__ == "__main__":
    unittest.main(verbosity=2)
