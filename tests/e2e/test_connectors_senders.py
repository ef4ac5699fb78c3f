"""The SMS connector announces the numbers it sends from (protocol 1.3, docs/protocol.md §4.1).

A real router (engine on), the real hilo-sms connector with `senders` = our sandbox number and
one more, the Twilio sandbox, and a reference connector of the same channel that announces a
third number. A debtor texts our number: the bot's reply goes out through hilo-sms (the Twilio
call's From is the number the debtor wrote to), never through the other connector, however
often the round robin would have picked it. A malformed `senders` stops the connector with
status 2 and FILE:LINE.
"""

import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from connectors_stack import ConnectorStackCase, connector_bin  # noqa: E402
from hilo_harness import wait_until, write_conf  # noqa: E402

TIMEOUT = 20
OURS = "+15005550006"   # [sms] from in deploy/hilo.conf: the sandbox's number for us


class ConnectorSenders(ConnectorStackCase):
    def test_replies_go_through_the_connector_of_the_number(self):
        self.start_stack(engine=True, channels=("sms",),
                         connector_overrides={"sms": {"senders": OURS + ", +15005550007"}})
        self.assertTrue(wait_until(lambda: self.router_.log_lines("link", "senders=2"), TIMEOUT,
                                   "hilo-sms to announce its two numbers"))
        other = self.connector(self.router_, "sms", instance="sms-other", senders=["+15005550099"])
        for i in range(4):
            phone = "+1650555%04d" % (1300 + i)
            self.seed("D13%02d" % i, phone, language="en")
            self.assertEqual(self.sandbox.send("sms", phone, "hello")["status"], 200)

        def sent():
            calls = [c for c in self.sandbox.calls("twilio") if c["response"]["status"] == 201
                     and "/Messages.json" in c["path"]]
            return calls if len({c["body"]["To"] for c in calls}) >= 4 else None
        calls = wait_until(sent, TIMEOUT, "a reply to each of the four debtors")
        self.assertEqual({c["body"]["From"] for c in calls}, {OURS})
        time.sleep(0.5)
        self.assertEqual(other.outbounds, [], "a reply from our number went to a connector that does not serve it")
        self.assertEqual(self.r.hget("hilo:{d:D1300}:conv", "via:sms"), OURS)

    def test_malformed_senders_exit_two_with_file_and_line(self):
        self.start_stack(engine=False, channels=())
        path = os.path.join(self.workdir, "bad.conf")
        env = {k: v for k, v in os.environ.items() if not k.startswith("HILO_")}
        for bad in ("+1" + "5" * 70, "a\x01b"):
            write_conf(path, dict(self.conf, sms=dict(self.conf["sms"], senders=bad)))
            p = subprocess.run([connector_bin("sms"), "-c", path], env=env, capture_output=True, text=True,
                               timeout=20)
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertRegex(p.stderr, r"bad\.conf:\d+: \[sms\] senders: ")


if __name__ == "__main__":
    unittest.main(verbosity=2)
