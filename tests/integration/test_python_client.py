"""hilo_link, the Python link client for gateway teams (clients/python/, docs/protocol.md "Client
libraries"), against a real redis-server and a real router that authenticates connectors
(link_auth = curve with the harness's keys):

- the package as the build stages it (<build>/clients/python): a Link with a key file opens a
  session, publishes an inbound (acked, filed under the debtor, in `hilo thread --json` once; the
  same provider id again is acked as a duplicate), gets the Outbound of `hilo send` once even
  when the router hands it over again after its lease, reports it SENT then DELIVERED, and the
  router records both (ostat, `hilo thread`);
- with supports_at_most_once, a strategy step comes at_most_once; its CALLING (attempt 1) is
  acked and recorded before the SENT settles it;
- an envelope published while the router is down (kill -9) is acked after its restart;
- refusals say why: a Hello for a channel the key is not listed for (FORBIDDEN), a key the router
  does not list (CURVE handshake refused), a secret key file others may read, a provider id
  that is empty or too long;
- the example connector (clients/python/examples/stdin_connector.py) as a process: a line on its
  input is acked, an outbound is printed and reported delivered;
- the distribution installs offline: `python3 -m venv --system-site-packages`, then
  `pip install --no-build-isolation --no-index` of a copy of clients/python and proto/, and the
  installed package imports (its generated module included) with hilo's version.
"""

import json
import os
import shutil
import subprocess
import sys
import time
import unittest

import zmq

from hilo_harness import (BUILD_DIR, SOURCE_DIR, TEST_CLOCK_KEY, TEST_CLOCK_OVERRIDES, HiloTestCase, _clean_env,
                          cli_path, commit_strategy_step, debtor_key, history, run_cli, seed_debtor,
                          use_workday_clock, wait_until)
from hilo_install import project_version

STAGE = os.path.join(BUILD_DIR, "clients", "python")
sys.path.insert(0, STAGE)
import hilo_link  # noqa: E402  (the staged package: sources + the generated hilo_link_pb2)

EXAMPLE = os.path.join(SOURCE_DIR, "clients", "python", "examples", "stdin_connector.py")
DEBTOR = "D-9101"
PHONE = "+16505550191"
LEASE_MS = 1500


