"""proto/hilo_link.proto names its generated code in other languages (docs/protocol.md, "Client
libraries"): protoc's own generators put each language's code where its options say — Java in
org.example.hilo.link.v1 (one file per message, outer class HiloLinkProto), C# in the namespace
Hilo.Link.V1, Objective-C classes prefixed HLL, PHP in Hilo\\Link\\V1, Ruby in Hilo::Link::V1 (the C#,
PHP and Ruby names are also protoc's defaults for the package hilo.link.v1: the options fix them
in the file) — and the options leave the bytes alone: a Frame from the generated Python module
is the one of docs/protocol.md §12. (Go's generator, protoc-gen-go, is not in Debian 12's protobuf-compiler:
go_package is checked as text.)
"""

import os
import re
import shutil
import subprocess
import tempfile
import unittest

import hilo_link_pb2 as pb
from hilo_harness import SOURCE_DIR

PROTO_DIR = os.path.join(SOURCE_DIR, "proto")


class ProtoOptions(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.protoc = shutil.which("protoc")
        if not cls.protoc:
            raise unittest.SkipTest("protoc is not installed (Debian: protobuf-compiler)")
        cls.out = tempfile.mkdtemp(prefix="hilo-proto-options-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.out, True)

    def generate(self, lang):
        out = os.path.join(self.out, lang)
        os.makedirs(out, exist_ok=True)
        p = subprocess.run([self.protoc, "--%s_out=%s" % (lang, out), "-I", PROTO_DIR,
                            os.path.join(PROTO_DIR, "hilo_link.proto")], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        return out

    def read(self, *parts):
        with open(os.path.join(*parts), encoding="utf-8", errors="replace") as f:
            return f.read()

    def test_java(self):
        out = self.generate("java")
        pkg = os.path.join(out, "org", "example", "hilo", "link", "v1")
        for name in ("Frame.java", "Envelope.java", "Outbound.java", "HiloLinkProto.java"):
            self.assertTrue(os.path.isfile(os.path.join(pkg, name)), name)
        self.assertIn("package org.example.hilo.link.v1;", self.read(pkg, "Frame.java"))

    def test_csharp_objc_php_ruby(self):
        self.assertIn("namespace Hilo.Link.V1 {", self.read(self.generate("csharp"), "HiloLink.cs"))
        self.assertIn("@interface HLLFrame", self.read(self.generate("objc"), "HiloLink.pbobjc.h"))
        php = self.generate("php")
        self.assertIn("namespace Hilo\\Link\\V1;", self.read(php, "Hilo", "Link", "V1", "Frame.php"))
        self.assertIn("module Hilo\n  module Link\n    module V1\n", self.read(self.generate("ruby"), "hilo_link_pb.rb"))

    def test_go_package_and_unchanged_bytes(self):
        text = self.read(PROTO_DIR, "hilo_link.proto")
        self.assertRegex(text, re.compile(r'^option go_package = "[^";]+/link/v1;linkv1";$', re.M))
        self.assertRegex(text, re.compile(r"^package hilo\.link\.v1;$", re.M))
        env = pb.Envelope(seq=1, channel=pb.CHANNEL_SMS, provider_message_id="SM1", text="hola")
        setattr(env, "from", "+16505551234")
        frame = pb.Frame(major=1, envelope=env).SerializeToString()
        self.assertEqual(frame.hex(" "), "08 01 62 1d 08 01 10 02 1a 03 53 4d 31 22 0c 2b 31 36 35 30 35 35 35 31 32 33 "
                                         "34 52 04 68 6f 6c 61")
        self.assertEqual(pb.DESCRIPTOR.package, "hilo.link.v1")


if __name__ == "__main__":
    unittest.main(verbosity=2)
