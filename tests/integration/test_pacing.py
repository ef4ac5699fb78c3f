"""Pacing: per-sender rate limits shared by every router, at hand-off (docs/architecture.md,
"Pacing").

Two real routers on one real Redis, each with its own reference SMS connector; both connectors
announce our two numbers A and B (protocol 1.3), and each debtor last wrote to one of them (conv
`via:sms`), so its message goes out from that number. [pacing] gives every SMS sender 10
messages per second with a burst of 10. The routers run on the test clock, which the test moves
one second at a time: the hand-offs counted at the connectors never go past the burst plus the
rate times the seconds passed, over any window of whole seconds (an upper bound: a loaded
machine can only make it smaller), whichever router and connector handed them; sender B is
paced on its own (its burst goes while A's backlog waits, the clock not moving); nothing is
dropped or cancelled: every message arrives once. The bot's answer to a debtor's own message
does not wait behind a strategy's bulk from the same number: `reply_reserve_pct` of the burst is
kept for replies. A bad [pacing] line stops the router with FILE:LINE.
"""

import os
import subprocess
import threading
import time
import unittest

from engine_helpers import EngineTestCase
from hilo_harness import (ROUTER_BIN, SOURCE_DIR, TEST_CLOCK_KEY, TEST_CLOCK_OVERRIDES, WORKDAY_10AM_MS, HiloTestCase,
                          _clean_env, cli_path, debtor_key, lua_script, run_cli, seed_debtor, use_workday_clock,
                          wait_until)

A_NUM, B_NUM = "+15550001111", "+15550002222"
RATE, BURST = 10, 10
N_A, N_B = 60, 10
PACE_DEFAULT = "default"  # the key of a message without a sender of its own (pacing.h)
PACING = {"enabled": "true", "sms": str(RATE), "sms_burst": str(BURST), "reply_reserve_pct": "0"}


