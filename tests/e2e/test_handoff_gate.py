"""The compliance gate at hand-off, and a debtor's messages in order (docs/architecture.md,
"Outbound: the gate at hand-off").

Found from outside: the provider answered 503 three times, the debtor texted STOP meanwhile, and
the connector's own retry delivered the reminder after the STOP. Now no message leaves for a
provider unless the gate allowed it at most handoff_expiry_ms before: a connector gives back what
it cannot hand off (RETURNED), the router asks the gate again before the next try, and what the
gate refuses is cancelled with its reason — never sent.

Real redis-server, hilo-router (engine on, test clock), the hilo CLI (`hilo send`), the real
connectors and the provider sandbox (its failure rules make the Twilio / Graph API answer 503 or
answer slowly). The debtor is in America/New_York, under the US pack (contact hours 08:00-21:00).
Leases and the return back-off are on the test clock, like the gate (docs/architecture.md, "One
clock"): the tests move the clock past them.
"""

import json
import os
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from connectors_stack import ConnectorProc, ConnectorStackCase, connector_conf  # noqa: E402
from engine_helpers import CLOCK_KEY, audit, local_ms  # noqa: E402
from hilo_harness import (cli_path, commit_strategy_step, debtor_key, free_port, run_cli, wait_until,  # noqa: E402
                          write_conf)

PHONE = "+16505551234"
TZ = "America/New_York"
TUESDAY_10AM = local_ms(TZ, 2026, 11, 24, 10, 0)  # an ordinary working day, not a holiday
REMINDER = "Recordatorio: su cuota vence el viernes."


