"""A text over 1600 characters goes out as several SMS, each with its own Twilio MessageSid and
its own status callbacks: every part has a state, and the message's state follows its parts.

`hilo send` commits a 2000-character SMS; the router hands it to the real hilo-sms, which makes
two Messages.json calls on the provider sandbox; the sandbox calls each part's StatusCallback
(sent, then delivered or undelivered). Then:
  - multipart SMS with a failed second part (the sandbox's {"deliver": "failed", "skip": 1}):
    the message is failed, naming part 2 and its error, with each part's state recorded; and
    `hilo thread` says so;
  - all parts delivered: the message becomes delivered (it used to stay "sent": part 2's
    callbacks matched nothing, and part 1's only after the connector's own SENT).
Every callback is matched (hilo_delivery_unmatched_total stays 0).

Real redis-server, hilo-router, hilo-sms and the sandbox (tests/e2e/connectors_stack.py)."""

import os
import sys
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from connectors_stack import ConnectorStackCase  # noqa: E402
from hilo_harness import TEST_CLOCK_OVERRIDES, run_cli, use_workday_clock, wait_until  # noqa: E402

PHONE = "+16505551234"
DEBTOR = "D-8001"
TIMEOUT = 20
TEXT = ("Estimada Ana, le recordamos que su saldo vence pronto. " * 40)[:2000]  # two SMS parts


class SmsParts(ConnectorStackCase):

    def setUp(self):
        super().setUp()
        self.start_stack(engine=False, channels=("sms",), connector_overrides={"sms": {"max_parts": 3}},
                         router_overrides=TEST_CLOCK_OVERRIDES)
        self.seed(DEBTOR, PHONE, language="es")
        use_workday_clock(self.r)  # the gate at hand-off: within contact hours whatever the real time

    def send_long(self):
        out = run_cli(self.router_.conf_path, "send", DEBTOR, "sms", TEXT)
        oid = out.stdout.strip()
        self.assertTrue(oid, out)
        return oid

    def part_calls(self, oid):
        """The accepted Messages.json calls of our message, as {part: (Body, callback query)}."""
        calls = {}
        for c in self.sandbox.calls("twilio"):
            cb = (c.get("body") or {}).get("StatusCallback", "")
            q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(cb).query))
            if q.get("ob") == oid and c["response"]["status"] == 201:
                calls[int(q.get("part", 0))] = (c["body"]["Body"], q)
        return calls

    def check_calls(self, oid):
        calls = wait_until(lambda: (lambda c: c if len(c) == 2 else None)(self.part_calls(oid)), TIMEOUT,
                           lambda: "two Messages.json calls for %s (have %s)" % (oid, self.part_calls(oid)))
        self.assertEqual(sorted(calls), [1, 2])
        for k, (_, q) in calls.items():
            self.assertEqual(q, {"ob": oid, "d": DEBTOR, "part": str(k), "parts": "2"})
        self.assertEqual(calls[1][0] + " " + calls[2][0], TEXT.strip())

    def settled(self, oid, state):
        def check():
            st = self.ostat(DEBTOR).get(oid)
            parts = (st or {}).get("part_states") or {}
            final = all(parts.get(k, {}).get("state") not in (None, "sent") for k in ("1", "2"))
            return st if st and st.get("state") == state and final and st.get("report") else None
        return wait_until(check, TIMEOUT, lambda: "%s %s with both parts reported (ostat %s)"
                          % (oid, state, self.ostat(DEBTOR).get(oid)))

    def test_multipart_sms_with_a_failed_second_part(self):
        self.sandbox.fail(api="twilio", deliver="failed", to=PHONE, skip=1)
        oid = self.send_long()
        st = self.settled(oid, "failed")
        self.check_calls(oid)
        self.assertEqual((st["rank"], st["failed_part"], st["parts"]), (4, 2, 2), st)
        self.assertEqual((st["error_code"], st["error"]), ("30003", "unreachable destination handset"))
        parts = st["part_states"]
        self.assertEqual({k: v["state"] for k, v in parts.items()}, {"1": "delivered", "2": "failed"})
        self.assertNotEqual(parts["1"]["pmid"], parts["2"]["pmid"])
        self.assertTrue(all(v["pmid"].startswith("SM") for v in parts.values()), parts)
        self.assertEqual(parts["2"]["error_code"], "30003")
        self.assertEqual(st["report"]["state"], "sent")  # the connector's own report: both calls accepted
        self.assertEqual(st["pmid"], parts["1"]["pmid"])
        # The sandbox's phone agrees: part 1 delivered, part 2 undelivered.
        items = self.sandbox.outbound_items(PHONE, "sms")
        self.assertEqual(sorted(i["status"] for i in items), ["delivered", "undelivered"])
        # The thread says which part failed and why.
        out = run_cli(self.router_.conf_path, "thread", DEBTOR).stdout
        self.assertIn("[failed (part 2 of 2: 30003 unreachable destination handset)]", out)
        self.assertEqual(self.router_.metrics().value("hilo_delivery_unmatched_total"), 0)
        self.assertFalse(self.r.hexists("hilo:{d:%s}:out" % DEBTOR, oid), "settled: never re-sent")

    def test_multipart_sms_all_parts_delivered(self):
        oid = self.send_long()
        st = self.settled(oid, "delivered")
        self.check_calls(oid)
        self.assertEqual((st["rank"], st["parts"]), (2, 2), st)
        self.assertNotIn("failed_part", st)
        self.assertEqual({k: v["state"] for k, v in st["part_states"].items()},
                         {"1": "delivered", "2": "delivered"})
        out = run_cli(self.router_.conf_path, "thread", DEBTOR).stdout
        self.assertIn("[delivered (2 parts: 1 delivered, 2 delivered)]", out)
        self.assertEqual(self.router_.metrics().value("hilo_delivery_unmatched_total"), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
