"""Helpers for the tests of an installed hilo (test_install.py: `cmake --install` into a
DESTDIR; test_deb.py: the .deb unpacked): run the installed router on a config that names only
Redis and its ports, and check that it serves the installed files."""

import os
import re
import subprocess
import urllib.request

from hilo_harness import BUILD_DIR, SOURCE_DIR, _clean_env, free_port, spawn, tail, terminate, wait_until

CHANNELS = ("whatsapp", "sms", "voice")
# (directory under the prefix, name) of every installed program.
PROGRAMS = [("sbin", "hilo-router"), ("bin", "hilo")] + [("sbin", "hilo-" + c) for c in CHANNELS]


def cache_value(name):
    """A value of the build tree's CMakeCache.txt (None when absent)."""
    with open(os.path.join(BUILD_DIR, "CMakeCache.txt"), encoding="utf-8") as f:
        m = re.search(r"^%s:\w+=(.*)$" % re.escape(name), f.read(), re.M)
    return m.group(1) if m else None


def project_version():
    """The version in CMakeLists.txt's project(hilo VERSION x.y.z): what --version prints."""
    with open(os.path.join(SOURCE_DIR, "CMakeLists.txt"), encoding="utf-8") as f:
        m = re.search(r"project\(hilo VERSION (\d+\.\d+\.\d+)", f.read())
    assert m, "no project(hilo VERSION x.y.z) in CMakeLists.txt"
    return m.group(1)


def check_versions(tc, root):
    """Every program under `root` (a prefix) prints "<name> <version>" and exits 0."""
    version = project_version()
    for d, name in PROGRAMS:
        with tc.subTest(binary=name):
            p = subprocess.run([os.path.join(root, d, name), "--version"], capture_output=True, text=True,
                               timeout=30, env=_clean_env())
            tc.assertEqual((p.returncode, p.stdout), (0, "%s %s\n" % (name, version)), p.stderr)


def minimal_config(workdir, redis_port):
    """A config naming no file: only Redis, the link and the HTTP port. Returns (path, http port)."""
    http_port = free_port()
    conf = os.path.join(workdir, "hilo.conf")
    with open(conf, "w") as f:
        f.write("[redis]\nhost = 127.0.0.1\nport = %d\n\n[router]\nlink_auth = none\n"
                "link_bind = tcp://127.0.0.1:%d\nhttp_port = %d\n\n[engine]\nenabled = true\n\n"
                "[console]\nallowed_origins = http://127.0.0.1:%d\n" % (redis_port, free_port(), http_port, http_port))
    return conf, http_port


def check_router_on_installed_files(tc, router, datadir, redis):
    """tc: a HiloTestCase. The router binary `router` must check its config naming the data of
    `datadir` (console, flow, rule packs), then start, answer /healthz and serve the console page
    of `datadir` (a marker written into that copy is what comes back), and stop with status 0."""
    conf, http_port = minimal_config(tc.workdir, redis.port)
    marker = "<!-- installed copy, %s -->" % os.path.basename(tc.workdir)
    with open(os.path.join(datadir, "console", "index.html"), "a", encoding="utf-8") as f:
        f.write(marker + "\n")
    p = subprocess.run([router, "-c", conf, "--check-config"], capture_output=True, text=True, timeout=60,
                       env=_clean_env(), cwd=tc.workdir)
    tc.assertEqual(p.returncode, 0, p.stderr)
    data = os.path.realpath(datadir)
    tc.assertIn("console assets: %s/console" % data, p.stdout)
    tc.assertIn("bot flow: %s/flows/collections.flow (loaded)" % data, p.stdout)
    tc.assertIn("rule packs: %s/compliance (loaded)" % data, p.stdout)

    log = os.path.join(tc.workdir, "router.log")
    tc._logs.append(("installed router", log))
    proc = spawn([router, "-c", conf], log, env=_clean_env(), cwd=tc.workdir)
    tc.addCleanup(terminate, proc)

    def get(path):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d%s" % (http_port, path), timeout=2) as r:
                return r.status, r.read().decode("utf-8", "replace")
        except OSError as e:
            return None, str(e)

    wait_until(lambda: proc.poll() is None and get("/healthz")[0] == 200, 30,
               lambda: "the installed router's /healthz:\n" + tail(log))
    status, body = get("/console/")
    tc.assertEqual(status, 200, body)
    tc.assertIn(marker, body)
    tc.assertEqual(terminate(proc), 0, tail(log))
