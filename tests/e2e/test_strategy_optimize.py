"""The contact optimizer in the strategy runner (docs/optimizer.md, "In the router").

A strategy whose one step is `channel = best` (WhatsApp or SMS) with `hours = best` runs through
the real router (engine on, test clock), hilo-whatsapp / hilo-sms / hilo-voice and the provider
sandbox. Each debtor's decision is in its audit (arm, why, sampled value, what the gate removed);
nothing reaches the sandbox before the chosen hour (the debtors enter at 22:00 local, outside the
US pack's hours); each message goes on the chosen arm's channel at its hour; payments imported
afterwards credit the arms, and `hilo optimizer show --json` reports the decisions and the
payments. The Redis commands on the optimizer's cell keys are counted (MONITOR): at most one per
decision and one per credited result; the decision itself reads no cell from Redis.
"""

import json
import os
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from connectors_stack import ConnectorStackCase  # noqa: E402
from engine_helpers import CLOCK_KEY, audit, local_ms  # noqa: E402
from hilo_harness import cli_path, debtor_key, run_cli, wait_until  # noqa: E402

TZ = "America/New_York"
TUESDAY_10PM = local_ms(TZ, 2026, 11, 24, 22, 0)
WEDNESDAY = [local_ms(TZ, 2026, 11, 25, h, 1) for h in (8, 11, 14, 17)]  # each hour bucket's start
THURSDAY_9AM = local_ms(TZ, 2026, 11, 26, 9, 0)
NAME = "t_best"
CELL = "d30.b100.US.en.any"  # days_past_due 45, balance 300, US, en, no product

STRATEGY = """
[strategy]
name = t_best
priority = 10
state = paused
languages = en
default_language = en
company = Test Co
callback_phone = +1 650 555 0100

[segment all]
days_past_due = 1-
steps = b1

[step b1]
channel = best
channels = whatsapp sms
template = hello_limited_v1
days = mon-sun
hours = best
text.en = Hello, {company} has an important message for you. Call {callback_phone}. Reply STOP to opt out.
on.sent = end
"""

DEBTORS = ["OB1", "OB2", "OB3", "OB4", "OB5", "OB6"]
NO_WHATSAPP = "OB6"  # opted out of WhatsApp: the gate removes it from the allowed set


def phone_of(i):
    return "+1650555%04d" % (2000 + i)