class Pacing(HiloTestCase):
    def setUp(self):
        if cli_path() is None:
            self.skipTest("the hilo CLI ($HILO_BUILD_DIR/router/cli/hilo) is not built")
        super().setUp()

    def test_one_sender_is_paced_across_two_routers(self):
        redis = self.redis()
        r = redis.client()
        use_workday_clock(r)
        overrides = {**TEST_CLOCK_OVERRIDES, "pacing": PACING,
                     "router": {"outbound_poll_ms": 50, "outbound_lease_ms": 600000}}
        routers = [self.router(redis, name="router-%d" % i, overrides=overrides) for i in (1, 2)]
        lock = threading.Lock()
        step = [0]          # the test clock's second, set before the clock moves
        arrivals = []       # (second, from, outbound id)

        def on_outbound(_conn, o):
            with lock:
                arrivals.append((step[0], getattr(o, "from"), o.outbound_id))

        for i, rt in enumerate(routers):
            self.connector(rt, "sms", instance="sms-%d" % i, senders=[A_NUM, B_NUM], on_outbound=on_outbound)

        def debtors(prefix, n, num):
            ids = ["%s%03d" % (prefix, i) for i in range(n)]
            for i, d in enumerate(ids):
                seed_debtor(r, d, ["+1650%s%04d" % ("555" if prefix == "A" else "556", i)])
                r.hset(debtor_key(d, "conv"), "via:sms", num)  # the number the debtor wrote to
            return ids

        def count(num, upto=None):
            with lock:
                return sum(1 for s, f, _ in arrivals if f == num and (upto is None or s <= upto))

        a_ids = debtors("A", N_A, A_NUM)
        b_ids = debtors("B", N_B, B_NUM)
        for d in a_ids:
            run_cli(routers[0].conf_path, "send", d, "sms", "Recordatorio de pago")
        # The clock stands still: A's burst goes, and nothing more of A however long we wait.
        wait_until(lambda: count(A_NUM) >= BURST, 30, lambda: "A's burst (have %d)" % count(A_NUM))
        time.sleep(2.5)
        self.assertEqual(count(A_NUM), BURST, "sender A went past its burst while the clock stood still")
        # B is paced on its own: its messages go while A's backlog waits, the clock unmoved.
        for d in b_ids:
            run_cli(routers[1].conf_path, "send", d, "sms", "Recordatorio de pago")
        wait_until(lambda: count(B_NUM) >= N_B, 30, lambda: "B's messages (have %d)" % count(B_NUM))
        self.assertEqual(count(A_NUM), BURST)

        # The clock moves a second at a time; each second frees RATE slots of A.
        seconds = 0
        deadline = time.monotonic() + 120
        while count(A_NUM) < N_A and time.monotonic() < deadline:
            seconds += 1
            with lock:
                step[0] = seconds  # before the clock moves: an arrival is never counted early
            r.set(TEST_CLOCK_KEY, str(WORKDAY_10AM_MS + seconds * 1000))
            # Everything due by now has gone once nothing arrives for longer than a revisit.
            last, quiet_since = count(A_NUM), time.monotonic()
            while time.monotonic() - quiet_since < 1.6:
                time.sleep(0.1)
                if count(A_NUM) != last:
                    last, quiet_since = count(A_NUM), time.monotonic()
            self.assertLessEqual(count(A_NUM), BURST + RATE * seconds,
                                 "more than the burst plus %d/s after %d s" % (RATE, seconds))
        with lock:
            per_second = [sum(1 for s, f, _ in arrivals if f == A_NUM and s == k) for k in range(seconds + 1)]
        # Over any window of whole seconds: at most the burst plus the rate per second.
        for i in range(len(per_second)):
            for j in range(i, len(per_second)):
                self.assertLessEqual(sum(per_second[i:j + 1]), BURST + RATE * (j - i),
                                     "seconds %d..%d: %r" % (i, j, per_second))
        # Never dropped, never cancelled: every message arrived, once, through both routers.
        with lock:
            ids = [oid for _, _, oid in arrivals]
        self.assertEqual(count(A_NUM), N_A, per_second)
        self.assertEqual(len(ids), len(set(ids)), "a message was handed off twice")
        self.assertEqual(len(ids), N_A + N_B)
        for d in a_ids + b_ids:
            self.assertEqual(r.hlen(debtor_key(d, "odisp")), 1, "%s's message is not pending" % d)
        paced = sum(rt.metrics().value("hilo_outbound_paced_total", channel="sms") for rt in routers)
        self.assertGreater(paced, 0, "the waits are counted")
        self.assertEqual(sum(rt.metrics().value("hilo_outbound_cancelled_total", channel="sms") for rt in routers), 0)

    def test_the_script_grants_the_rate_and_spreads_the_waiting(self):
        """router/lua/pacing.lua on a real Redis with the clock given (as under the test clock):
        10/s (an interval of 100 ms), three at once; those that must wait are told to come back
        one slot apart, not all when the next slot opens; a wait gives no right to the slot."""
        r = self.redis().client()
        pace = r.register_script(lua_script(os.path.join(SOURCE_DIR, "router", "lua", "pacing.lua")))
        key = "hilo:{pace:sms:15550001111}"

        def ask(now_ms, allowance=3):
            return pace(keys=[key], args=[str(now_ms), "100000", str(allowance)])

        self.assertEqual([ask(1000) for _ in range(3)], [[1, 0]] * 3)  # the burst
        self.assertEqual([ask(1000) for _ in range(3)], [[0, 100], [0, 200], [0, 300]])
        self.assertEqual(ask(1100), [1, 0])          # one slot per 100 ms
        self.assertEqual(ask(1100), [0, 300])        # behind the three already told to wait
        self.assertEqual(ask(1150, allowance=1), [0, 350])  # a smaller allowance waits too
        self.assertEqual(ask(1200), [1, 0])          # the slot goes to whoever asks when it opens
        self.assertEqual(ask(5000), [1, 0])          # quiet: the burst is back
        self.assertEqual([ask(5000)[0] for _ in range(3)], [1, 1, 0])
        self.assertGreater(r.pttl(key), 0)

    def test_bad_pacing_lines_stop_the_router_with_file_and_line(self):
        redis = self.redis()
        cases = [({"sms": "-1"}, "[pacing] sms: must be messages per second"),
                 ({"sms.+15550001111": "5"}, "invalid key name"),
                 ({"sms.1555abc": "5"}, "[pacing] sms.1555abc: the sender must be"),
                 ({"fax.15550001111": "5"}, "[pacing] fax.15550001111: a sender's line"),
                 ({"sms.15550001111": "5/0"}, "[pacing] sms.15550001111: must be messages per second"),
                 ({"smss": "5"}, "[pacing] smss: unknown key")]
        for i, (items, why) in enumerate(cases):
            rt = self.router(redis, name="bad-%d" % i, overrides={"pacing": items}, start=False)
            p = subprocess.run([ROUTER_BIN, "-c", rt.conf_path], stdin=subprocess.DEVNULL, capture_output=True,
                               text=True, timeout=30, env=_clean_env())
            self.assertEqual(p.returncode, 2, (items, p.stderr))
            self.assertIn(why, p.stderr, items)
            with open(rt.conf_path, encoding="utf-8") as f:
                lines = f.read().split("\n")
            key = list(items)[0]
            line = next(n for n, text in enumerate(lines, 1) if text.startswith(key + " "))
            self.assertIn("%s:%d:" % (os.path.basename(rt.conf_path), line), p.stderr, p.stderr)


