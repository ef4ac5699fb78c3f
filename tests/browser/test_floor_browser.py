"""The supervisor's floor in Debian's Chromium (tests/browser/floor.spec.js, playwright-core):
opening a conversation from the floor's search box by debtor id, by phone number in several
spellings (through the router's phone library) and by a name only one debtor has (the name index
the import writes); after any failed
search no other debtor's conversation is left on the page. The floor's queues table shows the
SLA figure against the queue's targets. Screenshots of the floor at 1280×720 and 1920×1080.
Real processes: redis-server, hilo-router, the hilo CLI. Screenshots: tests/artifacts/browser/floor-*.png."""

import json
import os
import time
import unittest

from hilo_browser import CHROMIUM, NODE, playwright_ready, run_spec
from hilo_console import PASSWORD, add_agent, console_overrides, escalate
from hilo_harness import HiloTestCase, cli_path, debtor_key, import_debtors, write_conf

DEBTORS = (("DB1", "+16505551234", "Dana Browser"), ("DB2", "+16505559876", "Omar Other"))


@unittest.skipUnless(cli_path() and NODE and os.access(CHROMIUM, os.X_OK), "needs the CLI, node and /usr/bin/chromium")
class FloorBrowser(HiloTestCase):
    def test_floor_search_and_layout_in_chromium(self):
        if not playwright_ready():
            self.skipTest("playwright-core is not installed (tests/browser/install.sh)")
        redis = self.redis()
        r = redis.client()
        overrides = console_overrides()
        overrides["identity"] = {"default_country_code": "1"}
        router = self.router(redis, overrides=overrides, start=False)
        router.conf["console"]["allowed_origins"] = "http://127.0.0.1:%d" % router.http_port
        write_conf(router.conf_path, router.conf)
        router.start()
        add_agent(router.conf_path, "ana", name="Ana Agent")
        add_agent(router.conf_path, "sue", name="Sue Supervisor", role="supervisor", skills="")
        import_debtors(router.conf_path, self.workdir,
                       [{"debtor_id": did, "full_name": name, "phones": phone} for did, phone, name in DEBTORS])
        for did, phone, name in DEBTORS:
            escalate(r, did, channel="sms", addr=phone)
            r.xadd(debtor_key(did, "hist"), {"j": json.dumps({"dir": "in", "ch": "sms", "kind": "text",
                                                              "text": "message from " + name,
                                                              "recv_ms": 1795791600000})})
        # Today's first-response verdicts on the queue (UTC business day, the router's clock):
        # 3 of 4 within the target, shown as 75 %.
        r.hset("hilo:{q:en.collections}:sla:%d" % (int(time.time()) // 86400), mapping={"met": 3, "breached": 1})
        env = dict(HILO_URL="http://127.0.0.1:%d/console/" % router.http_port, HILO_SUPERVISOR="sue",
                   HILO_PASSWORD=PASSWORD)
        run_spec(self, "floor.spec.js", env)


if __name__ == "__main__":
    unittest.main()