@unittest.skipUnless(cli_path(), "the hilo CLI is not built")
class StrategyOptimize(ConnectorStackCase):

    def start(self):
        sdir = os.path.join(self.workdir, "strategies")
        os.makedirs(sdir, exist_ok=True)
        with open(os.path.join(sdir, "t.strategy"), "w") as f:
            f.write(STRATEGY)
        self.start_stack(engine=True, router_overrides={"engine": {"test_clock": "true"},
                                                        "strategies": {"dir": sdir, "poll_ms": 100}})
        self.conf = self.router_.conf_path

    def monitor(self):
        """Every command Redis runs from now on, as MONITOR prints them (a real connection)."""
        self.seen = []
        mon = self.redis_.client().monitor()
        mon.__enter__()

        def listen():
            try:
                for cmd in mon.listen():
                    if cmd.get("client_type") != "lua":  # not the commands inside a script
                        self.seen.append(cmd["command"])
            except Exception:  # the connection closes with the test
                pass
        threading.Thread(target=listen, daemon=True).start()

        def stop():
            try:
                mon.connection.disconnect()
            except Exception:  # the listener's own read may have closed it
                pass
        self.addCleanup(stop)

    def clock(self, ms):
        self.r.set(CLOCK_KEY, str(ms))

    def strat(self, did):
        f = (self.r.hget(debtor_key(did, "conv"), "strat") or "").split("|")
        return {"st": f[0], "step": f[4], "at": int(f[6] or 0), "why": f[9]} if len(f) == 12 else None

    def events(self, did, event):
        return [f["j"] for _, f in audit(self.r, did, "strategy") if f["j"].get("event") == event]

    def sent(self, i):
        return [(ch, it) for ch in ("whatsapp", "sms") for it in self.sandbox.outbound_items(phone_of(i), ch)]

    def show(self):
        p = run_cli(self.conf, "optimizer", "show", CELL, "--json", check=False)
        return json.loads(p.stdout) if p.returncode == 0 and p.stdout.strip() else None

    def test_best_step_decides_inside_the_gate_and_results_reach_the_model(self):
        self.start()
        for i, did in enumerate(DEBTORS):
            self.seed(did, phone_of(i), language="en", days_past_due="45", balance="300", country="US")
            for ch in ("whatsapp", "sms"):
                self.r.hset(debtor_key(did, "consent"), "%s:%s" % (ch, phone_of(i)), "granted|1795000000000|import")
        self.r.hset(debtor_key(NO_WHATSAPP, "conv"), "optout:whatsapp", "1795000000000")
        self.monitor()
        # 22:00 in New York: outside the US pack's hours. Every debtor is decided for, nobody is sent to.
        self.clock(TUESDAY_10PM)
        run_cli(self.conf, "strategy", "start", NAME)
        plan = {}
        for did in DEBTORS:
            s = wait_until(lambda: (lambda s: s if s and s["st"] == "due" else None)(self.strat(did)), 20,
                           lambda: "%s is due later: %s" % (did, self.strat(did)))
            plan[did] = s
        time.sleep(1.5)
        for i, _ in enumerate(DEBTORS):
            self.assertEqual(self.sent(i), [], "nothing goes out at 22:00")
        treated = [did for did in DEBTORS if plan[did]["why"].startswith("opt:")]
        held = [did for did in DEBTORS if did not in treated]
        self.assertGreaterEqual(len(treated), 4, plan)  # the holdout is 10 %: most debtors are treated
        arms = {}
        for did in treated:
            dec = self.events(did, "optimizer")
            self.assertEqual(len(dec), 1, dec)
            d = dec[0]
            self.assertIn(d["why"], ("sampled", "floor", "only"), d)
            self.assertEqual(d["cell"], CELL, d)
            self.assertEqual(d["step"], "b1", d)
            self.assertIn("value", d)
            self.assertGreaterEqual(d["at_ms"], WEDNESDAY[0] - 60000, d)  # tomorrow, at the bucket's hour
            self.assertEqual(d["at_ms"], plan[did]["at"], (d, plan[did]))
            arms[did] = d["arm"]
        if NO_WHATSAPP in treated:
            d = self.events(NO_WHATSAPP, "optimizer")[0]
            self.assertEqual(d["removed"].get("whatsapp"), "opted_out", d)
            self.assertEqual(d["allowed"], 4, d)
            self.assertTrue(d["arm"].startswith("sms@"), d)
        for did in treated:
            if did != NO_WHATSAPP:
                self.assertEqual(self.events(did, "optimizer")[0]["allowed"], 8)
        # Wednesday: the clock walks the four hour buckets. At each, the debtors whose arm's hour
        # has come get their message on their arm's channel; the others still have nothing.
        for k, at in enumerate(WEDNESDAY):
            self.clock(at)
            for did in DEBTORS:
                i = DEBTORS.index(did)
                due = plan[did]["at"] <= at
                if due:
                    wait_until(lambda: self.sent(i), 20, lambda: "%s's message at %d" % (did, k))
            time.sleep(0.5)
            for did in DEBTORS:
                i = DEBTORS.index(did)
                if plan[did]["at"] > at:
                    self.assertEqual(self.sent(i), [], "%s: nothing before its hour (bucket %d)" % (did, k))
        for did in treated:
            got = self.sent(DEBTORS.index(did))
            self.assertEqual(len(got), 1, got)
            self.assertEqual(got[0][0], arms[did].split("@")[0], (did, arms[did], got))
        for did in held:  # the holdout keeps the fixed cadence: the first channel, at the fallback's start
            got = self.sent(DEBTORS.index(did))
            self.assertEqual([g[0] for g in got], ["whatsapp"] if did != NO_WHATSAPP else [], (did, got))
            if did != NO_WHATSAPP:
                self.assertEqual([e["why"] for e in self.events(did, "optimizer")], ["holdout"])
        # Every decision sent is counted on its arm.
        o = wait_until(lambda: (lambda o: o if o and o["decisions"] == len(treated) else None)(self.show()), 15,
                       lambda: "the decisions in the model: %s" % self.show())
        by_arm = {a["arm"]: a for a in o["arms"]}
        for arm in set(arms.values()):
            self.assertEqual(by_arm[arm]["decisions"], list(arms.values()).count(arm), (arm, by_arm[arm]))
        self.assertEqual(o["treated"]["weeks"], len(treated), o)
        # Thursday the payments arrive (dated Thursday): each credits its debtor's arm.
        self.clock(THURSDAY_9AM)
        path = os.path.join(self.workdir, "payments.csv")
        with open(path, "w") as f:
            f.write("debtor_id,amount,currency,paid_at,reference\n")
            for n, did in enumerate(DEBTORS):
                f.write("%s,50.00,USD,2026-11-26,P%d\n" % (did, n))
        self.assertEqual(run_cli(self.conf, "import-payments", path).returncode, 0)
        o = wait_until(lambda: (lambda o: o if o and sum(a["promises_or_payments"] for a in o["arms"]) == len(treated)
                                else None)(self.show()), 20, lambda: "the payments in the model: %s" % self.show())
        by_arm = {a["arm"]: a for a in o["arms"]}
        for arm in set(arms.values()):
            self.assertEqual(by_arm[arm]["promises_or_payments"], list(arms.values()).count(arm), by_arm[arm])
        self.assertEqual(o["treated"]["promises_or_payments"], len(treated), o)
        for did in treated:
            cr = self.events(did, "optimizer_credit")
            self.assertEqual([(c["result"], c["arm"], c["amount"]) for c in cr], [("paid", arms[did], 50.0)], cr)
        # A second look at the same results credits nothing twice.
        run_cli(self.conf, "strategy", "start", NAME)
        time.sleep(1.5)
        self.assertEqual(sum(a["promises_or_payments"] for a in self.show()["arms"]), len(treated))
        # Round trips: the commands on the cells' keys, besides the per-sweep refresh (GET), are at
        # most one per decision sent and one per credited result.
        on_cells = [c for c in self.seen if "hilo:{o:" in c]
        writes = [c for c in on_cells if c.startswith("EVALSHA ")]
        reads = [c for c in on_cells if c.startswith("GET ")]
        credited = sum(len(self.events(did, "optimizer_credit")) for did in DEBTORS)
        sends = len(treated) + len([d for d in held if d != NO_WHATSAPP])
        self.assertGreater(len(writes), 0)
        self.assertLessEqual(len(writes), sends + credited, writes)
        self.assertFalse([c for c in on_cells if not (c.startswith("EVALSHA ") or c.startswith("GET "))], on_cells)
        print("optimizer e2e: %d decisions (%d sends, %d credits): %d cell writes, %d refresh reads"
              % (len(treated), sends, credited, len(writes), len(reads)), file=sys.stderr)


if __name__ == "__main__":
    unittest.main()
