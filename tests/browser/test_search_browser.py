"""The console's search box in Debian's Chromium (tests/browser/search.spec.js), over debtors
imported by the real CLI (the name index is written by `hilo import-debtors`): an agent types a
name in another case and without its accents, a debtor id and a phone in its national spelling,
and finds only their own conversation; a supervisor finds everyone's. Real processes:
redis-server, hilo-router, the connectors and the provider sandbox. Screenshots:
tests/artifacts/browser/search-*.png."""

import os
import unittest

from hilo_browser import CHROMIUM, NODE, console_stack, playwright_ready, run_spec
from hilo_console import PASSWORD, add_agent, escalate
from hilo_harness import HiloTestCase, cli_path, import_debtors

MINE, OTHER = ("S-1", "Camila Rojas Pérez", "+16505551234"), ("S-2", "Ana Pérez Núñez", "+16505559876")


@unittest.skipUnless(cli_path() and NODE and os.access(CHROMIUM, os.X_OK), "needs the CLI, node and /usr/bin/chromium")
class SearchBrowser(HiloTestCase):
    def test_search_by_name_id_and_phone(self):
        if not playwright_ready():
            self.skipTest("playwright-core is not installed (tests/browser/install.sh)")
        stack = console_stack(self)
        router, r = stack.router, stack.r
        import_debtors(router.conf_path, self.workdir,
                       [{"debtor_id": d, "full_name": n, "phones": p} for d, n, p in (MINE, OTHER)])
        add_agent(router.conf_path, "ana", name="Ana Agent", skills="en.collections")
        add_agent(router.conf_path, "boss", name="Sue Supervisor", role="supervisor", skills="")
        # S-2 has a conversation, in a queue nobody of ana's skills serves: not hers.
        escalate(r, OTHER[0], skill="es.dispute", channel="sms", addr=OTHER[2])
        env = dict(HILO_URL=stack.origin + "/console/", HILO_AGENT="ana", HILO_SUPERVISOR="boss",
                   HILO_PASSWORD=PASSWORD, HILO_DEBTOR=MINE[0], HILO_OTHER=OTHER[0])

        def on_step(step):
            if step == "offer":
                escalate(r, MINE[0], channel="sms", addr=MINE[2])
        run_spec(self, "search.spec.js", env, on_step)


if __name__ == "__main__":
    unittest.main()
