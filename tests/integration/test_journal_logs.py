"""Log lines under systemd carry journald's priorities (proto/src/log.c, docs/operations.md "Logs").

systemd sets JOURNAL_STREAM="<device>:<inode>" of the stream it connects stderr to. The test plays
its part with a plain file: the process's stderr is the router's (or connector's) log file, and
JOURNAL_STREAM names that file's device and inode. Then every line starts with "<N>" (6 info,
4 warn, 3 error) and has no ts=. Naming another inode (a stream the process inherited and no
longer writes to) leaves the lines as on a terminal: ts= first, no priority.
"""

import os
import re
import sys
import unittest

from hilo_harness import SOURCE_DIR, HiloTestCase, free_port, write_conf

sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "e2e"))
from connectors_stack import ConnectorProc, connector_bin, connector_conf  # noqa: E402

os.environ.pop("JOURNAL_STREAM", None)  # a test run under a unit must not pass on its own


def stream_of(path):
    """The JOURNAL_STREAM value for the file at path (created when missing)."""
    open(path, "ab").close()
    st = os.stat(path)
    return "%d:%d" % (st.st_dev, st.st_ino)


def log_lines(text):
    """The lines the process wrote (not the harness's own start markers)."""
    return [l for l in text.splitlines() if " mod=" in l]


class TestRouterJournal(HiloTestCase):
    def start_router(self, journal_stream):
        # link_auth "none": the start then writes a warn line (event=link_auth mode=none).
        rt = self.router(self.redis(), start=False, link_auth="none")
        rt.env["JOURNAL_STREAM"] = journal_stream(rt.log_path)
        rt.start()
        rt.stop()
        lines = log_lines(rt.log())
        self.assertTrue(lines, rt.log())
        return lines

    def test_journal_stream_gets_priorities(self):
        lines = self.start_router(stream_of)
        for line in lines:
            m = re.match(r"<(\d)>level=(\w+) mod=", line)
            self.assertIsNotNone(m, "no priority prefix: %r" % line)
            self.assertEqual(m.group(1), {"debug": "7", "info": "6", "warn": "4", "error": "3"}[m.group(2)], line)
            self.assertNotRegex(line, r"(^|[> ])ts=")
        self.assertTrue(any(l.startswith("<6>level=info mod=") for l in lines), lines)
        self.assertTrue(any(l.startswith("<4>level=warn mod=link event=link_auth mode=none") for l in lines), lines)

    def test_other_stream_leaves_lines_alone(self):
        other = os.path.join(self.workdir, "elsewhere")
        lines = self.start_router(lambda path: (stream_of(path), stream_of(other))[1])
        self.assertTrue(any(" level=warn mod=link event=link_auth mode=none" in l for l in lines), lines)
        for line in lines:
            self.assertRegex(line, r"^ts=\d{4}-\d\d-\d\dT[0-9:.]+Z level=\w+ mod=")

    def test_malformed_value_leaves_lines_alone(self):
        lines = self.start_router(lambda path: stream_of(path) + "x")
        self.assertTrue(all(l.startswith("ts=") for l in lines), lines)


class TestConnectorJournal(HiloTestCase):
    CHANNEL = "sms"

    def test_connector_shares_the_module(self):
        if not os.access(connector_bin(self.CHANNEL), os.X_OK):
            self.skipTest("hilo-%s is not built" % self.CHANNEL)
        redis = self.redis()
        router = self.router(redis)
        port = free_port()
        conf_path = os.path.join(self.workdir, "connectors.conf")
        write_conf(conf_path, connector_conf(router, {self.CHANNEL: port}, self.workdir))
        c = ConnectorProc(self.CHANNEL, self.workdir, conf_path, port)
        c.env["JOURNAL_STREAM"] = stream_of(c.log_path)
        self._logs.append(("hilo-" + self.CHANNEL, c.log_path))
        self.addCleanup(c.stop_and_check)
        c.start(wait=True)
        c.stop()
        lines = log_lines(c.log())
        self.assertTrue(lines, c.log())
        self.assertTrue(all(re.match(r"<[3467]>level=\w+ mod=", l) for l in lines), lines)
        self.assertTrue(any(l.startswith("<6>level=info ") for l in lines), lines)


if __name__ == "__main__":
    unittest.main(verbosity=2)
