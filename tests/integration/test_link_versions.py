"""Link protocol 1.1 next to 1.0 connectors (docs/protocol.md §10.1): a connector whose Hello does
not say supports_expiry still gets the bot's answers to the debtor's own messages (without an
expiry), but never a collector-initiated message; that one waits until a 1.1 connector of the
channel is there, and reaches it with Outbound.expires_in_ms at most [router] handoff_expiry_ms.

A real router with the engine, the reference connector (tests/lib/hilo_connector.py) in both
versions, the hilo CLI for the operator's send."""

import time
import unittest

from engine_helpers import EngineTestCase
from hilo_harness import cli_path, run_cli, wait_until

DEBTOR, PHONE = "D1002", "+16505550142"


@unittest.skipUnless(cli_path(), "the hilo CLI is not built")
class LinkVersions(EngineTestCase):
    def test_a_1_0_connector_gets_only_the_bots_replies(self):
        self.start_engine(channels=("whatsapp",))
        old = self.connector(self.router_, "sms", "sms-1.0", supports_expiry=False)
        self._conns["sms"] = old
        self.import_debtors([{"debtor_id": DEBTOR, "phones": [PHONE], "language": "en",
                              "timezone": "America/New_York", "country": "US"}])
        self.set_clock_local("America/New_York", 2026, 11, 24, 10, 0)
        d = self.debtor(DEBTOR, PHONE)
        t = d.say("sms", "hello")
        self.assertTrue(t.replies, "the bot answered through the 1.0 connector")
        self.assertTrue(all(o.expires_in_ms == 0 for o in t.outbounds), "no expiry for a 1.0 connector")

        oid = run_cli(self.router_.conf_path, "send", DEBTOR, "sms", "Your statement is ready.").stdout.strip()
        time.sleep(1.5)
        self.assertNotIn(oid, [o.outbound_id for o in old.outbounds],
                         "a collector-initiated message never goes to a 1.0 connector")
        new = self.connector(self.router_, "sms", "sms-1.1")
        got = wait_until(lambda: [o for o in new.outbounds if o.outbound_id == oid], 10,
                         "the operator's message at the 1.1 connector")
        self.assertGreater(got[0].expires_in_ms, 0)
        self.assertLessEqual(got[0].expires_in_ms, 2000)
        self.assertNotIn(oid, [o.outbound_id for o in old.outbounds])


if __name__ == "__main__":
    unittest.main()
