"""A bad configuration stops the router before it starts, with the file, the line and the
reason, and exit status 2 — the config file itself and the files it names for the engine (the
bot flow and the compliance rule packs). `--check-config` says the same without starting.

The last test feeds hundreds of seeded random corruptions of deploy/'s files through
`--check-config`: each must be accepted (0) or refused (2) with a message naming a file, never
crash (in the ASan+UBSan build: never a sanitizer report). HILO_FUZZ_SEED and HILO_FUZZ_CONFIGS
run other seeds or longer.
"""

import os
import random
import shutil
import subprocess
import tempfile
import unittest

from hilo_fuzz import damage_lines
import zmq

from hilo_harness import ROUTER_BIN, SOURCE_DIR, _clean_env, sanitizer_reports, write_secret

SEED = int(os.environ.get("HILO_FUZZ_SEED", "20261123"))
CONFIGS = int(os.environ.get("HILO_FUZZ_CONFIGS", "200"))    # per kind of file
DEPLOY = os.path.join(SOURCE_DIR, "deploy")


class RouterConfig(unittest.TestCase):
    def setUp(self):
        # A copy of deploy/'s config with the files it names (relative to its directory).
        self.dir = tempfile.mkdtemp(prefix="hilo-router-config-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        shutil.copy(os.path.join(DEPLOY, "hilo.conf"), self.dir)
        shutil.copytree(os.path.join(DEPLOY, "flows"), os.path.join(self.dir, "flows"))
        shutil.copytree(os.path.join(DEPLOY, "compliance"), os.path.join(self.dir, "compliance"))
        self.conf = os.path.join(self.dir, "hilo.conf")
        self.flow = os.path.join(self.dir, "flows", "collections.flow")
        self.pack = os.path.join(self.dir, "compliance", "mx.pack")
        # The link keys the example names (/etc/hilo/...), made here as the quickstart does.
        self.router_key = os.path.join(self.dir, "router.key")
        self.link_keys = os.path.join(self.dir, "link_keys")
        pub, sec = zmq.curve_keypair()
        write_secret(self.router_key, sec.decode())
        cpub, _ = zmq.curve_keypair()
        with open(self.link_keys, "w") as f:
            f.write("# connectors allowed on the link\n%s sms,voice sms\n" % cpub.decode())
        self.edit(self.conf, "link_secret_key_file = /etc/hilo/keys/router.key",
                  "link_secret_key_file = " + self.router_key)
        self.edit(self.conf, "link_keys = /etc/hilo/link_keys", "link_keys = " + self.link_keys)

    def router(self, *args, timeout=30):
        p = subprocess.run([ROUTER_BIN, "-c", self.conf] + list(args), stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=timeout, env=_clean_env())
        # Decoded by hand: a corrupted file's bytes may be echoed, and a CR must stay a CR.
        p.stdout, p.stderr = (x.decode("utf-8", "replace") for x in (p.stdout, p.stderr))
        self.assertEqual(sanitizer_reports(p.stderr), [], "sanitizer report:\n" + p.stderr[-3000:])
        return p

    def edit(self, path, old, new):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        self.assertIn(old, text)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text.replace(old, new, 1))

    def line_of(self, path, needle):
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if needle in line:
                    return n
        self.fail("%s not in %s" % (needle, path))

    def assert_refused(self, where, reason):
        """Both --check-config and a real start exit 2 with `where: reason` on stderr."""
        for args in (["--check-config"], []):
            p = self.router(*args)
            self.assertEqual(p.returncode, 2, "%s: %s" % (args, p.stderr))
            self.assertIn("%s: %s" % (where, reason), p.stderr)

    def test_the_example_config_is_valid(self):
        p = self.router("--check-config")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("is valid", p.stdout)

    def test_a_bad_value_names_file_line_and_key(self):
        self.edit(self.conf, "history_max = 1000", "history_max = lots")
        self.assert_refused("%s:%d" % (self.conf, self.line_of(self.conf, "history_max")),
                            "[router] history_max: not an integer")

    def test_an_unknown_key_is_refused(self):
        self.edit(self.conf, "history_max = 1000", "history_max = 1000\nhistroy_max = 10")
        p = self.router("--check-config")
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("histroy_max", p.stderr)
        self.assertIn(self.conf, p.stderr)

    def test_a_broken_flow_stops_the_start(self):
        with open(self.flow, "a", encoding="utf-8") as f:
            f.write("\nthis line is not a flow line\n")
        self.assert_refused("%s:%d" % (self.flow, self.line_of(self.flow, "this line is not")),
                            "expected 'key = value' or '[section]'")

    def test_a_broken_rule_pack_stops_the_start(self):
        self.edit(self.pack, "mon-sun =", "mon-sun = 25:00-26:00\n# was: mon-sun =")
        for args in (["--check-config"], []):
            p = self.router(*args)
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn("mx.pack:%d" % self.line_of(self.pack, "25:00-26:00"), p.stderr)

    def test_the_engine_off_does_not_read_its_files(self):
        os.remove(self.flow)
        self.edit(self.conf, "enabled = true", "enabled = false")
        p = self.router("--check-config")
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_random_corruptions_are_refused_with_a_file_or_accepted(self):
        rng = random.Random(SEED)
        originals = {}
        for path in (self.conf, self.flow, self.pack):
            with open(path, "rb") as f:
                originals[path] = f.read()
        outcomes = {0: 0, 2: 0}
        for n in range(CONFIGS * 3):
            path = (self.conf, self.flow, self.pack)[n % 3]
            data = corrupt(rng, originals[path])
            with open(path, "wb") as f:
                f.write(data)
            p = self.router("--check-config", timeout=60)
            self.assertIn(p.returncode, (0, 2), "seed %d, %s: exit %s\n%s" % (SEED, path, p.returncode, p.stderr[-2000:]))
            outcomes[p.returncode] += 1
            if p.returncode == 2:
                self.assertRegex(p.stderr, r"^hilo-router: config: /\S+", "seed %d: %s" % (SEED, p.stderr))
                self.assertEqual(p.stderr.strip("\n").count("\n"), 0, "one line: %r" % p.stderr)
            with open(path, "wb") as f:
                f.write(originals[path])
        self.assertGreater(outcomes[2], CONFIGS // 2, "too few refusals to mean anything: %r" % outcomes)
        self.assertGreater(outcomes[0], 0, "nothing accepted: %r" % outcomes)


ODD_VALUES = [b"", b"-1", b"0", b"99999999999999999999", b"1e9", b"yes", b"\xff\xfe", b"x" * 5000, b"25:00-26:00",
              b"mon", b"/nope", b"\"quoted\"", b"1/0d", b"12:00-11:00", b"%s%n"]
JUNK_LINES = [b"[router]", b"[nope]", b"[]", b"=", b"= value", b"key =", b"\t", b"\x00", b"[section with spaces]",
              b"k" * 300 + b" = 1"]


def corrupt(rng, data):
    """Damage to a config-like file: hilo_fuzz's line edits, and values, sections and lines
    of its own kind."""
    return damage_lines(rng, data, [
        lambda rng, line: line.split(b"=", 1)[0] + b"= " + rng.choice(ODD_VALUES) if b"=" in line else line,
        lambda rng, line: b"[" + line,
        lambda rng, line: rng.choice(JUNK_LINES) + b"\n" + line,
        lambda rng, line: line + rng.choice([b" # trailing", b"\r", b" \\", b" = 2"]),
    ])


if __name__ == "__main__":
    unittest.main()
