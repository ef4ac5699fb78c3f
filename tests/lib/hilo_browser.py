"""hilo_browser — running the browser suites' node scripts (tests/browser/*.spec.js: Debian's
Chromium driven by playwright-core).

    CHROMIUM, NODE, BROWSER_DIR, ARTIFACTS   where things are (screenshots go to ARTIFACTS)
    playwright_ready()                       installs playwright-core once (tests/browser/install.sh)
    run_spec(case, spec, env, on_step)       runs tests/browser/<spec> with env; each "STEP <name>"
                                             line it prints calls on_step(name), then answers
                                             "OK <name>" on its stdin; fails `case` unless the
                                             script exits 0 after printing DONE
"""

import os
import shutil
import subprocess
import sys
import threading

from hilo_harness import SOURCE_DIR

CHROMIUM = "/usr/bin/chromium"
NODE = shutil.which("node")
BROWSER_DIR = os.path.join(SOURCE_DIR, "tests", "browser")
ARTIFACTS = os.path.join(SOURCE_DIR, "tests", "artifacts", "browser")


def playwright_ready():
    if not os.path.isdir(os.path.join(BROWSER_DIR, "node_modules", "playwright-core")) and NODE:
        subprocess.run([os.path.join(BROWSER_DIR, "install.sh")], timeout=300, check=False)
    return os.path.isdir(os.path.join(BROWSER_DIR, "node_modules", "playwright-core"))


def run_spec(case, spec, env, on_step=lambda step: None, timeout=300):
    """Runs the script; returns its output lines."""
    os.makedirs(ARTIFACTS, exist_ok=True)
    env = dict(os.environ, HILO_ARTIFACTS=ARTIFACTS, **env)
    node = subprocess.Popen([NODE, os.path.join(BROWSER_DIR, spec)], cwd=BROWSER_DIR, env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    case.addCleanup(lambda: node.poll() is None and node.kill())
    killer = threading.Timer(timeout, node.kill)
    killer.start()
    case.addCleanup(killer.cancel)
    out = []
    for line in node.stdout:
        out.append(line)
        sys.stderr.write("node: " + line)
        if not line.startswith("STEP "):
            continue
        step = line.split()[1]
        on_step(step)
        node.stdin.write("OK %s\n" % step)
        node.stdin.flush()
    status = node.wait(30)
    case.assertEqual(status, 0, "%s failed:\n%s" % (spec, "".join(out[-40:])))
    case.assertIn("DONE\n", out)
    return out
