"""Builds the hilo_link package (pyproject.toml has its metadata): the one step setuptools cannot
describe is generating hilo_link/hilo_link_pb2.py from the link's contract.

Why generate while building rather than keep a generated copy in the tree: the bytes are fixed
by proto/hilo_link.proto alone, and protoc's Python output must match the protobuf runtime it
will run with (Debian's protobuf-compiler and python3-protobuf come from one source package, so
generating on the host keeps them in step). The .proto is found at ../../proto/hilo_link.proto
(this directory inside hilo's source tree) or at $HILO_LINK_PROTO; protoc is $PROTOC or the one
on PATH (Debian: protobuf-compiler).
"""

import os
import shutil
import subprocess

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))


class BuildWithProto(build_py):
    def run(self):
        super().run()
        proto = os.environ.get("HILO_LINK_PROTO") or os.path.join(HERE, "..", "..", "proto", "hilo_link.proto")
        if not os.path.isfile(proto):
            raise SystemExit("hilo_link: %s not found: build from hilo's source tree (clients/python), or set "
                             "HILO_LINK_PROTO to proto/hilo_link.proto" % proto)
        protoc = os.environ.get("PROTOC") or shutil.which("protoc")
        if not protoc:
            raise SystemExit("hilo_link: protoc not found (Debian: apt install protobuf-compiler), or set PROTOC")
        out = os.path.join(self.build_lib, "hilo_link")
        os.makedirs(out, exist_ok=True)
        proto = os.path.realpath(proto)
        subprocess.run([protoc, "--python_out=" + out, "-I", os.path.dirname(proto), proto], check=True)


setup(cmdclass={"build_py": BuildWithProto})
