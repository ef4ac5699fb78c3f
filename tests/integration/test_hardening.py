"""Every binary we ship is built hardened (docs/security.md, "Build hardening"): a position-
independent executable, full RELRO (GNU_RELRO segment and BIND_NOW), the stack protector, and —
in optimised builds, where glibc can apply it — fortified libc calls (_FORTIFY_SOURCE=2).
Read from the ELF files with readelf, as Debian's hardening-check does."""

import os
import re
import subprocess
import unittest

from hilo_harness import BUILD_DIR

BINARIES = ["router/hilo-router", "router/cli/hilo", "connectors/whatsapp/hilo-whatsapp", "connectors/sms/hilo-sms",
            "connectors/voice/hilo-voice"]


def readelf(*args):
    return subprocess.run(["readelf", "-W", *args], check=True, capture_output=True, text=True, timeout=60).stdout


def build_type():
    with open(os.path.join(BUILD_DIR, "CMakeCache.txt")) as f:
        m = re.search(r"^CMAKE_BUILD_TYPE:STRING=(.*)$", f.read(), re.M)
    return m.group(1) if m else ""


class Hardening(unittest.TestCase):
    def test_every_binary(self):
        optimised = build_type() != "Debug"
        for rel in BINARIES:
            path = os.path.join(BUILD_DIR, rel)
            with self.subTest(rel):
                self.assertTrue(os.access(path, os.X_OK), path + " not built")
                self.assertRegex(readelf("-h", path), r"Type:\s+DYN ", "not a PIE")
                self.assertIn("GNU_RELRO", readelf("-l", path))
                dyn = readelf("-d", path)
                self.assertRegex(dyn, r"\(FLAGS\)\s+BIND_NOW|\(FLAGS_1\)\s+Flags:.*\bNOW\b", "no BIND_NOW (partial RELRO)")
                syms = readelf("--dyn-syms", path)
                self.assertIn("__stack_chk_fail", syms, "no stack protector")
                if optimised:
                    self.assertRegex(syms, r"\b__[a-z]+_chk\b(?<!__stack_chk)", "no fortified libc call")


if __name__ == "__main__":
    unittest.main(verbosity=2)