class PacingReplies(EngineTestCase):
    def test_a_reply_does_not_wait_behind_bulk_from_the_same_number(self):
        # The engine on, one SMS connector with no numbers of its own: everything goes out from
        # its default sender, one budget of 10/s with a burst of 10, 20 % of it kept for replies.
        self.redis_ = self.redis()
        self.r = self.redis_.client()
        overrides = self.engine_overrides()
        overrides["router"]["outbound_lease_ms"] = "600000"
        overrides["pacing"] = dict(PACING, reply_reserve_pct="20")
        self.router_ = self.router(self.redis_, overrides=overrides)
        self._conns["sms"] = conn = self.connector(self.router_, "sms", "sms-engine")
        self.set_clock(WORKDAY_10AM_MS)
        bulk = ["+1650557%04d" % i for i in range(20)]
        self.import_debtors([{"debtor_id": "B%02d" % i, "phones": [p], "language": "en", "country": "US",
                              "timezone": "America/New_York"} for i, p in enumerate(bulk)] +
                            [{"debtor_id": "R1", "phones": ["+16505580001"], "language": "en", "country": "US",
                              "timezone": "America/New_York"}])
        for i in range(20):
            run_cli(self.router_.conf_path, "send", "B%02d" % i, "sms", "Recordatorio de pago")

        def sent_bulk():
            return sum(1 for o in list(conn.outbounds) if o.to in bulk)
        # The clock stands still: bulk takes the burst less the replies' 2.
        wait_until(lambda: sent_bulk() >= 8, 30, lambda: "the bulk's share of the burst (have %d)" % sent_bulk())
        time.sleep(2.5)
        self.assertEqual(sent_bulk(), 8, "bulk took the replies' reserve")
        # The debtor writes; the bot's answer goes at once from the same (default) number.
        turn = self.debtor("R1", "+16505580001").say("sms", "hola")
        self.assertTrue(turn.outbounds, "the bot's answer reached the connector")
        self.assertEqual({o.to for o in turn.outbounds}, {"+16505580001"})
        self.assertEqual(sent_bulk(), 8)
        # Ten messages went, and ten slots were spent: none went to a visit that lost the take
        # (one visit per queue at a time; a granted slot outlives a 'changed' take).
        t_us = int(self.r.hget("hilo:{pace:sms:%s}" % PACE_DEFAULT, "t"))
        self.assertEqual(t_us, WORKDAY_10AM_MS * 1000 + (8 + len(turn.outbounds)) * 100000)


if __name__ == "__main__":
    unittest.main()
