"""A running strategy survives kill -9 of a router, then of a connector, then a Redis restart
(issue 20, "Reliability"; docs/strategies.md, "Running a strategy").

A portfolio of N debtors (HILO_STRATEGY_RELIABILITY_N; CI runs a small N, the benchmark
tests/bench/strategy_reliability.sh runs 10,000) in a three-step strategy (WhatsApp, then an SMS a
day later, then another SMS a day later), against the real connectors and the provider sandbox,
days moved on the test clock. One failure per step:
  day 1: the router is killed (SIGKILL) while the WhatsApp steps go out, and started again;
  day 2: the SMS connector is killed while the first SMS steps go out, and started again;
  day 3: Redis is restarted while the last steps go out.
Between days the clock stands at 21:30 in the debtors' zone, when their steps are due but the
gate (US: 08:00-21:00) and the steps' windows forbid sending: nothing may reach a phone then.
At the end: no phone got a step twice, every debtor's run ended, and every step is either at the
phone or counted (failed, or unknown: the connector died during the provider's call, so the step
may or may not be at the phone, and it is never sent again).
"""

import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from connectors_stack import ConnectorStackCase  # noqa: E402
from engine_helpers import CLOCK_KEY, local_ms  # noqa: E402
from hilo_harness import cli_path, debtor_key, outbox_partition, run_cli, seed_debtor, wait_until  # noqa: E402

N = int(os.environ.get("HILO_STRATEGY_RELIABILITY_N", "150"))
TZ = "America/New_York"
NAME = "r_cadence"
DAY = 86400000
CLOCK_STEP_MS = 10000  # how far the clock moves when nothing moves (wait_all_past)

STRATEGY = """
[strategy]
name = r_cadence
priority = 10
state = paused
languages = en
default_language = en
company = Test Co
callback_phone = +1 650 555 0100

[segment all]
days_past_due = 1-
steps = s1 s2 s3

[step s1]
channel = whatsapp
template = hello_limited_v1
days = mon-sun
hours = 09:00-19:00
text.en = Hello, {company} has an important message for you. Reply here or call {callback_phone}. Reply STOP to opt out.
on.sent = next
on.failed = next

[step s2]
channel = sms
wait = 1d
days = mon-sun
hours = 09:00-19:00
text.en = {company} has an important message for you. Call {callback_phone}. Reply STOP to opt out.
on.sent = next
on.failed = next

[step s3]
channel = sms
wait = 1d
days = mon-sun
hours = 09:00-19:00
text.en = {company}: we are still trying to reach you. Call {callback_phone}. Reply STOP to opt out.
on.sent = end
on.failed = end
"""


def did(i):
    return "R%05d" % i


def phone(i):
    return "+1650%07d" % (2000000 + i)


