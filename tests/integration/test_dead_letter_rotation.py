"""The dead-letter files are rotated by Debian's logrotate with the rules hilo ships
(deploy/logrotate/hilo, installed as /etc/logrotate.d/hilo; docs/operations.md, "Rotating the
dead-letter files").

- The shipped file, as is, is accepted by `logrotate -d`, and its patterns cover every
  dead_letter_file of the example config (the installed defaults in /var/lib/hilo).
- With a real hilo-sms connector linked to a real router: webhooks the router refuses for good
  (a sender that is no phone number: Nack INVALID) are kept in the dead-letter file. The shipped
  rules, with only /var/lib/hilo/ replaced by this test's directory, are run by `logrotate -f`
  while the connector runs. The old records are in the rotated file, the connector's next
  record is in a fresh file of mode 0600 and its own owner, the second rotation compresses the
  first one's file (0600 still), and every record is in exactly one file: nothing lost, nothing
  twice, nothing answered 500. A rotation with no live file (nothing refused since) is no error.
Skipped when logrotate is not installed (deploy/install-deps.sh installs it with the test tools).
"""

import fnmatch
import glob
import gzip
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import unittest
import urllib.parse

from hilo_harness import SOURCE_DIR, HiloTestCase, free_port, read_conf, write_conf

sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "e2e"))
from connectors_stack import ConnectorProc, connector_bin, connector_conf, http, twilio_signature  # noqa: E402

SHIPPED = os.path.join(SOURCE_DIR, "deploy", "logrotate", "hilo")
INSTALLED_DIR = "/var/lib/hilo/"
LOGROTATE = shutil.which("logrotate") or ("/usr/sbin/logrotate" if os.access("/usr/sbin/logrotate", os.X_OK)
                                          else None)


def shipped_rules():
    if not os.path.isfile(SHIPPED):
        raise AssertionError("%s is missing: hilo ships no rotation for its dead-letter files" % SHIPPED)
    with open(SHIPPED, encoding="utf-8") as f:
        return f.read()


def patterns(text):
    """The file patterns of a logrotate config: what stands before each `{`."""
    return [p for m in re.finditer(r"^([^#\n{]+)\{", text, re.M) for p in m.group(1).split()]


