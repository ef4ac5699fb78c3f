"""The Debian package (`cpack -G DEB`, deploy/package.cmake; docs/operations.md, "The Debian
package"), built from this build tree, which must be configured with -DCMAKE_INSTALL_PREFIX=/usr
(tests/run.sh's release build is; another prefix skips with the reason).

- Its control data: dependencies from the binaries (libzmq, hiredis, libwebsockets, ...) and
  adduser, Redis recommended; /etc/hilo/hilo.conf and /etc/logrotate.d/hilo (the dead-letter
  files' rotation) conffiles; the units shipped and not enabled
  (no symlink under /etc/systemd, no `systemctl enable` or start in the scripts).
- lintian (bookworm's) finds no error (skipped when lintian is not installed).
- Unpacked, its binaries run: --version, and the router on a config naming only Redis and its
  ports serves the package's console page.
- The maintainer scripts, run with stand-ins for the commands they call (getent, adduser,
  install, chgrp, chmod, systemctl) that only record their arguments: the hilo user is made
  once, the keys directory is the user's only, systemd is told to reload and nothing is enabled.
  A real throwaway root (a debootstrapped chroot) is not used: it needs a Debian mirror.
"""

import glob
import os
import shutil
import subprocess
import tempfile
import unittest

from hilo_harness import BUILD_DIR, HiloTestCase
from hilo_install import cache_value, check_router_on_installed_files, check_versions, project_version


