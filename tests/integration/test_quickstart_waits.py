"""deploy/lib/wait.sh, the waits and the supervisor of deploy/quickstart.sh, without running the
quickstart: each function is sourced alone into bash and pointed at small Python stand-ins.

- A frozen process is a socket that accepts and never answers: every wait must give up within
  its bound (plus one try's time limit) and say so, instead of hanging for ever.
- A port something else listens on is refused before a service starts, naming the process.
- The supervisor restarts a process that gives no HTTP answer several checks in a row, with the
  command it was started with; one that answers 503 (alive, a dependency down) is left alone.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import unittest

from hilo_harness import SOURCE_DIR, free_port, wait_until

WAIT_SH = os.path.join(SOURCE_DIR, "deploy", "lib", "wait.sh")
QUICKSTART = os.path.join(SOURCE_DIR, "deploy", "quickstart.sh")

FAKE_SERVICE = textwrap.dedent("""\
    # A service's /healthz: answers `status` to every GET.
    import http.server, sys
    port, status = int(sys.argv[1]), int(sys.argv[2])
    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(status)
            self.send_header("Content-Length", "3")
            self.end_headers()
            self.wfile.write(b"ok\\n")
        def log_message(self, *a):
            pass
    http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
    """)


def bash(script, timeout=30, env=None):
    """Runs `script` in bash after sourcing wait.sh: (exit status, stdout, stderr, seconds)."""
    e = dict(os.environ)
    e.update(env or {})
    t0 = time.monotonic()
    p = subprocess.run(["bash", "-c", '. "$1"; shift; ' + script, "bash", WAIT_SH], capture_output=True,
                       text=True, timeout=timeout, env=e)
    return p.returncode, p.stdout, p.stderr, time.monotonic() - t0


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


class SilentListener:
    """A frozen process: accepts every connection, reads nothing, answers nothing."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.held = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                self.held.append(self.sock.accept()[0])
            except OSError:
                return

    def close(self):
        self.sock.close()
        for c in self.held:
            c.close()