@unittest.skipUnless(cli_path(), "the hilo CLI is not built")
class HandoffGate(ConnectorStackCase):

    def start(self, lease_ms=10000, **kw):
        self.start_stack(engine=True,
                         router_overrides={"engine": {"test_clock": "true"},
                                           "router": {"outbound_lease_ms": lease_ms}},
                         connector_overrides={ch: {"retry_min_ms": 200, "retry_max_ms": 1000}
                                              for ch in ("whatsapp", "sms", "voice")}, **kw)

    def clock(self, ms):
        self.r.set(CLOCK_KEY, str(ms))

    def send(self, text, *opts, channel="sms", debtor="D1"):
        p = run_cli(self.router_.conf_path, "send", *opts, debtor, channel, text)
        return p.stdout.strip()

    def twilio_calls(self, oid):
        """The sandbox's Messages.json calls for one of our outbound ids (its StatusCallback
        carries ?ob=<id>), oldest first, as [status]."""
        calls = [c for c in self.sandbox.calls("twilio") if isinstance(c.get("body"), dict)
                 and ("ob=" + oid) in (c["body"].get("StatusCallback") or "")]
        return [c["response"]["status"] for c in sorted(calls, key=lambda c: c["id"])]

    def phone_texts(self, channel="sms"):
        return [i["text"] for i in self.sandbox.outbound_items(PHONE, channel)]

    def wait_state(self, oid, state, timeout):
        return wait_until(lambda: self.ostat("D1").get(oid) if self.ostat("D1").get(oid, {}).get("state") == state
                          else None, timeout,
                          lambda: "%s becomes %s (ostat %s, odisp %s)" % (oid, state, self.ostat("D1"),
                                                                          self.r.hgetall(debtor_key("D1", "odisp"))))

    def assert_never_sent(self, oid, text):
        statuses = self.twilio_calls(oid)
        self.assertNotIn(201, statuses, "the provider accepted the cancelled message: %s" % statuses)
        self.assertNotIn(text, self.phone_texts(), "the debtor's phone got the cancelled message")
        self.assertFalse(self.r.hexists(debtor_key("D1", "out"), oid), "cancelled, no longer pending")

    def assert_cancel_shown(self, oid, reason):
        """The reason is in the status (the thread and the console show it), the audit and the CLI."""
        st = self.ostat("D1")[oid]
        self.assertEqual((st["state"], st["reason"]), ("cancelled", reason), st)
        evs = [f for _, f in audit(self.r, "D1", "outbound_cancelled") if f.get("ref") == oid]
        self.assertEqual(len(evs), 1, audit(self.r, "D1"))
        self.assertEqual(evs[0]["reason"], reason)
        out = run_cli(self.router_.conf_path, "thread", "D1").stdout
        line = [ln for ln in out.splitlines() if REMINDER[:20] in ln]
        self.assertTrue(line and "cancelled" in line[0] and st["error"] in line[0], out)

    # ------------------------------------------------------------------------------------------

    def test_stop_during_provider_503s_cancels_the_reminder(self):
        self.start()
        self.seed("D1", PHONE, language="es")
        self.clock(TUESDAY_10AM)
        self.sandbox.fail(api="twilio", status=503, count=3)
        oid = self.send(REMINDER)
        # The connector does not retry by itself: each 503 goes back to the router (1 s, 2 s...
        # on the test clock).
        wait_until(lambda: len(self.twilio_calls(oid)) >= 1, 15, lambda: "the first 503: %s" % self.twilio_calls(oid))
        self.assertEqual(self.twilio_calls(oid), [503])
        self.clock(TUESDAY_10AM + 1500)  # past the first back-off
        wait_until(lambda: len(self.twilio_calls(oid)) >= 2, 15, lambda: "two 503s: %s" % self.twilio_calls(oid))
        r = self.sandbox.send("sms", PHONE, "STOP")
        self.assertEqual(r["status"], 200, r)
        wait_until(lambda: self.r.hget(debtor_key("D1", "conv"), "optout:sms"), 10, "the opt-out recorded")
        self.clock(TUESDAY_10AM + 4000)  # past the second back-off: the gate is asked again
        self.wait_state(oid, "cancelled", 20)
        self.clock(TUESDAY_10AM + 10000)  # past the back-off of a 503 the confirmation may get
        self.assert_never_sent(oid, REMINDER)
        self.assert_cancel_shown(oid, "opted_out")
        self.assertTrue(all(s == 503 for s in self.twilio_calls(oid)), self.twilio_calls(oid))
        # The opt-out's confirmation (the bot's, allowed after STOP) went on after the cancel.
        wait_until(lambda: len(self.phone_texts()) >= 1, 15, lambda: "the STOP confirmation: %s" % self.phone_texts())
        m = self.router_.metrics()
        self.assertGreaterEqual(m.value("hilo_outbound_returned_total", channel="sms"), 2)
        self.assertEqual(m.value("hilo_outbound_cancelled_total", channel="sms"), 1)

    def test_connector_killed_holding_a_message_then_stop_then_lease_expiry(self):
        self.start(lease_ms=3000)
        self.seed("D1", PHONE, language="es")
        self.clock(TUESDAY_10AM)
        sms = self.conns["sms"]
        os.kill(sms.proc.pid, signal.SIGSTOP)  # takes the Outbound off the link, never calls
        try:
            oid = self.send(REMINDER)
            wait_until(lambda: self.router_.metrics().value("hilo_outbound_sent_total", channel="sms") >= 1, 10,
                       "the router handed the message to the connector")
        finally:
            os.kill(sms.proc.pid, signal.SIGKILL)
            sms.proc.wait(10)
        self.start_connector("sms")
        r = self.sandbox.send("sms", PHONE, "STOP")
        self.assertEqual(r["status"], 200, r)
        wait_until(lambda: self.r.hget(debtor_key("D1", "conv"), "optout:sms"), 10, "the opt-out recorded")
        # The lease runs out (on the test clock); the router asks the gate again, which now says no.
        self.clock(TUESDAY_10AM + 3001)
        self.wait_state(oid, "cancelled", 15)
        self.assertEqual(self.twilio_calls(oid), [], "the provider was never called for the reminder")
        self.assert_never_sent(oid, REMINDER)
        self.assert_cancel_shown(oid, "opted_out")

    def test_strategy_step_never_sent_twice_when_the_connector_dies_during_the_call(self):
        """At most once (protocol 1.2): the connector reports CALLING, the router records it, the
        provider is called (slowly) and the connector is killed before it can report. The lease
        runs out: the step is settled unknown instead of going to the connector that took its
        place — the phone has one copy, the provider one call."""
        self.start(lease_ms=3000, channels=("sms",))
        self.seed("D1", PHONE, language="es")
        self.clock(TUESDAY_10AM)
        self.sandbox.fail(api="twilio", delay_ms=4000, count=1)  # answered after the kill
        oid = "o-step-e2e-1"
        commit_strategy_step(self.r, "D1", PHONE, oid, REMINDER)
        wait_until(lambda: json.loads(self.r.hget(debtor_key("D1", "odisp"), oid) or "{}").get("calling") == 1, 10,
                   "the connector's CALLING recorded")
        sms = self.conns["sms"]
        time.sleep(0.5)  # the provider call is under way
        os.kill(sms.proc.pid, signal.SIGSTOP)
        os.kill(sms.proc.pid, signal.SIGKILL)
        sms.proc.wait(10)
        self.start_connector("sms")
        self.clock(TUESDAY_10AM + 3001)  # the lease runs out (on the test clock)
        st = self.wait_state(oid, "unknown", 15)
        self.assertEqual((st["reason"], st.get("strat")), ("connector_lost_during_call", 1), st)
        wait_until(lambda: REMINDER in self.phone_texts(), 10, "the one copy the provider took")
        self.clock(TUESDAY_10AM + 6002)  # a lease more: nothing goes out again
        time.sleep(1.5)
        self.assertEqual(self.phone_texts().count(REMINDER), 1, self.phone_texts())
        self.assertEqual(self.twilio_calls(oid), [201])
        self.assertEqual(self.router_.metrics().value("hilo_outbound_unknown_total", channel="sms"), 1)
        self.assertEqual(self.ostat("D1")[oid]["state"], "unknown")

    def test_2059_then_2101_under_the_test_clock(self):
        self.start()
        self.seed("D1", PHONE, language="es")
        self.clock(local_ms(TZ, 2026, 11, 24, 20, 59))
        self.sandbox.fail(api="twilio", status=503, count=2)
        oid = self.send(REMINDER)
        wait_until(lambda: len(self.twilio_calls(oid)) >= 1, 10, "the first try (503)")
        self.clock(local_ms(TZ, 2026, 11, 24, 21, 1))  # the provider is back, contact hours are over
        self.wait_state(oid, "cancelled", 15)
        self.assert_never_sent(oid, REMINDER)
        self.assert_cancel_shown(oid, "outside_contact_hours")

    def test_wait_for_the_next_window(self):
        """`hilo send --wait-window`: refused for the hour, the message waits for 08:00 in the
        debtor's zone instead of being cancelled (due then, on the gate's clock), and a later
        message waits behind it (order)."""
        self.start()
        self.seed("D1", PHONE, language="es")
        self.clock(local_ms(TZ, 2026, 11, 24, 20, 59))
        self.sandbox.fail(api="twilio", status=503, count=1)
        oid = self.send(REMINDER, "--wait-window")
        wait_until(lambda: len(self.twilio_calls(oid)) >= 1, 10, "the first try (503)")
        nine_pm = local_ms(TZ, 2026, 11, 24, 21, 1)
        self.clock(nine_pm)
        disp = wait_until(lambda: (lambda d: d if d.get("why") == "outside_contact_hours" else None)(
            json.loads(self.r.hget(debtor_key("D1", "odisp"), oid) or "{}")), 15, "the message waits for its window")
        opens = local_ms(TZ, 2026, 11, 25, 8, 0)
        self.assertEqual(disp["due"], opens, disp)
        self.assertNotIn(oid, self.ostat("D1"), "not cancelled")
        self.assertTrue(self.r.hexists(debtor_key("D1", "out"), oid), "still pending")
        self.assertEqual(self.twilio_calls(oid), [503])
        # A later message to the same debtor waits behind it (order), though written later.
        later = self.send("Segundo mensaje", "--wait-window")
        self.clock(opens - 60000)  # 07:59: nothing goes yet
        time.sleep(1.0)
        self.assertEqual((self.twilio_calls(oid), self.twilio_calls(later)), ([503], []), "both wait for 08:00")
        self.clock(opens + 3600000)  # 09:00: the first goes, then the second
        wait_until(lambda: len(self.phone_texts()) >= 2, 15, lambda: "both on the phone: %s" % self.phone_texts())
        self.assertEqual(self.phone_texts(), [REMINDER, "Segundo mensaje"], "the second went after the first")

    # --- order -------------------------------------------------------------------------------

    def check_order(self, debtors):
        """Every debtor's phone got the bot's replies in the thread's order."""
        for d, phone in debtors:
            outs = self.wait_items(d, lambda it: it["dir"] == "out", 2, 15, "two replies or more")
            want = [it["text"] for it in outs]
            wait_until(lambda: len([i for i in self.sandbox.outbound_items(phone, "whatsapp")]) >= len(want), 20,
                       lambda: "%s: every reply on the phone" % d)
            got = [i["text"] for i in self.sandbox.outbound_items(phone, "whatsapp")]
            self.assertEqual(got, want, "%s: the phone's order is the thread's" % d)

    def test_a_bot_turn_reaches_whatsapp_in_thread_order(self):
        self.start()
        self.seed("D1", PHONE, language="es")
        self.clock(TUESDAY_10AM)
        # The provider answers the turn's first reply (the greeting) slowly: a later reply sent
        # meanwhile would overtake it.
        self.sandbox.fail(api="whatsapp", delay_ms=1500, count=1, match="le saluda")
        self.assertEqual(self.sandbox.send("whatsapp", PHONE, "hola")["status"], 200)
        self.check_order([("D1", PHONE)])

    def test_order_with_two_routers_and_two_connectors(self):
        """A second router on the same Redis with its own WhatsApp and SMS connectors: the bot's
        turns (their inbound reaches router 1; their replies go out through either router's
        WhatsApp connector, whichever claims the debtor first) and operator sends (committed by
        the CLI; router 1 has no SMS connector, so router 2 sends them) keep each debtor's order."""
        self.start(channels=("whatsapp", "voice"))
        self.clock(TUESDAY_10AM)
        r2 = self.router(self.redis_, name="router-2", overrides=self.peer_overrides())
        wd2 = os.path.join(self.workdir, "second")
        os.makedirs(wd2, exist_ok=True)
        ports2 = {ch: free_port() for ch in self.ports}
        conf2 = os.path.join(wd2, "connectors.conf")
        overrides = {ch: dict((self.connector_overrides or {}).get(ch, {}), instance="%s-2" % ch)
                     for ch in ("whatsapp", "sms")}
        write_conf(conf2, connector_conf(r2, {ch: ports2[ch] for ch in ("whatsapp", "sms")}, wd2,
                                         self.sandbox.base, overrides))
        second = []
        for ch in ("whatsapp", "sms"):
            c = ConnectorProc(ch, wd2, conf2, ports2[ch])
            self._logs.append(("hilo-%s-2" % ch, c.log_path))
            self.addCleanup(c.stop_and_check)
            second.append(c.start())
        bots = [("D%d" % i, "+1650555%04d" % (1000 + i)) for i in range(1, 4)]
        sends = [("D%d" % i, "+1650555%04d" % (1000 + i)) for i in range(4, 8)]
        for d, phone in bots + sends:
            self.seed(d, phone, language="es")
        # Every call answered after 200 ms: calls overlap, and a message sent out of turn would
        # overtake the one before it.
        self.sandbox.fail(api="whatsapp", delay_ms=200, count=100)
        self.sandbox.fail(api="twilio", delay_ms=200, count=100)
        for _, phone in bots:
            self.assertEqual(self.sandbox.send("whatsapp", phone, "hola")["status"], 200)
        texts = {d: ["Aviso %s número %d de 3" % (d, n) for n in range(1, 4)] for d, _ in sends}
        for n in range(3):
            for d, _ in sends:
                self.send(texts[d][n], debtor=d)
        self.check_order(bots)
        for d, phone in sends:
            wait_until(lambda: len(self.sandbox.outbound_items(phone, "sms")) >= 3, 20,
                       lambda: "%s: three SMS on the phone" % d)
            self.assertEqual([i["text"] for i in self.sandbox.outbound_items(phone, "sms")], texts[d],
                             "%s: the phone's order is the committed order" % d)
        # Both routers and the second connectors took part.
        sent = [sum(rt.metrics().value("hilo_outbound_sent_total", channel=ch) for ch in ("whatsapp", "sms"))
                for rt in (self.router_, r2)]
        self.assertTrue(all(x > 0 for x in sent), "both routers dispatched: %s" % sent)
        self.assertGreater(sum(c.metrics().value("hilo_connector_outbound_total", result="sent") for c in second), 0)

    def peer_overrides(self):
        o = self.engine_overrides()
        o["engine"]["test_clock"] = "true"
        return o


if __name__ == "__main__":
    unittest.main(verbosity=2)
