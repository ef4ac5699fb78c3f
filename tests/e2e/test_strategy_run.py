"""Outbound strategies, running (docs/strategies.md, "Running a strategy").

A strategy file in its own folder, `hilo strategy start`, and the router's strategy runner sends
its steps through the gate at hand-off to the real connectors and the provider sandbox, following
the results (delivered, replied, failed) and stopping the moment the debtor pays. Days pass on the
test clock (hilo:test:now_ms), which the runner, the gate and the engine all read.

Real redis-server, hilo-router (engine on, test clock, [strategies] dir), the hilo CLI (start,
report, import-payments), hilo-whatsapp / hilo-sms / hilo-voice and the sandbox. The debtors are
in America/New_York (US pack: contact hours 08:00-21:00).
"""

import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from connectors_stack import ConnectorStackCase  # noqa: E402
from engine_helpers import CLOCK_KEY, audit, local_ms  # noqa: E402
from hilo_harness import cli_path, debtor_key, outbox_partition, run_cli, wait_until  # noqa: E402

TZ = "America/New_York"
TUESDAY_10AM = local_ms(TZ, 2026, 11, 24, 10, 0)
FRIDAY_9AM = local_ms(TZ, 2026, 11, 27, 9, 0)
FRIDAY_1030 = local_ms(TZ, 2026, 11, 27, 10, 30)
NAME = "t_reminders"

# Limited-content texts (no amount, no debt detail) with the opt-out notice the US pack asks for:
# `hilo strategy check` (which the router applies on load) accepts them for unverified debtors.
STRATEGY = """
[strategy]
name = t_reminders
priority = 10
state = paused
languages = en es
default_language = en
company = Test Co
callback_phone = +1 650 555 0100

[segment all]
days_past_due = 1-
steps = wa sms later

[step wa]
channel = whatsapp
template = hello_limited_v1
days = mon-sun
hours = 09:00-19:00
text.en = Hello, {company} has an important message for you. Reply here or call {callback_phone}. Reply STOP to opt out.
text.es = Hola, {company} tiene un mensaje importante para usted. Llame al {callback_phone}. Responda STOP para no recibir más mensajes.
within = 4h
on.timeout = sms
on.failed = sms
on.delivered = later
on.replied = end

[step sms]
channel = sms
days = mon-sun
hours = 09:00-19:00
text.en = {company} has an important message for you. Call {callback_phone}. Reply STOP to opt out.
text.es = {company} tiene un mensaje importante para usted. Llame al {callback_phone}. Resp. STOP para no recibir más.
on.sent = later
on.replied = end

[step later]
channel = sms
wait = 3d
days = mon-fri
hours = 10:00-18:00
text.en = {company}: we are still trying to reach you. Call {callback_phone}. Reply STOP to opt out.
text.es = {company}: seguimos intentando comunicarnos con usted. Llame al {callback_phone}. Resp. STOP para no recibir más.
on.sent = end
on.replied = end
"""


def phone_of(i):
    return "+1650555%04d" % (1000 + i)


