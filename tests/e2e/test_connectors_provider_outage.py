"""The provider's API answering 500 for a while (acceptance 5): the bot's outbound messages are
retried with backoff and delivered exactly once when the API recovers — never sent twice. The
connector does not retry by itself (protocol 1.1): it returns the message to the router, which
asks the compliance gate again and hands it over again after a growing delay. The debtor's later
messages wait behind the first (per-debtor order), so only the first sees the failures.

Real redis-server, hilo-router (engine on), the connectors and the provider sandbox, whose
failure injection (POST /_sandbox/fail) makes the Graph / Twilio API answer 500."""

import collections
import json
import os
import sys
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from connectors_stack import ConnectorStackCase  # noqa: E402
from hilo_harness import wait_until  # noqa: E402

PHONE = "+16505551234"
OUTAGE_S = 4.0
LEASE_MS = 1500  # shorter than the outage: the router re-sends the unsettled Outbound meanwhile


class ProviderOutage(ConnectorStackCase):

    def start(self):
        self.start_stack(engine=True, router_overrides={"router": {"outbound_lease_ms": LEASE_MS}},
                         connector_overrides={ch: {"retry_min_ms": 200, "retry_max_ms": 2000,
                                                   "retry_give_up_ms": 60000}
                                              for ch in ("whatsapp", "sms", "voice")})

    def check_calls(self, calls, oids, ok_status, channel):
        """calls: [(oid, record)] for our outbound ids, oids in committed order. Exactly one
        success per id; the first id's failed attempts spaced by a growing delay; the later ids
        called only after the first one's success (they wait behind it)."""
        by_oid = collections.defaultdict(list)
        for oid, c in calls:
            by_oid[oid].append(c)
        for n, oid in enumerate(oids):
            got = sorted(by_oid[oid], key=lambda c: c["id"])
            statuses = [c["response"]["status"] for c in got]
            self.assertEqual(statuses.count(ok_status), 1, "%s %s: %s" % (channel, oid, statuses))
            self.assertEqual(statuses[-1], ok_status, "%s %s: nothing after the success: %s" % (channel, oid, statuses))
            fails = [c for c in got if c["response"]["status"] == 500]
            if n > 0:
                first_ok = [c for c in by_oid[oids[0]] if c["response"]["status"] == ok_status][0]
                self.assertEqual(fails, [], "%s %s waits behind the first message: %s" % (channel, oid, statuses))
                self.assertGreater(got[0]["id"], first_ok["id"], "%s %s called after the first one" % (channel, oid))
                continue
            # Backoff, not a busy loop: a handful of attempts over the outage.
            self.assertGreaterEqual(len(fails), 2, "%s %s: %s" % (channel, oid, statuses))
            self.assertLessEqual(len(fails), 12, "%s %s: %s" % (channel, oid, statuses))
            gaps = [b["ms"] - a["ms"] for a, b in zip(got, got[1:])]
            if os.environ.get("HILO_E2E_VERBOSE"):
                print("%s %s: statuses %s, gaps ms %s" % (channel, oid, statuses, gaps), file=sys.stderr)
            if len(gaps) >= 3:
                self.assertGreater(max(gaps[2:]), gaps[0], "%s %s: delays do not grow: %s" % (channel, oid, gaps))
        return by_oid

    def test_whatsapp_500_then_recovery_delivers_once(self):
        self.start()
        self.seed("D1", PHONE, language="en")
        self.sandbox.fail(api="whatsapp", status=500, seconds=OUTAGE_S)
        r = self.sandbox.send("whatsapp", PHONE, "hello")
        self.assertEqual(r["status"], 200, r)  # the inbound side is not affected
        outs = self.wait_items("D1", lambda it: it["dir"] == "out", 1, 10, "the bot's replies")
        oids = [it["oid"] for it in outs]
        wait_until(lambda: all(self.ostat("D1").get(o, {}).get("state") in ("delivered", "read") for o in oids),
                   OUTAGE_S + 20, lambda: "every reply delivered after the outage (ostat %s)" % self.ostat("D1"))
        calls = [((c["body"].get("biz_opaque_callback_data") or "").split("|")[0], c) for c in self.sandbox.calls("whatsapp")
                 if isinstance(c.get("body"), dict)]
        self.check_calls([(o, c) for o, c in calls if o in oids], oids, 200, "whatsapp")
        # The connector gave the message back on each 500 and the router handed it over again.
        self.assertGreaterEqual(self.router_.metrics().value("hilo_outbound_returned_total", channel="whatsapp"), 2)
        self.assertGreater(self.router_.metrics().value("hilo_outbound_sent_total", channel="whatsapp"), len(oids))
        m = self.conns["whatsapp"].metrics()
        self.assertGreaterEqual(m.value("hilo_connector_outbound_total", result="returned"), 2)
        self.assertEqual(m.value("hilo_connector_outbound_total", result="sent"), len(oids))
        # The debtor's phone shows each reply once.
        texts = [i["text"] for i in self.sandbox.outbound_items(PHONE, "whatsapp")]
        self.assertEqual(sorted(texts), sorted(it["text"] for it in outs), json.dumps(texts))

    def test_twilio_sms_500_then_recovery_delivers_once(self):
        self.start()
        self.seed("D2", PHONE, language="en")
        self.sandbox.fail(api="twilio", status=500, seconds=OUTAGE_S)
        r = self.sandbox.send("sms", PHONE, "hello")
        self.assertEqual(r["status"], 200, r)
        outs = self.wait_items("D2", lambda it: it["dir"] == "out", 1, 10, "the bot's replies")
        oids = [it["oid"] for it in outs]
        wait_until(lambda: all(self.ostat("D2").get(o, {}).get("state") == "delivered" for o in oids),
                   OUTAGE_S + 20, lambda: "every reply delivered after the outage (ostat %s)" % self.ostat("D2"))
        calls = [(dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(c["body"].get("StatusCallback") or "").query))
                  .get("ob"), c)
                 for c in self.sandbox.calls("twilio") if isinstance(c.get("body"), dict)]
        self.check_calls([(o, c) for o, c in calls if o in oids], oids, 201, "sms")
        self.assertEqual(self.conns["sms"].metrics().value("hilo_connector_outbound_total", result="sent"), len(oids))
        texts = [i["text"] for i in self.sandbox.outbound_items(PHONE, "sms")]
        self.assertEqual(sorted(texts), sorted(it["text"] for it in outs), json.dumps(texts))


if __name__ == "__main__":
    unittest.main(verbosity=2)
