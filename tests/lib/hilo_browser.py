"""hilo_browser — running the browser suites' node scripts (tests/browser/*.spec.js: Debian's
Chromium driven by playwright-core).

    CHROMIUM, NODE, BROWSER_DIR, ARTIFACTS   where things are (screenshots go to ARTIFACTS)
    playwright_ready()                       installs playwright-core once (tests/browser/install.sh)
    run_spec(case, spec, env, on_step)       runs tests/browser/<spec> with env; each "STEP <name>"
                                             line it prints calls on_step(name), then answers
                                             "OK <name>" on its stdin; fails `case` unless the
                                             script exits 0 after printing DONE
    console_stack(case)                      redis-server, hilo-router with the console, the
                                             provider sandbox and the WhatsApp and SMS connectors
                                             on the test clock's working morning: a ConsoleStack
"""

import json
import os
import shutil
import subprocess
import sys
import threading
import urllib.request

from hilo_harness import (BUILD_DIR, SOURCE_DIR, TEST_CLOCK_OVERRIDES, _clean_env, free_port, history, spawn,
                          terminate, use_workday_clock, wait_until, write_conf)
from hilo_console import console_overrides

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


def http_json(method, url, body=None, timeout=10):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read())


def _healthy(url):
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except OSError:
        return False


class ConsoleStack:
    """What a console browser test runs against: `router` (origin: its console's address),
    `r` (a Redis client), `sandbox` (the provider sandbox's base URL) and `procs` (the sandbox
    and the connectors, stopped at the case's cleanup)."""

    def __init__(self, case, engine=False, extra=None):
        redis = case.redis()
        sandbox_port, wa_port, sms_port = free_port(), free_port(), free_port()
        self.sandbox = "http://127.0.0.1:%d" % sandbox_port
        overrides = console_overrides()
        # Each connector's /metrics and /healthz port: a free one too (the defaults are fixed).
        overrides["whatsapp"] = {"http_port": wa_port, "metrics_port": free_port(), "api_base": self.sandbox,
                                 "app_secret": "sandbox-app-secret",
                                 "verify_token": "sandbox-verify-token", "access_token": "sandbox-access-token",
                                 "phone_number_id": "106540352242922", "display_phone_number": "15550783881"}
        overrides["sms"] = {"http_port": sms_port, "metrics_port": free_port(), "api_base": self.sandbox,
                            "account_sid": "AC" + "0" * 32,
                            "auth_token": "sandbox-auth-token", "from": "+15005550006",
                            "public_url": "http://127.0.0.1:%d" % sms_port}
        # Agents' replies pass the compliance gate (contact hours apply to agents) at commit
        # and at hand-off: on the test clock, a working morning in the debtor's zone.
        overrides["engine"] = dict(overrides.get("engine", {}), **TEST_CLOCK_OVERRIDES["engine"])
        if engine:  # the conversation engine on, with the shipped flow (the debtor's turns run)
            overrides["engine"].update({"enabled": "true",
                                        "flow": os.path.join(SOURCE_DIR, "deploy", "flows", "collections.flow")})
        for section, kv in (extra or {}).items():  # more of the router's config, section by section
            overrides[section] = dict(overrides.get(section, {}), **kv)
        use_workday_clock(redis.client())
        router = self.router = case.router(redis, overrides=overrides, start=False)
        self.origin = "http://127.0.0.1:%d" % router.http_port
        router.conf["console"]["allowed_origins"] = self.origin
        for ch in ("whatsapp", "sms"):
            router.conf[ch]["link_connect"] = router.link
            router.conf[ch].update(router.keys.connector_conf(ch))  # the link's CURVE keys
        write_conf(router.conf_path, router.conf)
        router.start()
        self.r = redis.client()
        self.procs = []
        self._start(case, "sandbox", ["/usr/bin/python3", os.path.join(SOURCE_DIR, "connectors", "sandbox", "sandbox.py"),
                                      "--port", str(sandbox_port), "--config", router.conf_path, "--quiet"])
        for ch in ("whatsapp", "sms"):
            self._start(case, ch, [os.path.join(BUILD_DIR, "connectors", ch, "hilo-" + ch), "-c", router.conf_path])
        wait_until(lambda: _healthy(self.sandbox + "/healthz"), 20, "sandbox up")

    def _start(self, case, name, args):
        log = os.path.join(case.workdir, name + ".log")
        case._logs.append((name, log))
        p = spawn(args, log, env=_clean_env(), cwd=case.workdir)
        self.procs.append(p)
        case.addCleanup(terminate, p)

    def debtor_says(self, debtor, phone, channel, text):
        """The debtor writes through the sandbox; returns once it is in the thread."""
        def sent():
            res = http_json("POST", self.sandbox + "/_sandbox/send", {"channel": channel, "from": phone, "text": text})
            return res.get("status") == 200
        wait_until(sent, 30, "the %s connector accepts the debtor's message" % channel, interval=0.5)
        wait_until(lambda: any(i.get("text") == text for _, i in history(self.r, debtor)), 15,
                   "%s message in the thread" % channel)

    def provider_calls(self, api):
        """What the connectors sent the provider's API (the sandbox's record)."""
        return http_json("GET", self.sandbox + "/_sandbox/calls?api=" + api)

    def alive(self):
        return all(p.poll() is None for p in self.procs)


def console_stack(case, engine=False, extra=None):
    """extra: {section: {key: value}} added to the router's config."""
    return ConsoleStack(case, engine, extra)
