"""What every installed program answers before it starts anything (docs/operations.md,
"Checking a config"):

- `--version` prints "<program> <version>" (the project's version in CMakeLists.txt) and exits 0:
  hilo-router, hilo, hilo-whatsapp, hilo-sms, hilo-voice.
- `--check-config` on the connectors as on the router: the config and the connector's section
  are read and checked, what was checked is printed, exit 0; a bad value exits 2 with FILE:LINE;
  nothing is created (no dead-letter file) and nothing listens.
- A section of the shared config that no hilo program reads is refused, by the router, the
  connectors and the CLI alike, with FILE:LINE and a "did you mean [x]?" when a known name is
  close; a connector instance's own section ([sms-2]) is known.
The real binaries of the build; no Redis is needed (nothing gets that far).
"""

import os
import shutil
import subprocess
import tempfile
import unittest

import zmq

from hilo_harness import BUILD_DIR, CLI_BIN, ROUTER_BIN, SOURCE_DIR, _clean_env, write_secret
from hilo_install import CHANNELS, project_version

CONNECTOR_BIN = {c: os.path.join(BUILD_DIR, "connectors", c, "hilo-" + c) for c in CHANNELS}


def run(args, timeout=30):
    return subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout,
                          env=_clean_env())


class ProgramOptions(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="hilo-options-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        # deploy/hilo.conf with the files it names made here: keys, allowlist, and the
        # connectors' dead-letter files and spool in this directory.
        with open(os.path.join(SOURCE_DIR, "deploy", "hilo.conf"), encoding="utf-8") as f:
            text = f.read()
        deploy = os.path.join(SOURCE_DIR, "deploy")
        pub, sec = zmq.curve_keypair()
        keys = os.path.join(self.dir, "keys")
        os.makedirs(keys)
        write_secret(os.path.join(keys, "router.key"), sec.decode())
        allow = []
        for c in CHANNELS:
            cpub, csec = zmq.curve_keypair()
            write_secret(os.path.join(keys, c + ".key"), csec.decode())
            allow.append("%s %s %s\n" % (cpub.decode(), c, c))
        with open(os.path.join(self.dir, "link_keys"), "w") as f:
            f.writelines(allow)
        text = (text.replace("/etc/hilo/keys/", keys + "/")
                .replace("link_keys = /etc/hilo/link_keys", "link_keys = " + os.path.join(self.dir, "link_keys"))
                .replace("link_server_key =\n", "link_server_key = %s\n" % pub.decode())
                .replace("/var/lib/hilo/", self.dir + "/")
                .replace("flow = flows/", "flow = %s/flows/" % deploy)
                .replace("compliance_dir = compliance", "compliance_dir = %s/compliance" % deploy)
                .replace("assets_dir = ../router/console", "assets_dir = %s/router/console" % SOURCE_DIR))
        self.conf = os.path.join(self.dir, "hilo.conf")
        with open(self.conf, "w", encoding="utf-8") as f:
            f.write(text)

    def append(self, text):
        with open(self.conf, "a", encoding="utf-8") as f:
            f.write(text)

    def edit(self, old, new):
        with open(self.conf, encoding="utf-8") as f:
            text = f.read()
        self.assertIn(old, text)
        with open(self.conf, "w", encoding="utf-8") as f:
            f.write(text.replace(old, new, 1))

    def line_of(self, needle):
        with open(self.conf, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if line.rstrip("\n") == needle:
                    return n
        self.fail("%r not in %s" % (needle, self.conf))

    def programs(self):
        """(name, argv prefix to check the config) of every program."""
        out = [("hilo-router", [ROUTER_BIN, "-c", self.conf, "--check-config"])]
        out += [("hilo-" + c, [CONNECTOR_BIN[c], "-c", self.conf, "--check-config"]) for c in CHANNELS]
        # The CLI reads the config before any command: `conversations` would need Redis next.
        out.append(("hilo", [CLI_BIN, "-c", self.conf, "conversations"]))
        return out

    def test_every_program_prints_its_version(self):
        version = project_version()
        bins = {"hilo-router": ROUTER_BIN, "hilo": CLI_BIN}
        bins.update({"hilo-" + c: CONNECTOR_BIN[c] for c in CHANNELS})
        for name, path in bins.items():
            with self.subTest(program=name):
                p = run([path, "--version"])
                self.assertEqual((p.returncode, p.stdout, p.stderr), (0, "%s %s\n" % (name, version), ""))

    def test_connectors_check_the_config(self):
        for c in CHANNELS:
            with self.subTest(connector=c):
                p = run([CONNECTOR_BIN[c], "-c", self.conf, "--check-config"])
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertIn("hilo-%s: config %s [%s] is valid" % (c, self.conf, c), p.stdout)
                # What was checked is said: the link's keys and the provider's settings.
                self.assertIn("link", p.stdout)
        # Checked, not started: no dead-letter file, no spool.
        self.assertEqual(sorted(os.listdir(self.dir)), ["hilo.conf", "keys", "link_keys"])

    def test_a_connector_refuses_a_bad_value_with_file_and_line(self):
        self.edit("max_parts = 3", "max_parts = lots")
        p = run([CONNECTOR_BIN["sms"], "-c", self.conf, "--check-config"])
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.assertIn("%s:%d: [sms] max_parts: not an integer" % (self.conf, self.line_of("max_parts = lots")),
                      p.stderr)

    def test_a_connector_refuses_an_unknown_key(self):
        self.edit("max_parts = 3", "max_parts = 3\nmax_prats = 4")
        p = run([CONNECTOR_BIN["sms"], "-c", self.conf, "--check-config"])
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.assertIn("%s:%d: [sms] max_prats: unknown key" % (self.conf, self.line_of("max_prats = 4")), p.stderr)

    def test_the_example_config_passes_every_program(self):
        for name, argv in self.programs()[:-1]:
            with self.subTest(program=name):
                p = run(argv, timeout=60)
                self.assertEqual(p.returncode, 0, p.stderr)

    def test_an_unknown_section_is_refused_with_a_suggestion(self):
        self.append("\n[consol]\nsla_s = 30\n")
        where = "%s:%d: [consol]: unknown section (did you mean [console]?)" % (self.conf, self.line_of("[consol]"))
        for name, argv in self.programs():
            with self.subTest(program=name):
                p = run(argv, timeout=60)
                self.assertEqual(p.returncode, 2, "%s: %s%s" % (name, p.stdout, p.stderr))
                self.assertIn(where, p.stderr)

    def test_sla_targets_and_business_day_are_checked(self):
        """[sla] per-queue lines and [console] business_day_zone/_start: a bad one stops the router
        with file:line; good ones (every program reads the file) pass."""
        self.append("\n[sla]\nen.legal.first_response_s = 300\nen.legal.resolution_s = 7200\n")
        self.edit("business_day_zone = UTC\n", "business_day_zone = America/Bogota\n")
        for name, argv in self.programs()[:-1]:
            with self.subTest(program=name):
                p = run(argv, timeout=60)
                self.assertEqual(p.returncode, 0, "%s: %s" % (name, p.stderr))
        for old, new, where, why in (
                ("en.legal.first_response_s = 300", "en.legal.first_respons_s = 300", "[sla] en.legal.first_respons_s",
                 "a queue's line is <queue>.first_response_s"),
                ("en.legal.resolution_s = 7200", "en.legal.resolution_s = 0", "[sla] en.legal.resolution_s", ""),
                ("business_day_zone = America/Bogota", "business_day_zone = America/Bogot", "[console] business_day_zone",
                 "must be an IANA time zone"),
                ("business_day_start = 00:00", "business_day_start = 24:30", "[console] business_day_start",
                 "must be HH:MM")):
            with self.subTest(key=where):
                self.edit(old, new)
                p = run([ROUTER_BIN, "-c", self.conf, "--check-config"])
                self.assertEqual(p.returncode, 2, p.stdout)
                self.assertIn("%s:%d: %s" % (self.conf, self.line_of(new), where), p.stderr)
                self.assertIn(why, p.stderr)
                self.edit(new, old)

    def test_an_unknown_section_without_a_close_name(self):
        self.append("\n[payroll]\nx = 1\n")
        p = run([ROUTER_BIN, "-c", self.conf, "--check-config"])
        self.assertEqual(p.returncode, 2, p.stdout)
        self.assertIn("%s:%d: [payroll]: unknown section" % (self.conf, self.line_of("[payroll]")), p.stderr)
        self.assertNotIn("did you mean", p.stderr)

    def test_a_misspelt_instance_section_gets_its_channel(self):
        self.append("\n[smss-2]\ninstance = sms-2\n")
        p = run([ROUTER_BIN, "-c", self.conf, "--check-config"])
        self.assertEqual(p.returncode, 2, p.stdout)
        self.assertIn("[smss-2]: unknown section (did you mean [sms-2]?)", p.stderr)

    def test_a_second_connector_instance_has_its_own_section(self):
        # [sms-2] is a connector's section (hilo-sms -s sms-2): every program accepts it, and the
        # instance started on it checks it.
        with open(self.conf, encoding="utf-8") as f:
            sms = f.read().split("\n[sms]\n", 1)[1].split("\n[", 1)[0]
        self.append("\n[sms-2]\n" + sms.replace("instance = sms-1", "instance = sms-2") + "\n")
        for name, argv in self.programs()[:-1]:
            with self.subTest(program=name):
                p = run(argv, timeout=60)
                self.assertEqual(p.returncode, 0, p.stderr)
        p = run([CONNECTOR_BIN["sms"], "-c", self.conf, "-s", "sms-2", "--check-config"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("[sms-2] is valid", p.stdout)

    def test_a_connector_refuses_a_section_of_another_kind(self):
        # -s names the connector's own section: its channel, or the channel and a suffix.
        p = run([CONNECTOR_BIN["sms"], "-c", self.conf, "-s", "voice", "--check-config"])
        self.assertEqual(p.returncode, 2, p.stdout)
        self.assertIn("-s voice", p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
