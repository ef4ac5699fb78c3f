"""The man pages (docs/man/*.scd, built by CMake with scdoc): hilo(1), hilo-router(8),
hilo-connector(8) (hilo-whatsapp, hilo-sms, hilo-voice), hilo.conf(5).

- The build made each page, and `man -l` renders it without a warning, with its NAME,
  SYNOPSIS and SEE ALSO.
- They stay true to the programs: every option a program's --help lists is in its page, every
  command of `hilo --help` is in hilo(1), every section of deploy/hilo.conf is in hilo.conf(5).
(The installed pages and their links: tests/integration/test_install.py.)
"""

import os
import re
import subprocess
import unittest

from hilo_harness import BUILD_DIR, CLI_BIN, ROUTER_BIN, SOURCE_DIR, _clean_env, read_conf

MAN_DIR = os.path.join(BUILD_DIR, "docs", "man")
PAGES = ["hilo.1", "hilo-router.8", "hilo-connector.8", "hilo.conf.5"]
OPTION = re.compile(r"(?<![\w-])(--?[a-z][a-z-]*)")


def render(page):
    env = dict(_clean_env(), MANWIDTH="100", LC_ALL="C.UTF-8")
    p = subprocess.run(["man", "--warnings", "-l", os.path.join(MAN_DIR, page)], capture_output=True, text=True,
                       timeout=60, env=env)
    return p


def help_of(path):
    p = subprocess.run([path, "--help"], capture_output=True, text=True, timeout=30, env=_clean_env())
    assert p.returncode == 0, p.stderr
    return p.stdout


class ManPages(unittest.TestCase):
    def page(self, name):
        path = os.path.join(MAN_DIR, name)
        self.assertTrue(os.path.isfile(path), "%s was not built: is scdoc installed (deploy/install-deps.sh)?" % path)
        p = render(name)
        self.assertEqual((p.returncode, p.stderr), (0, ""), name)
        # man hyphenates at the margin: join the words again.
        return re.sub(r"(\w)\u2010\n\s+", r"\1", p.stdout)

    def test_every_page_renders(self):
        for name in PAGES:
            with self.subTest(page=name):
                text = self.page(name)
                for heading in ("NAME", "SYNOPSIS", "SEE ALSO"):
                    self.assertRegex(text, r"(?m)^%s$" % heading)

    def test_pages_list_every_option(self):
        progs = [("hilo-router.8", ROUTER_BIN), ("hilo.1", CLI_BIN)]
        progs += [("hilo-connector.8", os.path.join(BUILD_DIR, "connectors", c, "hilo-" + c))
                  for c in ("whatsapp", "sms", "voice")]
        for page, binary in progs:
            text = self.page(page)
            # Only the options part of the usage: the CLI's command texts quote command arguments.
            usage = help_of(binary)
            if "\noptions:\n" in usage:
                usage = usage.split("\noptions:\n", 1)[1]
            opts = set(OPTION.findall(usage)) - {"-"}
            self.assertIn("--version", opts, binary)
            for opt in sorted(opts):
                with self.subTest(page=page, option=opt):
                    self.assertRegex(text, r"(?<![\w-])%s(?![\w-])" % re.escape(opt))

    def test_hilo_1_lists_every_command(self):
        usage = help_of(CLI_BIN).split("\ncommands:\n", 1)[1].split("\noptions:\n", 1)[0]
        commands = set(re.findall(r"(?m)^  ([a-z][a-z-]+)", usage))
        self.assertGreater(len(commands), 10)
        text = self.page("hilo.1")
        for cmd in sorted(commands):
            with self.subTest(command=cmd):
                self.assertRegex(text, r"(?m)^\s+%s\b" % re.escape(cmd))

    def test_hilo_conf_5_lists_every_section(self):
        text = self.page("hilo.conf.5")
        sections = set(read_conf(os.path.join(SOURCE_DIR, "deploy", "hilo.conf"))) | {"cli"}
        for s in sorted(sections):
            with self.subTest(section=s):
                self.assertIn("[%s]" % s, text)


if __name__ == "__main__":
    unittest.main(verbosity=2)