@unittest.skipUnless(cli_path(), "the hilo CLI is not built")
class StrategyRun(ConnectorStackCase):

    def start(self, routers=1, extra_overrides=None):
        sdir = os.path.join(self.workdir, "strategies")
        os.makedirs(sdir, exist_ok=True)
        with open(os.path.join(sdir, "t.strategy"), "w") as f:
            f.write(STRATEGY)
        extra = {"engine": {"test_clock": "true"}, "strategies": {"dir": sdir, "poll_ms": 100}}
        extra.update(extra_overrides or {})
        self.start_stack(engine=True, router_overrides=extra)
        self.conf = self.router_.conf_path
        self.routers = [self.router_]
        for n in range(1, routers):  # more routers on the same Redis, without connectors
            ov = self.engine_overrides()
            for sec, items in extra.items():
                ov.setdefault(sec, {}).update(items)
            self.routers.append(self.router(self.redis_, name="router-%d" % (n + 1), overrides=ov))

    def clock(self, ms):
        self.r.set(CLOCK_KEY, str(ms))

    def debtor(self, did, phone, consent=("whatsapp", "sms"), **fields):
        fields.setdefault("language", "en")
        self.seed(did, phone, **fields)
        for ch in consent:
            self.r.hset(debtor_key(did, "consent"), "%s:%s" % (ch, phone), "granted|1795000000000|import")

    def strat(self, did):
        s = self.r.hget(debtor_key(did, "conv"), "strat") or ""
        f = s.split("|")
        return {"st": f[0], "strategy": f[1], "step": f[4], "last": f[5], "at": int(f[6] or 0),
                "oid": f[8], "why": f[9]} if len(f) == 12 else None

    def wait_strat(self, did, pred, timeout, what):
        return wait_until(lambda: (lambda s: s if s and pred(s) else None)(self.strat(did)), timeout,
                          lambda: "%s: %s (strat %s)" % (did, what, self.r.hget(debtor_key(did, "conv"), "strat")))

    def texts(self, phone, channel):
        return self.sandbox.outbound_items(phone, channel)

    def strategy_items(self, did):
        return [it for it in self.thread(did) if it.get("by") == "strategy:" + NAME]

    def report(self):
        out = run_cli(self.conf, "strategy", "report", NAME, "--json").stdout
        rows = json.loads(out)["funnel"]
        return {(r["variant"], r["step"], r["metric"]): r["count"] for r in rows}

    def pay(self, did, amount, reference="P1"):
        path = os.path.join(self.workdir, "payments-%s.csv" % reference)
        with open(path, "w") as f:
            f.write("debtor_id,amount,currency,paid_at,reference\n%s,%s,USD,2026-11-27,%s\n" % (did, amount, reference))
        return run_cli(self.conf, "import-payments", path)

    def strategy_audit(self, did):
        return [f["j"] for _, f in audit(self.r, did, "strategy")]

    # ------------------------------------------------------------------------------------------

    def test_cadence_follows_the_results_and_days_pass_on_the_test_clock(self):
        self.start()
        phone = phone_of(1)
        self.debtor("D1", phone)
        self.clock(TUESDAY_10AM)
        p = run_cli(self.conf, "strategy", "start", NAME)
        self.assertIn("running", p.stdout)
        # Day 0: the WhatsApp template, delivered (the sandbox reports it) -> `later` in 3 days.
        wait_until(lambda: self.texts(phone, "whatsapp"), 15, "the WhatsApp step at the phone")
        s = self.wait_strat("D1", lambda s: s["st"] == "due" and s["step"] == "later", 15, "later is due")
        self.assertGreaterEqual(s["at"], TUESDAY_10AM + 3 * 86400000, s)
        # The result segments may ask for (last_result = delivered).
        self.assertEqual(self.r.hget(debtor_key("D1", "conv"), "strat_result"), "delivered")
        items = self.strategy_items("D1")
        self.assertEqual([(it["ch"], it.get("template")) for it in items], [("whatsapp", "hello_limited_v1")], items)
        # Nothing more before its time.
        time.sleep(1.0)
        self.assertEqual(self.texts(phone, "sms"), [])
        # Day 3 (Friday), inside the step's hours: the SMS, then the run ends.
        self.clock(FRIDAY_1030)
        wait_until(lambda: self.texts(phone, "sms"), 15, "the day-3 SMS")
        self.wait_strat("D1", lambda s: s["st"] == "end", 15, "the run ended")
        time.sleep(1.0)
        self.assertEqual(len(self.texts(phone, "whatsapp")), 1, "each step once")
        self.assertEqual(len(self.texts(phone, "sms")), 1, "each step once")
        self.assertIn("still trying to reach you", self.texts(phone, "sms")[0]["text"])
        rep = self.report()
        self.assertEqual(rep.get(("default", "wa", "committed")), 1, rep)
        self.assertEqual(rep.get(("default", "wa", "sent")), 1, rep)
        self.assertEqual(rep.get(("default", "wa", "delivered")), 1, rep)
        self.assertEqual(rep.get(("default", "later", "committed")), 1, rep)
        self.assertEqual(rep.get(("default", "later", "ended")), 1, rep)
        # The audit has what changed the course (skips, stops, the end), not every schedule.
        events = [e["event"] for e in self.strategy_audit("D1")]
        self.assertEqual(events, ["ended"], events)

    def test_pays_at_nine_never_gets_the_ten_oclock_step(self):
        self.start()
        phone = phone_of(2)
        self.debtor("D2", phone)
        self.clock(TUESDAY_10AM)
        run_cli(self.conf, "strategy", "start", NAME)
        self.wait_strat("D2", lambda s: s["st"] == "due" and s["step"] == "later", 20, "later is due")
        # Friday 9:00 the payment file arrives (paid in full); the step was due at 10:00.
        self.clock(FRIDAY_9AM)
        p = self.pay("D2", "100.00")
        self.assertEqual(p.returncode, 0, p.stderr)
        s = self.wait_strat("D2", lambda s: s["st"] == "stop", 10, "stopped by the payment")
        self.assertEqual(s["why"], "paid", s)
        self.clock(FRIDAY_1030)
        time.sleep(2.0)
        self.assertEqual(self.texts(phone, "sms"), [], "nobody is chased after paying")
        self.assertEqual(self.strat("D2")["st"], "stop")
        stops = [e for e in self.strategy_audit("D2") if e["event"] == "stopped"]
        self.assertEqual([e["reason"] for e in stops], ["paid"], stops)
        rep = self.report()
        self.assertEqual(rep.get(("default", "later", "stopped:paid")), 1, rep)
        # The payment came within the attribution window (default) after the WhatsApp step.
        self.assertEqual(rep.get(("default", "wa", "paid")), 1, rep)
        self.assertEqual(rep.get(("default", "wa", "collected_cents")), 10000, rep)

    def test_a_step_committed_then_held_by_a_payment_is_never_sent(self):
        """The SMS step is committed while no SMS connector is attached; the payment holds it in
        the same atomic step that records the payment, and the gate at hand-off cancels it when
        the connector comes back. The WhatsApp step is skipped first: the debtor opted out of it."""
        self.start()
        phone = phone_of(3)
        self.debtor("D3", phone)
        self.r.hset(debtor_key("D3", "conv"), "optout:whatsapp", "1795000000000")
        self.conns["sms"].stop()
        self.clock(TUESDAY_10AM)
        run_cli(self.conf, "strategy", "start", NAME)
        s = self.wait_strat("D3", lambda s: s["st"] == "out" and s["step"] == "sms", 15, "the SMS step committed")
        oid = s["oid"]
        self.assertTrue(self.r.hexists(debtor_key("D3", "out"), oid), "queued, not handed off")
        skipped = [e for e in self.strategy_audit("D3") if e["event"] == "skipped"]
        self.assertEqual([(e["step"], e["reason"]) for e in skipped], [("wa", "opted_out")], skipped)
        self.assertEqual(self.pay("D3", "100.00").returncode, 0)
        self.assertIn(self.strat("D3")["st"], ("hold", "stop"))
        self.start_connector("sms")
        # The router may have handed the step to the stopped connector before it saw it leave
        # (its heartbeats time out): that lease ends on the test clock, like everything else.
        self.clock(TUESDAY_10AM + 10001)
        st = wait_until(lambda: (lambda v: json.loads(v) if v else None)(
            self.r.hget(debtor_key("D3", "ostat"), oid)), 15, "the held step is cancelled at hand-off")
        self.assertEqual((st["state"], st["reason"]), ("cancelled", "strategy_stopped"), st)
        self.wait_strat("D3", lambda s: s["st"] == "stop" and s["why"] == "paid", 10, "stopped: paid")
        time.sleep(1.0)
        self.assertEqual(self.texts(phone, "sms"), [], "the held step never reached the phone")
        self.assertEqual(self.texts(phone, "whatsapp"), [])

    def test_a_reply_ends_the_run(self):
        self.start()
        phone = phone_of(4)
        self.debtor("D4", phone)
        self.clock(TUESDAY_10AM)
        run_cli(self.conf, "strategy", "start", NAME)
        self.wait_strat("D4", lambda s: s["st"] == "due" and s["step"] == "later", 20, "later is due")
        self.clock(TUESDAY_10AM + 3600000)  # an hour later the debtor answers
        r = self.sandbox.send("whatsapp", phone, "hello")
        self.assertEqual(r["status"], 200, r)
        s = self.wait_strat("D4", lambda s: s["st"] == "end", 15, "the reply ends the run (on.replied = end)")
        self.assertEqual(s["why"], "replied", s)
        self.assertEqual(self.r.hget(debtor_key("D4", "conv"), "strat_result"), "replied")
        self.clock(FRIDAY_1030)
        time.sleep(2.0)
        self.assertEqual(self.texts(phone, "sms"), [], "no day-3 SMS after a reply")
        self.assertEqual(self.report().get(("default", "wa", "replied")), 1, self.report())

    def test_what_follows_a_step_is_counted_for_it(self):
        """Within the attribution window after the WhatsApp step, the debtor answers (the run
        ends), verifies, promises and then opts out: each counts once for the step and variant
        (funnel verified, promised, opted_out), also after the run ended."""
        self.start()
        phone = phone_of(5)
        self.debtor("D5", phone)
        self.clock(TUESDAY_10AM)
        run_cli(self.conf, "strategy", "start", NAME)
        self.wait_strat("D5", lambda s: s["st"] == "due" and s["step"] == "later", 20, "later is due")
        self.clock(TUESDAY_10AM + 3600000)

        def say(text, want):
            before = len([it for it in self.thread("D5") if it["dir"] == "out"])
            self.assertEqual(self.sandbox.send("whatsapp", phone, text)["status"], 200)
            outs = wait_until(lambda: (lambda o: o if len(o) > before else None)(
                [it for it in self.thread("D5") if it["dir"] == "out"]), 15, "the bot's answer to %r" % text)
            self.assertIn(want, " ".join(it["text"] for it in outs[before:]))
        say("I can pay", "last 4 digits")
        self.wait_strat("D5", lambda s: s["st"] == "end", 15, "the reply ends the run")
        say("4321", "How much")
        say("50 on 11/30", "confirm")
        say("1", "50.00")

        def counted(metric):
            return self.report().get(("default", "wa", metric))
        wait_until(lambda: counted("verified") == 1 and counted("promised") == 1, 15,
                   lambda: "verified and promised counted for the step (report %s)" % self.report())
        self.assertEqual(self.sandbox.send("whatsapp", phone, "STOP")["status"], 200)
        wait_until(lambda: counted("opted_out") == 1, 15, lambda: "the opt-out counted (report %s)" % self.report())
        # Each once: more turns change nothing.
        self.sandbox.send("whatsapp", phone, "START")
        time.sleep(1.5)
        rep = self.report()
        self.assertEqual([rep.get(("default", "wa", m)) for m in ("replied", "verified", "promised", "opted_out")],
                         [1, 1, 1, 1], rep)

    def test_paused_sends_nothing_and_two_routers_send_each_step_once(self):
        self.start(routers=2)
        n = 12
        for i in range(n):
            self.debtor("M%02d" % i, phone_of(100 + i))
        self.clock(TUESDAY_10AM)
        # The file says paused and nobody started it: nothing goes.
        for i in range(n):  # as an import does
            self.r.zadd("hilo:{p:%d}:sched" % outbox_partition("M%02d" % i), {"M%02d" % i: 0})
        time.sleep(1.5)
        self.assertEqual(sum(len(self.texts(phone_of(100 + i), "whatsapp")) for i in range(n)), 0)
        run_cli(self.conf, "strategy", "start", NAME)
        for i in range(n):
            self.wait_strat("M%02d" % i, lambda s: s["st"] == "due" and s["step"] == "later", 30, "later is due")
        time.sleep(1.0)
        counts = [len(self.texts(phone_of(100 + i), "whatsapp")) for i in range(n)]
        self.assertEqual(counts, [1] * n, "one WhatsApp step per debtor, whichever router decided")
        self.assertEqual(self.report().get(("default", "wa", "committed")), n, self.report())
        looks = [rt.metrics().value("hilo_strategy_looks_total") for rt in self.routers]
        self.assertTrue(all(v > 0 for v in looks), "both routers ran the strategy: %s" % looks)

    def test_the_report_counts_what_each_sent_step_cost_by_channel_and_country(self):
        # [costs]: a price per channel and country of the number, and the channel's own for any
        # other country (not used here: both numbers have a line of their own).
        costs = {"currency": "USD", "sms": "0.03", "whatsapp": "0.04", "sms.US": "0.0079",
                 "whatsapp.CO": "0.0125"}
        self.start(extra_overrides={"costs": costs})
        us, co = phone_of(7), "+573001234567"
        self.debtor("US1", us)
        self.r.hset(debtor_key("US1", "conv"), "optout:whatsapp", "1795000000000")  # its first step: the SMS
        self.debtor("CO1", co, consent=("whatsapp",), country="CO", timezone="America/Bogota")
        self.clock(TUESDAY_10AM)  # 10:00 in New York and in Bogotá
        run_cli(self.conf, "strategy", "start", NAME)
        wait_until(lambda: self.texts(us, "sms") and self.texts(co, "whatsapp"), 20, "the two steps at the phones")
        key = ("default", "sms", "cost_micros:USD"), ("default", "wa", "cost_micros:USD")
        wait_until(lambda: all(k in self.report() for k in key), 15, lambda: "the costs in %r" % self.report())
        time.sleep(1.0)  # later reports (delivered, read) add nothing
        rep = self.report()
        self.assertEqual((rep[key[0]], rep[key[1]]), (7900, 12500), rep)
        self.assertEqual(rep.get(("default", "sms", "sent")), 1, rep)
        rows = json.loads(run_cli(self.conf, "strategy", "report", NAME, "--json").stdout)["funnel"]
        amounts = {(r["step"], r["currency"], r["amount"]) for r in rows if r["metric"].startswith("cost_micros:")}
        self.assertEqual(amounts, {("sms", "USD", "0.007900"), ("wa", "USD", "0.012500")}, rows)
        text = run_cli(self.conf, "strategy", "report", NAME).stdout
        self.assertRegex(text, r"cost\s+0\.012500 USD", text)


if __name__ == "__main__":
    unittest.main()
