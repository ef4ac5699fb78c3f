"""Starting and stopping the real connectors next to a real router.

- SIGTERM stops a connector that has a live router session (and sent traffic) with status 0,
  within stop_grace_ms and a little: no hang in the ZeroMQ or libwebsockets teardown.
- SIGTERM while a webhook waits for a frozen router: that webhook is answered 503 (the provider
  retries), the voice one gets fallback TwiML, and the connector still exits 0 in time.
- A connector whose webhook port is taken exits 1 at once with a clear log line, instead of
  running without a listener.
- A bad config value stops a connector with status 2 and file:line."""

import os
import socket
import subprocess
import sys
import threading
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from connectors_stack import (CHANNELS, ConnectorStackCase, connector_bin, http,  # noqa: E402
                              parse_twiml, twilio_signature)
from hilo_harness import write_conf  # noqa: E402

PHONE = "+16505551234"


class ConnectorLifecycle(ConnectorStackCase):

    def test_sigterm_with_live_session_exits_zero_quickly(self):
        self.start_stack(engine=False)
        self.seed("D1", PHONE)
        self.assertEqual(self.sandbox.send("whatsapp", PHONE, "hola")["status"], 200)
        self.assertEqual(self.sandbox.send("sms", PHONE, "hola")["status"], 200)
        for ch in CHANNELS:
            c = self.conns[ch]
            self.assertEqual(c.healthz(), 200)
            status, took = c.stop()
            self.assertEqual(status, 0, "hilo-%s exit status %s" % (ch, status))
            self.assertLess(took, 1.0 + 3.0, "hilo-%s took %.1fs to stop (stop_grace_ms 1000)" % (ch, took))
            log = c.log()
            self.assertIn("event=stopped", log)

    def test_sigterm_answers_waiting_webhooks(self):
        self.start_stack(engine=False, channels=("sms", "voice"),
                         connector_overrides={"sms": {"webhook_deadline_ms": 30000},
                                              "voice": {"voice_reply_deadline_ms": 12000,
                                                        "webhook_deadline_ms": 30000}})
        self.seed("D2", PHONE)
        self.router_.freeze()
        self.addCleanup(self.router_.thaw)
        results = {}

        def sms():
            results["sms"] = self.sandbox.send("sms", PHONE, "hola")

        def voice():
            url = self.conf["voice"]["public_url"] + "/webhooks/twilio/voice"
            params = [("CallSid", "CAlifecycle00000000000000000000001"), ("From", PHONE),
                      ("To", "+15005550006"), ("CallStatus", "ringing"),
                      ("AccountSid", self.conf["voice"]["account_sid"])]
            sig = twilio_signature(self.conf["voice"]["auth_token"], url, params)
            results["voice"] = http("POST", self.conns["voice"].url("/webhooks/twilio/voice"),
                                    urllib.parse.urlencode(params).encode(),
                                    {"Content-Type": "application/x-www-form-urlencoded",
                                     "X-Twilio-Signature": sig})
        threads = [threading.Thread(target=sms), threading.Thread(target=voice)]
        for t in threads:
            t.start()
        time.sleep(1.0)  # both webhooks are waiting for the frozen router
        for ch in ("sms", "voice"):
            status, took = self.conns[ch].stop()
            self.assertEqual(status, 0, "hilo-%s exit status %s" % (ch, status))
            self.assertLess(took, 1.0 + 3.0, "hilo-%s took %.1fs" % (ch, took))
        for t in threads:
            t.join(20)
        self.assertEqual(results["sms"]["status"], 503, results["sms"])
        status, _, body, _ = results["voice"]
        self.assertEqual(status, 200, body)
        root, verbs = parse_twiml(body.decode())
        self.assertIn(verbs[-1][0], ("Enqueue", "Hangup"), body)

    def test_port_in_use_exits_one_with_a_clear_line(self):
        self.start_stack(engine=False, channels=())
        for ch in CHANNELS:
            with socket.socket() as s:
                s.bind(("127.0.0.1", self.ports[ch]))
                s.listen(1)
                env = {k: v for k, v in os.environ.items() if not k.startswith("HILO_")}
                t0 = time.monotonic()
                p = subprocess.run([connector_bin(ch), "-c", self.conf_path], env=env, capture_output=True,
                                   text=True, timeout=20)
                took = time.monotonic() - t0
            self.assertEqual(p.returncode, 1, "hilo-%s: %s\n%s" % (ch, p.returncode, p.stderr))
            self.assertLess(took, 5.0)
            self.assertIn("cannot listen on 127.0.0.1:%d" % self.ports[ch], p.stderr)
            self.assertIn("event=start_failed", p.stderr)

    def test_bad_config_exits_two_with_file_and_line(self):
        self.start_stack(engine=False, channels=())
        conf = dict(self.conf)
        conf["sms"] = dict(conf["sms"], max_parts="lots")
        path = os.path.join(self.workdir, "bad.conf")
        write_conf(path, conf)
        env = {k: v for k, v in os.environ.items() if not k.startswith("HILO_")}
        p = subprocess.run([connector_bin("sms"), "-c", path], env=env, capture_output=True, text=True, timeout=20)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertRegex(p.stderr, r"bad\.conf:\d+: \[sms\] max_parts")
        conf["sms"] = dict(self.conf["sms"], no_such_key="1")
        write_conf(path, conf)
        p = subprocess.run([connector_bin("sms"), "-c", path], env=env, capture_output=True, text=True, timeout=20)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertRegex(p.stderr, r"bad\.conf:\d+: \[sms\] no_such_key: unknown key")


if __name__ == "__main__":
    unittest.main(verbosity=2)
