"""A supervisor's powers in Debian's Chromium (tests/browser/admin.spec.js, playwright-core), with
two browser contexts (the agent ana and the supervisor sue): a whisper reaches ana live, marked as
one, and survives her reload; a take-over moves the conversation to sue, and ana is told who took
it; the Admin view lists the flow's queues with their agents; a forced logout closes ana's console
saying why; a disabled account cannot sign in. Real processes: redis-server, hilo-router (the
flow loaded), the hilo CLI. Screenshots: tests/artifacts/browser/admin-*.png."""

import json
import os
import unittest

from hilo_browser import CHROMIUM, NODE, playwright_ready, run_spec
from hilo_console import PASSWORD, add_agent, console_overrides, escalate
from hilo_harness import HiloTestCase, SOURCE_DIR, cli_path, debtor_key, seed_debtor, write_conf


@unittest.skipUnless(cli_path() and NODE and os.access(CHROMIUM, os.X_OK), "needs the CLI, node and /usr/bin/chromium")
class AdminBrowser(HiloTestCase):
    def test_takeover_whisper_and_admin_in_chromium(self):
        if not playwright_ready():
            self.skipTest("playwright-core is not installed (tests/browser/install.sh)")
        redis = self.redis()
        r = redis.client()
        overrides = console_overrides()
        overrides["engine"].update({"enabled": "true",
                                    "flow": os.path.join(SOURCE_DIR, "deploy", "flows", "collections.flow")})
        router = self.router(redis, overrides=overrides, start=False)
        router.conf["console"]["allowed_origins"] = "http://127.0.0.1:%d" % router.http_port
        write_conf(router.conf_path, router.conf)
        router.start()
        add_agent(router.conf_path, "ana", name="Ana Agent")
        add_agent(router.conf_path, "dora", name="Dora Disputes", skills="es.dispute,en.dispute")
        add_agent(router.conf_path, "sue", name="Sue Supervisor", role="supervisor", skills="")
        seed_debtor(r, "DA1", ["+16505551234"], full_name="Dana Admin")
        escalate(r, "DA1", channel="sms", addr="+16505551234")
        r.xadd(debtor_key("DA1", "hist"), {"j": json.dumps({"dir": "in", "ch": "sms", "kind": "text",
                                                            "text": "I want to talk to a person",
                                                            "recv_ms": 1795791600000})})
        env = dict(HILO_URL="http://127.0.0.1:%d/console/" % router.http_port, HILO_AGENT="ana",
                   HILO_SUPERVISOR="sue", HILO_PASSWORD=PASSWORD)
        run_spec(self, "admin.spec.js", env)
        # What the pages showed is what Redis holds.
        self.assertEqual(r.hget(debtor_key("DA1", "conv"), "agent"), "sue")
        self.assertEqual(r.hget("hilo:agent:ana", "disabled"), "1")


if __name__ == "__main__":
    unittest.main()