def records(path):
    """The provider message ids of the records in a dead-letter file (gzip or plain)."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [json.loads(line)["provider_message_id"] for line in f]


@unittest.skipUnless(LOGROTATE, "logrotate is not installed (Debian package logrotate; "
                                "deploy/install-deps.sh with HILO_WITH_TEST_TOOLS=1)")
class DeadLetterRotation(HiloTestCase):
    def logrotate(self, *args):
        p = subprocess.run([LOGROTATE, *args], capture_output=True, text=True, timeout=60)
        return p.returncode, p.stdout + p.stderr

    def test_the_shipped_rules_are_accepted_as_they_are(self):
        text = shipped_rules()
        state = os.path.join(self.workdir, "logrotate.state")
        rc, out = self.logrotate("-d", "-s", state, SHIPPED)
        self.assertEqual(rc, 0, out)
        self.assertNotIn("error:", out)
        self.assertIn("rotating pattern: %s*.dead-letters.jsonl" % INSTALLED_DIR, out)
        # Every dead-letter file the example config names (the installed defaults) is covered.
        conf = read_conf(os.path.join(SOURCE_DIR, "deploy", "hilo.conf"))
        files = [sec["dead_letter_file"] for sec in conf.values() if sec.get("dead_letter_file")]
        self.assertEqual(len(files), 3, files)
        for path in files:
            self.assertTrue(any(fnmatch.fnmatchcase(path, p) for p in patterns(text)), (path, patterns(text)))
        for word in ("compress", "delaycompress", "missingok", "notifempty", "nocreate"):
            self.assertRegex(text, r"\n\s*%s\n" % word)

    def test_rotation_under_a_running_connector_loses_nothing(self):
        text = shipped_rules()
        if not os.access(connector_bin("sms"), os.X_OK):
            self.skipTest("hilo-sms is not built")
        state_dir = os.path.join(self.workdir, "state")  # plays /var/lib/hilo (StateDirectoryMode=0700)
        os.mkdir(state_dir, 0o700)
        live = os.path.join(state_dir, "sms-1.dead-letters.jsonl")
        rules = os.path.join(self.workdir, "logrotate.conf")
        self.assertIn(INSTALLED_DIR, text)
        with open(rules, "w", encoding="utf-8") as f:
            f.write(text.replace(INSTALLED_DIR, state_dir + "/"))
        state = os.path.join(self.workdir, "logrotate.state")

        router = self.router(self.redis())
        port = free_port()
        conf_path = os.path.join(self.workdir, "connectors.conf")
        conf = connector_conf(router, {"sms": port}, self.workdir, overrides={"sms": {"dead_letter_file": live}})
        write_conf(conf_path, conf)
        sms = ConnectorProc("sms", self.workdir, conf_path, port)
        self._logs.append(("hilo-sms", sms.log_path))
        self.addCleanup(sms.stop_and_check)
        sms.start(wait=True)
        token, url = conf["sms"]["auth_token"], conf["sms"]["public_url"] + "/webhooks/twilio/sms"

        def refused(sid):
            # "anonymous" is no phone number: the router refuses it for good, the connector keeps
            # it in its dead-letter file, then answers 200.
            params = [("MessageSid", sid), ("SmsSid", sid), ("AccountSid", conf["sms"]["account_sid"]),
                      ("From", "anonymous"), ("To", conf["sms"]["from"]), ("Body", "hola"), ("NumMedia", "0")]
            body = urllib.parse.urlencode(params)
            status, _, resp, _ = http("POST", url, body, {"Content-Type": "application/x-www-form-urlencoded",
                                                           "X-Twilio-Signature": twilio_signature(token, url, params)})
            self.assertEqual(status, 200, resp)

        def rotate():
            rc, out = self.logrotate("-f", "-s", state, rules)
            self.assertEqual(rc, 0, out)
            self.assertNotIn("error:", out)

        refused("SMrot1")
        refused("SMrot2")
        self.assertEqual(records(live), ["SMrot1", "SMrot2"])
        rotate()
        # The old records are in the rotated file, uncompressed for now (delaycompress); no new
        # file until the connector has something to keep (nocreate).
        self.assertEqual(records(live + ".1"), ["SMrot1", "SMrot2"])
        self.assertFalse(os.path.exists(live), "logrotate made the live file (nocreate expected)")
        refused("SMrot3")
        st = os.stat(live)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600, "the fresh file's mode")
        self.assertEqual((st.st_uid, st.st_gid), (os.getuid(), os.getgid()), "the fresh file's owner")
        self.assertEqual(records(live), ["SMrot3"])
        self.assertEqual(records(live + ".1"), ["SMrot1", "SMrot2"], "the rotated file was written again")

        rotate()
        self.assertEqual(records(live + ".1"), ["SMrot3"])
        self.assertEqual(records(live + ".2.gz"), ["SMrot1", "SMrot2"])
        for path in (live + ".1", live + ".2.gz"):
            self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600, path)
        rotate()  # no live file: missingok, nothing changes
        self.assertEqual(sorted(os.listdir(state_dir)), ["sms-1.dead-letters.jsonl.1", "sms-1.dead-letters.jsonl.2.gz"])
        refused("SMrot4")

        kept = []
        for path in sorted(glob.glob(live + "*")):
            kept += records(path)
        self.assertEqual(sorted(kept), ["SMrot1", "SMrot2", "SMrot3", "SMrot4"], "each record once")
        m = sms.metrics()
        self.assertEqual(m.value("hilo_connector_dead_letters_total"), 4)
        self.assertEqual(m.value("hilo_connector_dead_letter_failures_total"), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
