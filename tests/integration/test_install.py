"""`cmake --install` puts a working hilo on a host (docs/operations.md, "Installing"): the
build is installed under a temporary DESTDIR, and the installed programs run from there without
the source tree.

- The FHS layout: daemons in <prefix>/sbin, the CLI in <prefix>/bin, the console, the bot flow,
  the rule packs with their holiday calendars and the example strategies in
  <prefix>/share/hilo, the example config in <sysconfdir>/hilo naming the installed files,
  logrotate's rules in <sysconfdir>/logrotate.d/hilo, the systemd units naming the installed
  binaries, the docs in <prefix>/share/doc/hilo.
- No installed text file names the source or the build tree.
- Every installed binary answers --version.
- The installed hilo-router, given a config that names only Redis and its ports, finds the
  installed flow, rule packs and console page by itself: /healthz answers 200 and /console/ is
  the installed page (a marker written into the installed copy is what is served).
- The installed CLI checks the installed example strategy against the installed rule packs.
- The man pages are in <prefix>/share/man, and `man hilo-sms` opens the connectors' page.
"""

import os
import shutil
import subprocess
import tempfile
import unittest

from hilo_harness import BUILD_DIR, SOURCE_DIR, HiloTestCase, _clean_env
from hilo_install import PROGRAMS, cache_value, check_router_on_installed_files, check_versions


class Install(HiloTestCase):
    @classmethod
    def setUpClass(cls):
        cls.destdir = tempfile.mkdtemp(prefix="hilo-install-")
        env = dict(os.environ, DESTDIR=cls.destdir)
        p = subprocess.run(["cmake", "--install", BUILD_DIR], capture_output=True, text=True, env=env, timeout=300)
        if p.returncode != 0:
            shutil.rmtree(cls.destdir, True)
            raise AssertionError("cmake --install failed:\n" + p.stdout[-3000:] + p.stderr[-3000:])
        cls.prefix = cache_value("CMAKE_INSTALL_PREFIX")
        cls.root = cls.destdir + cls.prefix
        # GNUInstallDirs: <prefix>/etc, but /etc for the /usr prefix.
        cls.etc = os.path.join(cls.destdir + ("/etc" if cls.prefix == "/usr" else cls.prefix + "/etc"), "hilo")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.destdir, True)

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    def test_the_layout(self):
        for d, name in PROGRAMS:
            with self.subTest(binary=name):
                self.assertTrue(os.access(self.path(d, name), os.X_OK), self.path(d, name))
        for rel in ["console/index.html", "console/console.js", "flows/collections.flow", "compliance/mx.pack",
                    "compliance/compliance.conf", "compliance/holidays/MX.txt", "strategies/demo.strategy"]:
            with self.subTest(data=rel):
                self.assertTrue(os.path.isfile(self.path("share", "hilo", rel)), rel)
        for rel in ["operations.md", "architecture.md", "README.md", "examples/redis.conf"]:
            with self.subTest(doc=rel):
                self.assertTrue(os.path.isfile(self.path("share", "doc", "hilo", rel)), rel)
        self.assertTrue(os.path.isdir(os.path.join(self.etc, "strategies")))
        # logrotate's rules for the dead-letter files, as shipped (/etc/logrotate.d on a /usr install).
        with open(os.path.join(os.path.dirname(self.etc), "logrotate.d", "hilo"), encoding="utf-8") as f, \
                open(os.path.join(SOURCE_DIR, "deploy", "logrotate", "hilo"), encoding="utf-8") as g:
            self.assertEqual(f.read(), g.read())
        # The example config names the installed files, wherever the prefix is.
        with open(os.path.join(self.etc, "hilo.conf"), encoding="utf-8") as f:
            conf = f.read()
        data = self.prefix + "/share/hilo"
        for line in ["flow = %s/flows/collections.flow" % data, "compliance_dir = %s/compliance" % data,
                     "assets_dir = %s/console" % data]:
            self.assertIn("\n" + line + "\n", conf)
        # The units run the installed binaries with the installed config.
        units = self.path("lib", "systemd", "system")
        with open(os.path.join(units, "hilo-router.service"), encoding="utf-8") as f:
            router_unit = f.read()
        self.assertIn("\nExecStart=%s/sbin/hilo-router -c %s/hilo.conf\n"
                      % (self.prefix, self.etc[len(self.destdir):]), router_unit)
        with open(os.path.join(units, "hilo-connector@.service"), encoding="utf-8") as f:
            self.assertIn("\nExecStart=%s/sbin/hilo-%%i -c " % self.prefix, f.read())

    def test_the_man_pages(self):
        mandir = self.path("share", "man")
        for rel in ["man1/hilo.1.gz", "man8/hilo-router.8.gz", "man8/hilo-connector.8.gz", "man5/hilo.conf.5.gz",
                    "man8/hilo-sms.8.gz"]:
            with self.subTest(page=rel):
                self.assertTrue(os.path.isfile(os.path.join(mandir, rel)), rel)
        # Each connector's name opens the connectors' page; the others open their own.
        env = dict(_clean_env(), MANWIDTH="100", LC_ALL="C.UTF-8")
        for name, want in [("hilo-sms", "hilo-whatsapp, hilo-sms, hilo-voice"), ("hilo-voice", "hilo-connector(8)"),
                           ("hilo-router", "hilo-router - the hilo conversation router"),
                           ("hilo.conf", "hilo.conf - the one config file")]:
            with self.subTest(man=name):
                p = subprocess.run(["man", "-M", mandir, "-P", "cat", name], capture_output=True, text=True,
                                   timeout=60, env=env)
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertIn(want, p.stdout)

    def test_nothing_installed_names_the_source_or_build_tree(self):
        checked = 0
        for d, _, files in os.walk(self.destdir):
            for name in files:
                path = os.path.join(d, name)
                with open(path, "rb") as f:
                    data = f.read()
                if b"\0" in data[:4096]:
                    continue  # a binary (its debug information may name the sources)
                checked += 1
                for tree in (SOURCE_DIR, BUILD_DIR):
                    self.assertNotIn(os.path.realpath(tree).encode(), data, path)
        self.assertGreater(checked, 20)

    def test_installed_binaries_print_their_version(self):
        check_versions(self, self.root)

    def test_the_installed_router_runs_on_installed_files(self):
        check_router_on_installed_files(self, self.path("sbin", "hilo-router"), self.path("share", "hilo"),
                                        self.redis())

    def test_the_installed_cli_checks_the_installed_strategy(self):
        conf = os.path.join(self.workdir, "hilo.conf")
        with open(conf, "w") as f:
            f.write("[redis]\nport = 1\n")
        p = subprocess.run([self.path("bin", "hilo"), "-c", conf, "strategy", "check",
                            self.path("share", "hilo", "strategies", "demo.strategy")],
                           capture_output=True, text=True, timeout=60, env=_clean_env(), cwd=self.workdir)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