class DebPackage(HiloTestCase):
    @classmethod
    def setUpClass(cls):
        prefix = cache_value("CMAKE_INSTALL_PREFIX")
        if prefix != "/usr":
            raise unittest.SkipTest("the build tree's install prefix is %s: a .deb needs "
                                    "-DCMAKE_INSTALL_PREFIX=/usr (tests/run.sh's release build has it)" % prefix)
        cls.out = tempfile.mkdtemp(prefix="hilo-deb-")
        p = subprocess.run(["cpack", "-G", "DEB", "-B", cls.out], cwd=BUILD_DIR, capture_output=True, text=True,
                           timeout=600)
        debs = glob.glob(os.path.join(cls.out, "*.deb"))
        if p.returncode != 0 or len(debs) != 1:
            shutil.rmtree(cls.out, True)
            raise AssertionError("cpack failed (%d):\n%s%s" % (p.returncode, p.stdout[-3000:], p.stderr[-3000:]))
        cls.deb = debs[0]
        cls.root = os.path.join(cls.out, "root")
        subprocess.run(["dpkg-deb", "-x", cls.deb, cls.root], check=True, timeout=120)
        cls.control = os.path.join(cls.out, "control")
        subprocess.run(["dpkg-deb", "-e", cls.deb, cls.control], check=True, timeout=120)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.out, True)

    def field(self, name):
        return subprocess.run(["dpkg-deb", "-f", self.deb, name], capture_output=True, text=True, check=True,
                              timeout=60).stdout.strip()

    def test_control_fields(self):
        self.assertEqual(self.field("Package"), "hilo")
        self.assertEqual(self.field("Version"), project_version() + "-1")
        depends = [d.strip().split(" ")[0] for d in self.field("Depends").split(",")]
        for lib in ("adduser", "libzmq5", "libhiredis0.14", "libwebsockets17", "libprotobuf-c1", "libuv1",
                    "libjansson4", "libsodium23", "libcurl4", "libsystemd0"):
            self.assertIn(lib, depends)
        self.assertIn("redis-server", self.field("Recommends"))

    def test_conffiles_and_disabled_units(self):
        with open(os.path.join(self.control, "conffiles")) as f:
            conffiles = f.read().split()
        self.assertEqual(conffiles, ["/etc/hilo/hilo.conf", "/etc/logrotate.d/hilo"])
        for path in conffiles:
            self.assertTrue(os.path.isfile(os.path.join(self.root, path.lstrip("/"))), path)
        for unit in ("hilo-router.service", "hilo-connector@.service"):
            self.assertTrue(os.path.isfile(os.path.join(self.root, "usr", "lib", "systemd", "system", unit)), unit)
        self.assertFalse(os.path.exists(os.path.join(self.root, "etc", "systemd")), "a unit is enabled")
        for script in ("postinst", "postrm"):
            with open(os.path.join(self.control, script)) as f:
                text = f.read()
            self.assertNotRegex(text, r"systemctl[^\n]*\b(enable|start|restart)\b|deb-systemd-invoke", script)
        for doc in ("copyright", "changelog.Debian.gz"):
            self.assertTrue(os.path.isfile(os.path.join(self.root, "usr", "share", "doc", "hilo", doc)), doc)

    def test_lintian_finds_no_error(self):
        lintian = shutil.which("lintian")
        if not lintian:
            self.skipTest("lintian is not installed (Debian package lintian; install-deps.sh with "
                          "HILO_WITH_TEST_TOOLS=1)")
        p = subprocess.run([lintian, "--fail-on", "error", "--tag-display-limit", "0", self.deb],
                           capture_output=True, text=True, timeout=600)
        errors = [line for line in p.stdout.splitlines() if line.startswith("E:")]
        self.assertEqual((p.returncode, errors), (0, []), p.stdout + p.stderr)

    def test_the_unpacked_binaries_run(self):
        check_versions(self, os.path.join(self.root, "usr"))
        check_router_on_installed_files(self, os.path.join(self.root, "usr", "sbin", "hilo-router"),
                                        os.path.join(self.root, "usr", "share", "hilo"), self.redis())

    def run_postinst(self, user_exists, previous=""):
        """The postinst with every command it calls replaced by a stand-in that appends its name
        and arguments to calls.log (getent answers as if the user existed or not)."""
        bindir = os.path.join(self.workdir, "bin")
        os.makedirs(bindir, exist_ok=True)
        log = os.path.join(self.workdir, "calls.log")
        if os.path.exists(log):
            os.remove(log)
        for cmd in ("getent", "adduser", "install", "chgrp", "chmod", "systemctl"):
            status = 0 if cmd != "getent" or user_exists else 2
            with open(os.path.join(bindir, cmd), "w") as f:
                f.write('#!/bin/sh\necho "%s $*" >> "%s"\nexit %d\n' % (cmd, log, status))
            os.chmod(os.path.join(bindir, cmd), 0o755)
        env = {"PATH": bindir + ":/usr/bin:/bin"}
        p = subprocess.run(["/bin/sh", os.path.join(self.control, "postinst"), "configure", previous], env=env,
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(log) as f:
            return f.read().splitlines()

    def test_postinst_makes_the_user_once_and_enables_nothing(self):
        calls = self.run_postinst(user_exists=False)
        self.assertIn("getent passwd hilo", calls)
        adduser = [c for c in calls if c.startswith("adduser ")]
        self.assertEqual(len(adduser), 1, calls)
        for opt in ("--system", "--group", "--home /var/lib/hilo", "--no-create-home"):
            self.assertIn(opt, adduser[0])
        self.assertTrue(adduser[0].endswith(" hilo"), adduser[0])
        self.assertIn("install -d -m 0700 -o hilo -g hilo /etc/hilo/keys", calls)
        self.assertIn("chgrp hilo /etc/hilo/hilo.conf", calls)
        self.assertFalse([c for c in calls if c.startswith("systemctl") and "daemon-reload" not in c], calls)
        self.assertIn("chmod 0640 /etc/hilo/hilo.conf", calls)
        # An upgrade: the user is there (no second adduser), the config's mode is the operator's.
        calls = self.run_postinst(user_exists=True, previous="0.1.0-1")
        self.assertFalse([c for c in calls if c.startswith(("adduser ", "chmod ", "chgrp "))], calls)
        self.assertIn("install -d -m 0700 -o hilo -g hilo /etc/hilo/keys", calls)


if __name__ == "__main__":
    unittest.main(verbosity=2)