class TestWaits(unittest.TestCase):
    def setUp(self):
        self.assertTrue(os.path.exists(WAIT_SH), WAIT_SH)

    def silent(self):
        s = SilentListener()
        self.addCleanup(s.close)
        return s

    def fake_service(self, status):
        port = free_port()
        path = os.path.join(self.tmp(), "fake.py")
        with open(path, "w") as f:
            f.write(FAKE_SERVICE)
        p = subprocess.Popen([sys.executable, path, str(port), str(status)])
        self.addCleanup(lambda: (p.kill(), p.wait()))
        url = "http://127.0.0.1:%d/healthz" % port
        wait_until(lambda: bash("hilo_http_code %s 1" % url)[1].strip() == str(status), 10,
                   "the fake service on %d" % port)
        return url

    def tmp(self):
        if not hasattr(self, "_tmp"):
            self._tmp = tempfile.mkdtemp(prefix="hilo-qs-")
            self.addCleanup(shutil.rmtree, self._tmp, True)
        return self._tmp

    def test_wait_http_gives_up_on_a_process_that_never_answers(self):
        s = self.silent()
        rc, _, err, took = bash('hilo_wait_http router "http://127.0.0.1:%d/healthz" 2' % s.port,
                                env={"HILO_WAIT_HTTP_TIMEOUT": "1"})
        self.assertEqual(rc, 1, err)
        self.assertGreaterEqual(took, 2.0)
        self.assertLess(took, 6.0, "bound 2 s + one 1 s try, took %.1fs" % took)
        self.assertIn("router did not answer http://127.0.0.1:%d/healthz within 2 s" % s.port, err)
        self.assertIn("frozen", err)

    def test_wait_http_succeeds_on_2xx_and_reports_an_error_status(self):
        ok = self.fake_service(200)
        rc, _, err, took = bash('hilo_wait_http router "%s" 5' % ok)
        self.assertEqual((rc, err), (0, ""))
        self.assertLess(took, 3.0)
        bad = self.fake_service(503)
        rc, _, err, took = bash('hilo_wait_http "the sms connector" "%s" 1' % bad)
        self.assertEqual(rc, 1)
        self.assertIn("the sms connector was not healthy within 1 s: %s answered 503" % bad, err)

    def test_wait_redis_gives_up_on_a_frozen_server(self):
        s = self.silent()
        rc, _, err, took = bash("hilo_wait_redis %d 2" % s.port)
        self.assertEqual(rc, 1, err)
        self.assertLess(took, 6.0, "bound 2 s + one 1 s try, took %.1fs" % took)
        self.assertIn("redis did not answer PING on 127.0.0.1:%d within 2 s" % s.port, err)

    def test_port_taken_by_another_process(self):
        s = self.silent()
        rc, out, err, _ = bash("hilo_require_port router %d" % s.port)
        self.assertEqual(rc, 1)
        self.assertIn("router: port %d already taken by another process" % s.port, err)
        if "users:" in err:  # ss may name the process (it can, for our own, as any user)
            self.assertIn("pid=%d" % os.getpid(), err)
        port = free_port()
        self.assertEqual(bash("hilo_require_port router %d" % port)[:3], (0, "", ""))

    def test_supervisor_restarts_a_frozen_process_and_leaves_an_unhealthy_one(self):
        run = self.tmp()
        with open(os.path.join(run, "fake.py"), "w") as f:
            f.write(FAKE_SERVICE)
        ports = {"frozen": free_port(), "unhealthy": free_port()}
        status = {"frozen": 200, "unhealthy": 503}
        env = {"HILO_WAIT_HTTP_TIMEOUT": "0.5", "HILO_STOP_GRACE_S": "1"}
        for name in ports:
            # As the quickstart does: started in the background, its /healthz URL in NAME.health.
            rc, _, err, _ = bash('hilo_start_bg {run} {name} {py} {run}/fake.py {port} {status}; '
                                 'echo http://127.0.0.1:{port}/healthz >{run}/{name}.health'.format(
                                     run=run, name=name, py=sys.executable, port=ports[name], status=status[name]))
            self.assertEqual(rc, 0, err)
        pid_of = lambda n: int(read(os.path.join(run, n + ".pid")))
        pids = {n: pid_of(n) for n in ports}

        def cleanup():
            for n in ports:
                try:
                    os.kill(pid_of(n), signal.SIGKILL)
                except (OSError, ValueError):
                    pass
            for pid in pids.values():
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        self.addCleanup(cleanup)
        code = lambda n: bash('hilo_http_code http://127.0.0.1:%d/healthz 1' % ports[n])[1].strip()
        wait_until(lambda: code("frozen") == "200" and code("unhealthy") == "503", 10, "the fake services")

        log_path = os.path.join(run, "supervisor.log")
        e = dict(os.environ, **env)
        with open(log_path, "w") as log:
            sup = subprocess.Popen(["bash", "-c", '. "$1"; hilo_supervise "$2" 0.2 3', "bash", WAIT_SH, run],
                                   stdout=log, stderr=subprocess.STDOUT, env=e, start_new_session=True)
        self.addCleanup(lambda: (os.killpg(sup.pid, signal.SIGKILL), sup.wait()))

        os.kill(pids["frozen"], signal.SIGSTOP)  # a frozen loop: connections accepted, never answered

        def restarted():
            new = pid_of("frozen")
            return new != pids["frozen"] and code("frozen") == "200" and new
        new = wait_until(restarted, 20, lambda: "a restart of the frozen service:\n" + read(log_path))
        self.assertTrue(alive(new))
        wait_until(lambda: not alive(pids["frozen"]), 5, "the frozen process to be gone")
        text = read(log_path)
        self.assertIn("supervisor: restarting frozen (pid %d): no answer on http://127.0.0.1:%d/healthz 3 times in a row"
                      % (pids["frozen"], ports["frozen"]), text)
        self.assertIn("supervisor: frozen started again (pid %d)" % new, text)
        # Three checks in a row without an answer, each bounded: no restart before that.
        self.assertEqual(text.count("supervisor: frozen gave no answer"), 3, text)
        # 503 is an answer: logged once, never restarted.
        self.assertEqual(pid_of("unhealthy"), pids["unhealthy"])
        self.assertTrue(alive(pids["unhealthy"]))
        self.assertEqual(text.count("supervisor: unhealthy is up but unhealthy: http://127.0.0.1:%d/healthz answered 503"
                                    % ports["unhealthy"]), 1, text)
        self.assertNotIn("restarting unhealthy", text)

    def test_quickstart_uses_the_bounded_waits(self):
        with open(QUICKSTART, encoding="utf-8") as f:
            text = f.read()
        self.assertIn('. "$top/deploy/lib/wait.sh"', text)
        # No HTTP or Redis call of its own, which would have no time limit.
        code = "\n".join(l for l in text.splitlines() if not l.lstrip().startswith("#"))
        self.assertNotIn("curl ", code)
        self.assertNotIn("redis-cli -p", code)
        for service in ("redis", "router", "connector", "sandbox"):
            self.assertRegex(code, r"hilo_require_port [^\n]*%s" % service)
        p = subprocess.run(["bash", "-n", QUICKSTART], capture_output=True, text=True)
        self.assertEqual((p.returncode, p.stderr), (0, ""))


if __name__ == "__main__":
    unittest.main(verbosity=2)