class PythonClient(HiloTestCase):
    def setUp(self):
        if cli_path() is None:
            self.skipTest("the hilo CLI ($HILO_BUILD_DIR/router/cli/hilo) is not built")
        if not zmq.has("curve"):
            self.skipTest("pyzmq/libzmq without CURVE")
        super().setUp()

    def start(self, lease_ms=60000):
        self.redis_ = self.redis()
        self.r = self.redis_.client()
        seed_debtor(self.r, DEBTOR, [PHONE], full_name="Ana Python")
        use_workday_clock(self.r)  # the gate at hand-off: within contact hours whatever the real time
        self.rt = self.router(self.redis_, overrides={**TEST_CLOCK_OVERRIDES, "router": {
            "outbound_poll_ms": 50, "outbound_lease_ms": lease_ms}})
        return self.rt

    def link(self, channel="sms", key="sms-test", **kw):
        kw.setdefault("server_key", self.rt.keys.router_public)
        kw.setdefault("secret_key_file", self.rt.keys.secret_file(key))
        link = hilo_link.Link(self.rt.link, channel, "py-%s" % key, **kw).start()
        self.addCleanup(link.close)
        return link

    def ostat(self, oid):
        raw = self.r.hget(debtor_key(DEBTOR, "ostat"), oid)
        return json.loads(raw) if raw else {}

    def test_inbound_acked_outbound_received_once_and_reported(self):
        rt = self.start(lease_ms=LEASE_MS)
        link = self.link()
        self.assertTrue(link.wait_session(15), "no Welcome: %s" % link.error)
        self.assertGreater(link.welcome.max_payload, 0)

        res = link.publish("PYSM-1", PHONE, "hola desde python", to="+15550001000").wait(10)
        self.assertIsNotNone(res, "no answer to the inbound")
        self.assertEqual((res.acked, res.duplicate, res.debtor_id), (True, False, DEBTOR), res)
        again = link.publish("PYSM-1", PHONE, "hola desde python").wait(10)
        self.assertEqual((again.acked, again.duplicate), (True, True), again)
        thread = [json.loads(line) for line in run_cli(rt.conf_path, "thread", "--json", DEBTOR).stdout.splitlines()]
        self.assertEqual([(i["dir"], i["pmid"], i["text"]) for i in thread], [("in", "PYSM-1", "hola desde python")])

        run_cli(rt.conf_path, "send", DEBTOR, "sms", "Hola Ana, desde el router")
        o = link.next_outbound(15)
        self.assertIsNotNone(o, "no Outbound reached the client")
        self.assertEqual((o.to, o.debtor_id, o.text, o.attempt), (PHONE, DEBTOR, "Hola Ana, desde el router", 1))
        # Unreported, the router hands it over again after the lease (on the test clock, which
        # the dispatcher follows: moved past it here): the client does not.
        self.r.set(TEST_CLOCK_KEY, str(int(self.r.get(TEST_CLOCK_KEY)) + LEASE_MS + 1000))
        wait_until(lambda: link.stats["outbound_frames"] >= 2, LEASE_MS / 1000.0 * 4 + 10,
                   "the router to hand the unreported outbound over again")
        self.assertIsNone(link.next_outbound(0.5), "the same outbound was given to the connector twice")

        sent = link.report(o, "sent", provider_message_id="PYPROV-1").wait(10)
        self.assertTrue(sent is not None and sent.acked, sent)
        wait_until(lambda: not self.r.hexists(debtor_key(DEBTOR, "out"), o.outbound_id), 5,
                   "the SENT report to settle the outbound")
        self.assertEqual(self.ostat(o.outbound_id).get("state"), "sent")
        delivered = link.report(o.outbound_id, "delivered", provider_message_id="PYPROV-1").wait(10)
        self.assertTrue(delivered is not None and delivered.acked, delivered)
        wait_until(lambda: self.ostat(o.outbound_id).get("state") == "delivered", 5,
                   lambda: "ostat delivered (have %r)" % self.ostat(o.outbound_id))
        text = run_cli(rt.conf_path, "thread", DEBTOR).stdout
        self.assertRegex(text, r"Hola Ana, desde el router.*delivered|delivered.*Hola Ana, desde el router")
        self.assertGreaterEqual(rt.metrics().value("hilo_delivery_reports_total", channel="sms", state="delivered"), 1)

    def test_at_most_once_calling_before_the_provider_call(self):
        self.start()
        link = self.link(supports_at_most_once=True)
        self.assertTrue(link.wait_session(15), link.error)
        commit_strategy_step(self.r, DEBTOR, PHONE, "o-py-step-1", "Recordatorio de pago")
        o = link.next_outbound(15)
        self.assertIsNotNone(o, "no Outbound for the strategy step")
        self.assertEqual((o.outbound_id, o.at_most_once, o.attempt), ("o-py-step-1", True, 1),
                         "the Hello did not say supports_at_most_once")
        calling = link.report(o, "calling").wait(10)
        self.assertTrue(calling is not None and calling.acked, calling)
        raw = self.r.hget(debtor_key(DEBTOR, "odisp"), o.outbound_id)
        self.assertEqual(json.loads(raw).get("calling"), 1, raw)
        sent = link.report(o, "sent", provider_message_id="PYSTEP-1").wait(10)
        self.assertTrue(sent is not None and sent.acked, sent)
        wait_until(lambda: self.ostat(o.outbound_id).get("state") == "sent", 5,
                   lambda: "ostat sent (have %r)" % self.ostat(o.outbound_id))

    def test_envelope_published_while_the_router_is_down_is_acked_after_restart(self):
        rt = self.start()
        link = self.link(ack_timeout=2.0)
        self.assertTrue(link.wait_session(15), link.error)
        rt.kill9()
        ticket = link.publish("PYSM-DOWN", PHONE, "mientras tanto")
        self.assertIsNone(ticket.wait(1.0), "answered by a dead router?")
        rt.restart()
        res = ticket.wait(30)
        self.assertTrue(res is not None and res.acked, "not acked after the restart: %r %s" % (res, link.stats))
        self.assertEqual([i["pmid"] for _, i in history(self.r, DEBTOR)], ["PYSM-DOWN"])
        self.assertEqual(link.pending(), 0)

    def test_refusals_say_why(self):
        rt = self.start()
        rt_keys = rt.keys
        rt_keys.add("stranger-py", ["sms"], listed=False)
        # A Hello for voice with a key listed for sms only: FORBIDDEN, said in link.error.
        voice = self.link(channel="voice", key="sms-test")
        self.assertFalse(voice.wait_session(3))
        wait_until(lambda: voice.error, 5, "the refusal of the Hello")
        self.assertIn("FORBIDDEN", voice.error)
        # A key the router does not list: the CURVE handshake is refused.
        stranger = self.link(key="stranger-py")
        wait_until(lambda: stranger.error, 10, "the handshake failure to be reported")
        self.assertIn("refused our CURVE key", stranger.error)
        self.assertFalse(stranger.session_open)
        # A secret key file others may read is refused, with the fix.
        path = rt_keys.secret_file("sms-test")
        os.chmod(path, 0o644)
        with self.assertRaises(hilo_link.LinkKeyError) as cm:
            hilo_link.Link(rt.link, "sms", "py-x", server_key=rt_keys.router_public, secret_key_file=path)
        self.assertIn("chmod 600", str(cm.exception))
        with self.assertRaises(hilo_link.LinkKeyError):
            hilo_link.Link(rt.link, "sms", "py-x", server_key="short", secret_key=rt_keys.keys["sms-test"][1])
        # Envelopes no router would take are refused before they are kept.
        link = self.link(secret_key=rt_keys.keys["sms-test"][1], secret_key_file=None)
        for bad in ("", "x" * 257):
            with self.assertRaises(ValueError):
                link.publish(bad, PHONE, "hola")
        self.assertEqual(link.pending(), 0)
        with self.assertRaises(ValueError):
            hilo_link.Link(rt.link, "fax", "py-x")

    def test_the_example_connector(self):
        rt = self.start()
        log = open(os.path.join(self.workdir, "example.err"), "w")
        self.addCleanup(log.close)
        self._logs.append(("stdin_connector stderr", log.name))
        env = dict(_clean_env(), PYTHONPATH=STAGE)
        p = subprocess.Popen([sys.executable, EXAMPLE, "--endpoint", rt.link, "--channel", "sms",
                              "--instance", "stdin-test", "--server-key", rt.keys.router_public,
                              "--secret-key-file", rt.keys.secret_file("sms-test")],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True, env=env)
        self.addCleanup(p.stdout.close)
        self.addCleanup(lambda: p.poll() is None and p.kill())
        lines = []

        def read_until(prefix):
            while True:
                line = p.stdout.readline()
                self.assertTrue(line, "the example ended before %r; it said %r" % (prefix, lines))
                lines.append(line.rstrip("\n"))
                if line.startswith(prefix):
                    return line.rstrip("\n")

        read_until("session open")
        p.stdin.write("EX-1 %s quiero pagar\n" % PHONE)
        p.stdin.flush()
        self.assertEqual(read_until("acked"), "acked EX-1 debtor=%s" % DEBTOR)
        run_cli(rt.conf_path, "send", DEBTOR, "sms", "Gracias Ana")
        line = read_until("outbound")
        oid = line.split()[1]
        self.assertEqual(line, "outbound %s to=%s text=Gracias Ana" % (oid, PHONE))
        wait_until(lambda: self.ostat(oid).get("state") == "delivered", 10,
                   lambda: "the example's DELIVERED report (ostat %r)" % self.ostat(oid))
        p.stdin.close()
        self.assertEqual(p.wait(30), 0, lines)
        self.assertEqual([i["pmid"] for _, i in history(self.r, DEBTOR) if i["dir"] == "in"], ["EX-1"])

    def test_installs_offline_in_a_venv(self):
        src = os.path.join(self.workdir, "src")
        shutil.copytree(os.path.join(SOURCE_DIR, "clients", "python"), os.path.join(src, "clients", "python"),
                        ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
        os.makedirs(os.path.join(src, "proto"))
        shutil.copy(os.path.join(SOURCE_DIR, "proto", "hilo_link.proto"), os.path.join(src, "proto"))
        venv = os.path.join(self.workdir, "venv")
        env = dict(_clean_env(), PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
        subprocess.run(["/usr/bin/python3", "-m", "venv", "--system-site-packages", venv], check=True, timeout=120,
                       env=env)
        p = subprocess.run([os.path.join(venv, "bin", "pip"), "install", "--no-build-isolation", "--no-index",
                            os.path.join(src, "clients", "python")], capture_output=True, text=True, timeout=300,
                           env=env, cwd=self.workdir)
        self.assertEqual(p.returncode, 0, p.stdout[-3000:] + p.stderr[-3000:])
        p = subprocess.run([os.path.join(venv, "bin", "python"), "-c",
                            "import hilo_link, hilo_link.hilo_link_pb2 as pb; "
                            "print(hilo_link.__file__); print(hilo_link.__version__); "
                            "print(pb.Frame(major=1).SerializeToString().hex())"],
                           capture_output=True, text=True, timeout=60, env=env, cwd=self.workdir)
        self.assertEqual(p.returncode, 0, p.stderr)
        where, version, frame = p.stdout.split()
        self.assertTrue(where.startswith(os.path.join(venv, "lib")), where)
        self.assertEqual((version, frame), (project_version(), "0801"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
