"""The Debian package (`cpack -G DEB`, deploy/package.cmake; docs/operations.md, "The Debian
package"), built from this build tree, which must be configured with -DCMAKE_INSTALL_PREFIX=/usr
(tests/run.sh's release build is; another prefix skips with the reason).

- Its control data: dependencies from the binaries (libzmq, hiredis, libwebsockets, ...) and
  adduser, Redis recommended; /etc/hilo/hilo.conf and /etc/logrotate.d/hilo (the dead-letter
  files' rotation) conffiles; the units shipped and not enabled
  (no symlink under /etc/systemd, no `systemctl enable` or start in the scripts).
- lintian (bookworm's) finds no error (skipped when lintian is not installed).
- Unpacked, its binaries run: --version, and the router on a config naming only Redis and its
  ports serves the package's console page; and the package's router, CLI and connectors pass an
  end-to-end suite of the harness (tests/e2e/test_connectors_flow.py with HILO_INSTALLED_PREFIX).
- The link client hilo_link (clients/python) is a Debian Python module: its files, the generated
  hilo_link_pb2 included and no byte-compiled file, in /usr/lib/python3/dist-packages/hilo_link;
  python3 a dependency, python3-zmq and python3-protobuf recommended; imported from the unpacked
  tree it is that copy, of hilo's version.
- The maintainer scripts, run with stand-ins for the commands they call (getent, adduser,
  install, chgrp, chmod, systemctl, py3compile, py3clean) that only record their arguments: the
  hilo user is made once, the keys directory is the user's only, the Python modules are
  byte-compiled on configure and cleaned before removal, systemd is told to reload and nothing
  is enabled.
  A real throwaway root (a debootstrapped chroot) is not used: it needs a Debian mirror.
"""

import glob
import os
import shutil
import subprocess
import tempfile
import unittest

from hilo_harness import BUILD_DIR, SOURCE_DIR, HiloTestCase
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
        self.assertIn("python3", depends)
        recommends = [d.strip().split(" ")[0] for d in self.field("Recommends").split(",")]
        for pkg in ("redis-server", "python3-zmq", "python3-protobuf"):
            self.assertIn(pkg, recommends)

    def test_conffiles_and_disabled_units(self):
        with open(os.path.join(self.control, "conffiles")) as f:
            conffiles = f.read().split()
        self.assertEqual(conffiles, ["/etc/hilo/hilo.conf", "/etc/logrotate.d/hilo"])
        for path in conffiles:
            self.assertTrue(os.path.isfile(os.path.join(self.root, path.lstrip("/"))), path)
        for unit in ("hilo-router.service", "hilo-connector@.service"):
            self.assertTrue(os.path.isfile(os.path.join(self.root, "usr", "lib", "systemd", "system", unit)), unit)
        self.assertFalse(os.path.exists(os.path.join(self.root, "etc", "systemd")), "a unit is enabled")
        for script in ("postinst", "prerm", "postrm"):
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

    def test_the_unpacked_programs_pass_an_end_to_end_suite(self):
        # The package's router, CLI and connectors (not the build tree's) against the harness:
        # the sandbox's signed webhooks through hilo-whatsapp and hilo-sms, the bot's replies out
        # through the providers' APIs and settled by their status webhooks; a call through
        # hilo-voice (tests/e2e/test_connectors_flow.py, HILO_INSTALLED_PREFIX).
        prefix = os.path.join(self.root, "usr")
        env = dict(os.environ, HILO_INSTALLED_PREFIX=prefix)
        p = subprocess.run(["/usr/bin/python3", os.path.join(SOURCE_DIR, "tests", "e2e", "test_connectors_flow.py"),
                            "-v"], capture_output=True, text=True, timeout=600, env=env,
                           cwd=os.path.join(SOURCE_DIR, "tests", "e2e"))
        self.assertEqual(p.returncode, 0, p.stderr[-6000:])
        self.assertIn("hilo_harness: the programs under %s\n" % prefix, p.stderr)
        ran = [line for line in p.stderr.splitlines() if line.endswith(" ... ok")]
        self.assertGreaterEqual(len(ran), 3, p.stderr[-3000:])

    def test_the_python_client_is_a_debian_python_module(self):
        dist = os.path.join(self.root, "usr", "lib", "python3", "dist-packages")
        files = sorted(os.listdir(os.path.join(dist, "hilo_link")))
        self.assertEqual(files, ["__init__.py", "hilo_link_pb2.py", "keys.py", "link.py"])
        code = ("import hilo_link, hilo_link.hilo_link_pb2 as pb; print(hilo_link.__file__); "
                "print(hilo_link.__version__); print(pb.Frame(major=1).SerializeToString().hex())")
        p = subprocess.run(["/usr/bin/python3", "-c", code], capture_output=True, text=True, timeout=60,
                           cwd=self.workdir, env={"PYTHONPATH": dist, "PYTHONDONTWRITEBYTECODE": "1",
                                                  "PATH": "/usr/bin:/bin"})
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.split(), [os.path.join(dist, "hilo_link", "__init__.py"), project_version(), "0801"])

    def run_script(self, script, args, user_exists=True):
        """A maintainer script with every command it calls replaced by a stand-in that appends its
        name and arguments to calls.log (getent answers as if the user existed or not)."""
        bindir = os.path.join(self.workdir, "bin")
        os.makedirs(bindir, exist_ok=True)
        log = os.path.join(self.workdir, "calls.log")
        if os.path.exists(log):
            os.remove(log)
        for cmd in ("getent", "adduser", "install", "chgrp", "chmod", "systemctl", "py3compile", "py3clean"):
            status = 0 if cmd != "getent" or user_exists else 2
            with open(os.path.join(bindir, cmd), "w") as f:
                f.write('#!/bin/sh\necho "%s $*" >> "%s"\nexit %d\n' % (cmd, log, status))
            os.chmod(os.path.join(bindir, cmd), 0o755)
        env = {"PATH": bindir + ":/usr/bin:/bin"}
        p = subprocess.run(["/bin/sh", os.path.join(self.control, script)] + args, env=env,
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        if not os.path.exists(log):
            return []
        with open(log) as f:
            return f.read().splitlines()

    def run_postinst(self, user_exists, previous=""):
        return self.run_script("postinst", ["configure", previous], user_exists)

    def test_prerm_cleans_the_byte_compiled_modules(self):
        self.assertEqual(self.run_script("prerm", ["remove"]), ["py3clean -p hilo"])

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
        self.assertIn("py3compile -p hilo", calls)
        # An upgrade: the user is there (no second adduser), the config's mode is the operator's.
        calls = self.run_postinst(user_exists=True, previous="0.1.0-1")
        self.assertFalse([c for c in calls if c.startswith(("adduser ", "chmod ", "chgrp "))], calls)
        self.assertIn("install -d -m 0700 -o hilo -g hilo /etc/hilo/keys", calls)
        self.assertIn("py3compile -p hilo", calls)


if __name__ == "__main__":
    unittest.main(verbosity=2)