@unittest.skipUnless(cli_path(), "the hilo CLI is not built")
class StrategyReliability(ConnectorStackCase):

    def clock(self, ms):
        self.r.set(CLOCK_KEY, str(ms))

    def states(self):
        p = self.r.pipeline(transaction=False)
        for i in range(N):
            p.hget(debtor_key(did(i), "conv"), "strat")
        out = []
        for v in p.execute():
            f = (v or "").split("|")
            out.append((f[0], f[4]) if len(f) == 12 else (None, None))
        return out

    def count(self, pred):
        return sum(1 for s in self.states() if pred(s))

    def funnel(self, step, metric):
        return int(self.r.hget("hilo:{s:%s}:funnel" % NAME, "default|%s|%s" % (step, metric)) or 0)

    def phone_counts(self):
        """{channel: [items per debtor]} from the sandbox's phones."""
        out = {"whatsapp": [0] * N, "sms": [0] * N}
        for i in range(N):
            for it in self.sandbox.phone(phone(i))["items"]:
                if it["dir"] == "out" and it["channel"] in out:
                    out[it["channel"]][i] += 1
        return out

    def wait_committed(self, step, share, timeout):
        want = max(1, int(N * share))
        wait_until(lambda: self.funnel(step, "committed") >= want, timeout,
                   lambda: "%d %s steps committed (%d)" % (want, step, self.funnel(step, "committed")))

    def wait_all_past(self, step, timeout):
        """Every debtor has its step `step` decided (sent, or counted as failed/unknown) and waits
        for the next one or has ended.

        Leases, a returned step's back-off and the give-up are on the test clock too
        (docs/architecture.md, "One clock"): while the clock stands still, a step held by a dead
        connector or given back by a busy one waits. So when nothing has moved for two seconds
        (no debtor's step, no phone), the clock moves on CLOCK_STEP_MS, within the day's hours:
        time passes only when the system has done what it could at this time."""
        later = {"s1": ("s2", "s3"), "s2": ("s3",), "s3": ()}[step]
        deadline = time.monotonic() + timeout
        last, still = None, 0
        while True:
            states = self.states()
            if sum(1 for s in states if s[0] == "end" or (s[0] == "due" and s[1] in later)) == N:
                return
            if time.monotonic() >= deadline:
                self.fail("timed out after %.1fs waiting for all %d debtors past %s: %s"
                          % (timeout, N, step, self.summary()))
            seen = (states, self.phone_counts())
            still = still + 1 if seen == last else 0
            last = seen
            if still >= 2:
                self.clock(int(self.r.get(CLOCK_KEY)) + CLOCK_STEP_MS)
                still = 0
            time.sleep(1.0)

    def summary(self):
        c, odd = {}, []
        states = self.states()
        for s in states:
            c[s] = c.get(s, 0) + 1
        common = max(c, key=c.get)
        for i, s in enumerate(states):  # what the debtors not with the others look like
            if s != common and len(odd) < 3:
                d = did(i)
                odd.append({"debtor": d, "sched": self.r.zscore("hilo:{p:%d}:sched" % outbox_partition(d), d),
                            "clock": self.r.get(CLOCK_KEY), "conv": self.r.hgetall(debtor_key(d, "conv")),
                            "ostat": self.r.hgetall(debtor_key(d, "ostat")), "oq": self.r.keys("hilo:{d:%s}:oq:*" % d)})
        return c, odd

    def settle_phones(self, timeout=60):
        """Waits until no phone has received anything for a second: the provider calls handed off
        before the clock moves are over (a call may outlast the router's lease: it is then counted
        unknown and still reaches the phone)."""
        last = [None]

        def stable():
            now = self.phone_counts()
            same = now == last[0]
            last[0] = now
            return same
        wait_until(stable, timeout, "the phones to settle", interval=1.0)

    def assert_quiet(self, seconds, what):
        before = self.phone_counts()
        time.sleep(seconds)
        after = self.phone_counts()
        changed = [i for i in range(N) for ch in after if after[ch][i] != before[ch][i]]
        detail = [{"debtor": did(i), "items": [(it["channel"], it["text"][:30]) for it in
                                               self.sandbox.phone(phone(i))["items"] if it["dir"] == "out"],
                   "strat": self.r.hget(debtor_key(did(i), "conv"), "strat"),
                   "ostat": self.r.hgetall(debtor_key(did(i), "ostat"))} for i in changed[:3]]
        if changed:
            self.fail("%s: %d phones got messages: %s" % (what, len(changed), json.dumps(detail)))

    def test_kill_router_then_connector_then_restart_redis(self):
        sdir = os.path.join(self.workdir, "strategies")
        os.makedirs(sdir)
        with open(os.path.join(sdir, "r.strategy"), "w") as f:
            f.write(STRATEGY)
        self.start_stack(engine=True, router_overrides={
            "engine": {"test_clock": "true"},
            "strategies": {"dir": sdir, "poll_ms": 100},
            "router": {"outbound_lease_ms": 3000}})
        conf = self.router_.conf_path
        p = self.r.pipeline(transaction=False)
        for i in range(N):
            seed_debtor(self.r, did(i), [phone(i)], pipe=p, language="en")
            for ch in ("whatsapp", "sms"):
                p.hset(debtor_key(did(i), "consent"), "%s:%s" % (ch, phone(i)), "granted|1795000000000|import")
        p.execute()
        t0 = time.time()

        # Day 1 (Tuesday), 10:00: start; the router dies while the WhatsApp steps go out.
        day1 = local_ms(TZ, 2026, 11, 24, 10, 0)
        self.clock(day1)
        run_cli(conf, "strategy", "start", NAME)
        self.wait_committed("s1", 0.3, 60)
        self.router_.kill9()
        self.router_.start()
        self.clock(day1 + 5 * 60000)  # past the dead router's claims (leases on the same clock)
        self.wait_all_past("s1", 120 + N / 20)

        # 21:30: the SMS steps are due and the gate is closed: nothing goes.
        self.settle_phones()
        self.clock(local_ms(TZ, 2026, 11, 25, 21, 30))
        self.assert_quiet(2.0, "nothing reaches a phone while the gate and the windows are closed")

        # Day 2 (Wednesday is past: Thursday 10:00): the SMS connector dies mid-way.
        day2 = local_ms(TZ, 2026, 11, 26, 10, 0)
        self.clock(day2)
        self.wait_committed("s2", 0.3, 60)
        sms = self.conns["sms"]
        sms.proc.kill()
        sms.proc.wait(10)
        self.start_connector("sms")
        # The steps the dead connector held come back when their leases end, on the test clock
        # (wait_all_past moves it when nothing else moves).
        self.wait_all_past("s2", 120 + N / 20)

        self.settle_phones()
        self.clock(local_ms(TZ, 2026, 11, 27, 21, 30))
        self.assert_quiet(2.0, "nothing reaches a phone while the gate and the windows are closed")

        # Day 3 (Saturday 10:00): Redis restarts while the last steps go out.
        day3 = local_ms(TZ, 2026, 11, 28, 10, 0)
        self.clock(day3)
        self.wait_committed("s3", 0.3, 60)
        self.redis_.restart()
        self.r = self.redis_.client()
        self.router_.wait_ready(30)
        # The reports of the steps in flight while Redis was down could not settle them: they
        # stay claimed until their leases end, on the test clock like everything else.
        self.clock(day3 + 5 * 60000)
        self.wait_all_past("s3", 120 + N / 20)
        elapsed = time.time() - t0

        # Settle the last reports, then count.
        time.sleep(2.0)
        counts = self.phone_counts()
        twice = [(did(i), ch, n) for ch, ns in counts.items() for i, n in enumerate(ns)
                 if (ch == "whatsapp" and n > 1) or (ch == "sms" and n > 2)]
        self.assertEqual(twice, [], "no debtor gets a step twice")
        self.assertEqual(self.count(lambda s: s[0] == "end"), N, self.summary())
        unknown = failed = 0
        for i in range(N):
            for v in self.r.hvals(debtor_key(did(i), "ostat")):
                st = json.loads(v).get("state")
                unknown += st == "unknown"
                failed += st in ("failed", "cancelled")
        delivered = sum(counts["whatsapp"]) + sum(counts["sms"])
        # An unknown step may have reached the phone (the connector died after the provider took
        # it) or not: it is counted, never sent again.
        self.assertLessEqual(delivered, 3 * N)
        self.assertGreaterEqual(delivered + unknown + failed, 3 * N,
                                "every step is at the phone or counted: %d at phones, %d unknown, %d failed"
                                % (delivered, unknown, failed))
        self.assertEqual(self.funnel("s2", "unknown") + self.funnel("s1", "unknown") + self.funnel("s3", "unknown"),
                         unknown, "the unknowns are in the strategy's report")
        print("strategy reliability: N=%d debtors, %d steps at phones, %d unknown, %d failed, %.1f s"
              % (N, delivered, unknown, failed, elapsed))


if __name__ == "__main__":
    unittest.main()
