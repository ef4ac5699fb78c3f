"""Console acceptance 2 and 5 in Debian's Chromium (tests/browser/console.spec.js, playwright-core):
a supervisor watches the floor; an agent logs in, accepts an escalated WhatsApp conversation, sees
the earlier SMS in the same thread, replies, and the reply is recorded by the provider sandbox on
the debtor's WhatsApp; the supervisor's queue count rises and falls; the router restarts under
both consoles, which reconnect and show the current state; a promise-to-pay wrap-up closes it.
Real processes: redis-server, hilo-router, hilo-whatsapp, hilo-sms and the sandbox.
Screenshots: tests/artifacts/browser/."""

import json
import os
import unittest
import urllib.request

from hilo_harness import (BUILD_DIR, SOURCE_DIR, TEST_CLOCK_OVERRIDES, HiloTestCase, _clean_env, cli_path, debtor_key,
                          free_port, history, seed_debtor, spawn, terminate, use_workday_clock, wait_until,
                          write_conf)
from hilo_browser import CHROMIUM, NODE, playwright_ready, run_spec
from hilo_console import PASSWORD, add_agent, console_overrides, escalate

DEBTOR, PHONE = "DB1", "+16505551234"
REPLY = "Hello from your account specialist: we can set up a plan."


def http_json(method, url, body=None, timeout=10):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read())


@unittest.skipUnless(cli_path() and NODE and os.access(CHROMIUM, os.X_OK), "needs the CLI, node and /usr/bin/chromium")
class ConsoleBrowser(HiloTestCase):
    def test_agent_and_supervisor_in_chromium(self):
        if not playwright_ready():
            self.skipTest("playwright-core is not installed (tests/browser/install.sh)")
        redis = self.redis()
        sandbox_port, wa_port, sms_port = free_port(), free_port(), free_port()
        sandbox = "http://127.0.0.1:%d" % sandbox_port
        overrides = console_overrides()
        # Each connector's /metrics and /healthz port: a free one too (the defaults are fixed).
        overrides["whatsapp"] = {"http_port": wa_port, "metrics_port": free_port(), "api_base": sandbox,
                                 "app_secret": "sandbox-app-secret",
                                 "verify_token": "sandbox-verify-token", "access_token": "sandbox-access-token",
                                 "phone_number_id": "106540352242922", "display_phone_number": "15550783881"}
        overrides["sms"] = {"http_port": sms_port, "metrics_port": free_port(), "api_base": sandbox,
                            "account_sid": "AC" + "0" * 32,
                            "auth_token": "sandbox-auth-token", "from": "+15005550006",
                            "public_url": "http://127.0.0.1:%d" % sms_port}
        # The agent's reply passes the compliance gate (contact hours apply to agents) at commit
        # and at hand-off: on the test clock, a working morning in the debtor's zone.
        overrides["engine"] = dict(overrides.get("engine", {}), **TEST_CLOCK_OVERRIDES["engine"])
        use_workday_clock(redis.client())
        router = self.router(redis, overrides=overrides, start=False)
        origin = "http://127.0.0.1:%d" % router.http_port
        router.conf["console"]["allowed_origins"] = origin
        for ch in ("whatsapp", "sms"):
            router.conf[ch]["link_connect"] = router.link
            router.conf[ch].update(router.keys.connector_conf(ch))  # the link's CURVE keys
        write_conf(router.conf_path, router.conf)
        router.start()
        procs = []

        def start(name, args):
            log = os.path.join(self.workdir, name + ".log")
            self._logs.append((name, log))
            p = spawn(args, log, env=_clean_env(), cwd=self.workdir)
            procs.append(p)
            self.addCleanup(terminate, p)
            return p
        start("sandbox", ["/usr/bin/python3", os.path.join(SOURCE_DIR, "connectors", "sandbox", "sandbox.py"),
                          "--port", str(sandbox_port), "--config", router.conf_path, "--quiet"])
        for ch in ("whatsapp", "sms"):
            start(ch, [os.path.join(BUILD_DIR, "connectors", ch, "hilo-" + ch), "-c", router.conf_path])

        def healthy(url):
            try:
                with urllib.request.urlopen(url, timeout=2):
                    return True
            except OSError:
                return False
        wait_until(lambda: healthy(sandbox + "/healthz"), 20, "sandbox up")
        r = redis.client()
        seed_debtor(r, DEBTOR, [PHONE], full_name="Dana Browser", balance="1250.00")
        # A payment plan in the ledger as the engine writes it (promise_ledger.c), its first
        # instalment kept: the debtor panel lists the plan, then its instalments in order.
        plan = {"kind": "plan", "amount_cents": 62500, "currency": "USD", "instalments": 2,
                "total_cents": 125000, "state": "pending", "kept_instalments": 1,
                "instalment_ids": ["p1-aa.1", "p1-aa.2"]}
        inst = [{"kind": "promise", "plan": "p1-aa", "instalment": k, "of": 2, "amount_cents": 62500,
                 "currency": "USD", "due": due, "state": st}
                for k, due, st in ((1, "2026-12-01", "kept"), (2, "2027-01-01", "pending"))]
        r.hset(debtor_key(DEBTOR, "promises"), mapping={"p1-aa.2": json.dumps(inst[1]), "p1-aa": json.dumps(plan),
                                                        "p1-aa.1": json.dumps(inst[0])})
        add_agent(router.conf_path, "ana", name="Ana Agent", skills="en.collections")
        add_agent(router.conf_path, "sue", name="Sue Supervisor", role="supervisor", skills="")

        def debtor_says(channel, text):
            def sent():
                res = http_json("POST", sandbox + "/_sandbox/send", {"channel": channel, "from": PHONE, "text": text})
                return res.get("status") == 200
            wait_until(sent, 30, "the %s connector accepts the debtor's message" % channel, interval=0.5)
            wait_until(lambda: any(i.get("text") == text for _, i in history(r, DEBTOR)), 15,
                       "%s message in the thread" % channel)
        debtor_says("sms", "Hi, I got your letter about my account")
        debtor_says("whatsapp", "I would like to talk to a person please")

        env = dict(HILO_URL=origin + "/console/", HILO_AGENT="ana", HILO_SUPERVISOR="sue",
                   HILO_PASSWORD=PASSWORD, HILO_DEBTOR=DEBTOR, HILO_REPLY=REPLY)

        def on_step(step):
            if step == "escalate":
                escalate(r, DEBTOR, channel="whatsapp", reason="requested_agent", addr=PHONE)
            elif step == "replied":
                def recorded():
                    calls = http_json("GET", sandbox + "/_sandbox/calls?api=whatsapp")
                    return any(REPLY in json.dumps(c.get("body")) and c.get("response", {}).get("status") == 200
                               for c in calls)
                wait_until(recorded, 20, "the reply recorded by the sandbox's Graph API")
                hist = [i for _, i in history(r, DEBTOR) if i.get("dir") == "out"]
                self.assertEqual(hist[-1]["by"], "agent:ana")
                self.assertEqual(hist[-1]["ch"], "whatsapp")
            elif step == "restart":
                router.restart()
            elif step == "after-restart":
                debtor_says("whatsapp", "Are you still there after the restart?")
        run_spec(self, "console.spec.js", env, on_step)
        conv = r.hgetall("hilo:{d:%s}:conv" % DEBTOR)
        self.assertEqual(conv["state"], "closed")
        self.assertIn("promise_to_pay", conv["disposition"])
        for p in procs:
            self.assertIsNone(p.poll(), "a helper process died")


if __name__ == "__main__":
    unittest.main()
