"""`hilo import-payments` sends its payments in batches (router/cli/cmd_payments.c: up to 1,000
EVALSHAs of payment_apply.lua per round trip). What the batches must not change, with the real
CLI and a real redis-server (no router: nothing else touches the keys):

* every row is reported as before, in the file's order — rows refused before Redis (bad
  fields), unknown debtors, conflicting and same-value duplicates of a reference, within one
  batch and across a batch's end — and the good rows are applied;
* a payment holds the debtor's pending strategy step (conv `strat` due or out -> hold, why
  `payment`, router/lua/lib/strategy_state.lua) and kicks the debtor in its schedule partition
  (score 0); a duplicate does neither;
* a SCRIPT FLUSH in the middle of a batch: the rows that ran before it are reported applied,
  the rest are sent again after the script is loaded again, none twice.
"""

import os
import socket
import subprocess
import threading
import unittest

from hilo_harness import (CLI_BIN, HiloTestCase, _clean_env, cli_path, debtor_key, outbox_partition,
                          seed_debtor)

HEADER = "debtor_id,amount,currency,paid_at,reference\n"
STRAT_DUE = "due|demo|all|default|s2|s1|1795528800000|1795269600000||||1"
STRAT_OUT = "out|demo|all|default|s2|s1|0|1795269600000|o1795269600000-000000000001|||4"


def sched_key(debtor_id):
    return "hilo:{p:%d}:sched" % outbox_partition(debtor_id)


class FlushProxy:
    """A TCP relay between the CLI and Redis that holds back the client's bytes from the
    `at`-th EVALSHA on, until `hold_until()` is true; then it runs SCRIPT FLUSH on Redis and
    relays the rest. So the first at-1 payments of the batch run with the script loaded and the
    others meet NOSCRIPT."""

    MARK = b"*16\r\n$7\r\nEVALSHA\r\n"  # payment_apply.lua: EVALSHA, sha, 5, 5 keys, 8 args

    def __init__(self, redis, at, hold_until):
        self.redis, self.at, self.hold_until = redis, at, hold_until
        self.flushed = False
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        client, _ = self.listener.accept()
        self.listener.close()
        upstream = socket.create_connection(("127.0.0.1", self.redis.port))

        def down():
            while True:
                data = upstream.recv(65536)
                if not data:
                    break
                client.sendall(data)
            client.close()
            upstream.close()

        threading.Thread(target=down, daemon=True).start()
        seen, held = 0, b""
        while True:
            data = client.recv(65536)
            if not data:
                break
            if self.flushed:
                upstream.sendall(data)
                continue
            held += data
            marks, pos = [], held.find(self.MARK)
            while pos >= 0:
                marks.append(pos)
                pos = held.find(self.MARK, pos + 1)
            if seen + len(marks) < self.at:
                # Everything but a tail that may be the start of a mark split between reads.
                cut = len(held)
                for k in range(1, len(self.MARK)):
                    if held.endswith(self.MARK[:k]):
                        cut = len(held) - k
                upstream.sendall(held[:cut])
                held, seen = held[cut:], seen + len(marks)
                continue
            cut = marks[self.at - seen - 1]
            upstream.sendall(held[:cut])
            r = self.redis.client()
            for _ in range(100):
                if self.hold_until(r):
                    break
                threading.Event().wait(0.02)
            r.script_flush()
            self.flushed = True
            upstream.sendall(held[cut:])
        upstream.shutdown(socket.SHUT_WR)  # Redis closes, and the relay back ends


@unittest.skipUnless(cli_path(), "the hilo CLI is not built")
class PaymentsImport(HiloTestCase):
    def setUp(self):
        super().setUp()
        self.redis_ = self.redis()
        self.r = self.redis_.client()
        self.conf = self.write_conf(self.redis_.port)

    def write_conf(self, port):
        conf = os.path.join(self.workdir, "hilo-%d.conf" % port)
        with open(conf, "w") as f:
            f.write("[redis]\nhost = 127.0.0.1\nport = %d\n" % port)
        return conf

    def import_file(self, lines, conf=None, name="payments.csv"):
        path = os.path.join(self.workdir, name)
        with open(path, "w") as f:
            f.write(HEADER + "".join(l + "\n" for l in lines))
        p = subprocess.run([CLI_BIN, "-c", conf or self.conf, "import-payments", path], capture_output=True,
                           text=True, timeout=120, stdin=subprocess.DEVNULL, env=_clean_env())
        return p, path

    def seed(self, ids):
        p = self.r.pipeline(transaction=False)
        for i, d in enumerate(ids):
            seed_debtor(self.r, d, ["+1650555%04d" % i], pipe=p)
        p.execute()

    def payments(self, d):
        return self.r.hgetall(debtor_key(d, "payments"))

    def test_every_row_is_reported_in_order_and_the_good_ones_applied(self):
        # One small file (one batch), then one of 2,500 rows (three batches) with the same kinds
        # of rows at the batches' ends (file lines 1001/1002 and 2001/2002 are rows 1000/1001 and
        # 2000/2001).
        self.seed(["D1", "D2", "D3"])
        p, path = self.import_file([
            "D1,100.00,USD,2026-11-24,R1",          # line 2: applied
            "NOPE,10,USD,2026-11-24,R2",            # line 3: unknown debtor
            "D2,-5,USD,2026-11-24,R3",              # line 4: refused before Redis
            "D1,100.00,USD,2026-11-24,R1",          # line 5: the same payment again: duplicate
            "D1,90.00,USD,2026-11-24,R1",           # line 6: the same reference, another amount
            "D2,50,USD,2026-11-24,R4",              # line 7: applied
            "D3,50,USD,2026-11-24",                 # line 8: too few fields
            "D3,25.50,EUR,2026-11-25T10:00:00Z,R5",  # line 9: applied
        ])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, "applied 3, duplicates 1, rejected 4; promises kept 0\n")
        err = p.stderr.splitlines()
        self.assertEqual(len(err), 4, p.stderr)
        self.assertEqual(err[0], "%s:3: payment R2: unknown debtor NOPE (import the portfolio first)" % path)
        self.assertTrue(err[1].startswith("%s:4: amount must be" % path), err[1])
        self.assertTrue(err[2].startswith("%s:6: payment R1: reference already imported for debtor D1 with another "
                                          "amount, currency or date: " % path), err[2])
        self.assertIn('"amount_cents":10000', err[2])
        self.assertEqual(err[3], "%s:8: too few fields" % path)
        self.assertEqual(sorted(self.payments("D1")), ["R1"])
        self.assertIn('"amount_cents":10000', self.payments("D1")["R1"])
        self.assertEqual(sorted(self.payments("D2")), ["R4"])
        self.assertEqual(sorted(self.payments("D3")), ["R5"])

        ids = ["E%04d" % i for i in range(2500)]
        self.seed(ids)
        rows = ["%s,10.00,USD,2026-11-24,X%04d" % (d, i) for i, d in enumerate(ids)]
        expect = []
        for at in (999, 1999):  # the last row of a batch and the first of the next
            rows[at] = "NOPE%d,1,USD,2026-11-24,N%d" % (at, at)
            expect.append("%s:%d: payment N%d: unknown debtor NOPE%d (import the portfolio first)"
                          % ("P", at + 2, at, at))
            rows[at + 1] = "%s,10.00,USD,2026-11-24,X%04d" % (ids[at - 1], at - 1)   # duplicate of the row before
            rows[at + 2] = "%s,11.00,USD,2026-11-24,X%04d" % (ids[at - 1], at - 1)   # conflicting duplicate
            expect.append("%s:%d: payment X%04d: reference already imported for debtor %s" % ("P", at + 4, at - 1,
                                                                                             ids[at - 1]))
            rows[at + 3] = "%s,1,USD,2026-13-01,B%d" % (ids[at + 3], at)            # refused before Redis
            expect.append("%s:%d: paid_at is not a real date" % ("P", at + 5))
        p, path = self.import_file(rows, name="big.csv")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, "applied 2492, duplicates 2, rejected 6; promises kept 0\n")
        err = p.stderr.splitlines()
        self.assertEqual(len(err), len(expect), p.stderr)
        for got, want in zip(err, [e.replace("P:", path + ":", 1) for e in expect]):
            self.assertTrue(got.startswith(want), (got, want))
        for i, d in enumerate(ids):
            if i in (999, 1000, 1001, 1002, 1999, 2000, 2001, 2002):
                self.assertEqual(self.payments(d), {}, d)
            else:
                self.assertEqual(list(self.payments(d)), ["X%04d" % i], d)
                self.assertIn('"amount_cents":1000,', self.payments(d)["X%04d" % i])

        # The same file again changes nothing: every good row is a duplicate.
        p, _ = self.import_file(rows, name="big.csv")
        self.assertEqual(p.stdout, "applied 0, duplicates 2494, rejected 6; promises kept 0\n")

    def test_standard_input(self):
        # `-` reads the CSV from standard input; its rows are reported as <stdin>:LINE.
        self.seed(["D1"])
        csv = HEADER + "D1,100.00,USD,2026-11-24,R1\nNOPE,10,USD,2026-11-24,R2\nD1,5,USD,2026-11-24\n"
        p = subprocess.run([CLI_BIN, "-c", self.conf, "import-payments", "-"], input=csv, capture_output=True,
                           text=True, timeout=120, env=_clean_env())
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, "applied 1, duplicates 0, rejected 2; promises kept 0\n")
        self.assertEqual(p.stderr.splitlines(), ["<stdin>:3: payment R2: unknown debtor NOPE (import the portfolio "
                                                 "first)", "<stdin>:4: too few fields"])
        self.assertEqual(sorted(self.payments("D1")), ["R1"])
        # An empty standard input is an empty file, named as such.
        p = subprocess.run([CLI_BIN, "-c", self.conf, "import-payments", "-"], input="", capture_output=True,
                           text=True, timeout=120, env=_clean_env())
        self.assertNotEqual(p.returncode, 0)
        self.assertEqual(p.stderr, "<stdin>:1: empty file: a header row is required\n")

    def test_a_payment_holds_the_pending_step(self):
        self.seed(["S1", "S2", "S3", "S4"])
        self.r.hset(debtor_key("S1", "conv"), "strat", STRAT_DUE)
        self.r.hset(debtor_key("S2", "conv"), "strat", STRAT_OUT)
        stop = "stop|demo|all|default|s2|s1|1795528800000|0||paid||3"
        self.r.hset(debtor_key("S3", "conv"), "strat", stop)
        for d in ("S1", "S2", "S3"):
            self.r.zadd(sched_key(d), {d: 1795528800000})
        p, _ = self.import_file(["S1,100.00,USD,2026-11-24,P1", "S2,100.00,USD,2026-11-24,P2",
                                 "S3,100.00,USD,2026-11-24,P3", "S4,100.00,USD,2026-11-24,P4"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, "applied 4, duplicates 0, rejected 0; promises kept 0\n")
        # due -> hold, why payment, the state it held kept as `prev`, the revision counted.
        self.assertEqual(self.r.hget(debtor_key("S1", "conv"), "strat"),
                         "hold|demo|all|default|s2|s1|1795528800000|1795269600000||payment|due|2")
        self.assertEqual(self.r.hget(debtor_key("S2", "conv"), "strat"),
                         "hold|demo|all|default|s2|s1|0|1795269600000|o1795269600000-000000000001|payment|out|5")
        self.assertEqual(self.r.hget(debtor_key("S3", "conv"), "strat"), stop, "a stopped run is not held")
        self.assertIsNone(self.r.hget(debtor_key("S4", "conv"), "strat"), "no strategy: nothing written")
        # The runners are told to look again now (score 0); S4 is not scheduled (ZADD XX).
        for d in ("S1", "S2", "S3"):
            self.assertEqual(self.r.zscore(sched_key(d), d), 0, d)
        self.assertIsNone(self.r.zscore(sched_key("S4"), "S4"))

        # A re-import (duplicates) neither holds nor kicks.
        self.r.hset(debtor_key("S1", "conv"), "strat", STRAT_DUE)
        self.r.zadd(sched_key("S1"), {"S1": 1795528800000})
        p, _ = self.import_file(["S1,100.00,USD,2026-11-24,P1"], name="again.csv")
        self.assertEqual(p.stdout, "applied 0, duplicates 1, rejected 0; promises kept 0\n")
        self.assertEqual(self.r.hget(debtor_key("S1", "conv"), "strat"), STRAT_DUE)
        self.assertEqual(self.r.zscore(sched_key("S1"), "S1"), 1795528800000)

    def test_a_script_flush_in_the_middle_of_a_batch(self):
        ids = ["F%d" % i for i in range(6)]
        self.seed(ids)
        for d in ids:
            self.r.hset(debtor_key(d, "conv"), "strat", STRAT_DUE)
        # Rows 1-3 run, then SCRIPT FLUSH, then rows 4-6 meet NOSCRIPT and are sent again.
        proxy = FlushProxy(self.redis_, 4, lambda r: r.hexists(debtor_key("F2", "payments"), "P2"))
        conf = self.write_conf(proxy.port)
        p, _ = self.import_file(["%s,100.00,USD,2026-11-24,P%d" % (d, i) for i, d in enumerate(ids)], conf=conf)
        self.assertTrue(proxy.flushed, "the proxy did not flush the scripts: %r" % (p,))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, "applied 6, duplicates 0, rejected 0; promises kept 0\n")
        self.assertEqual(p.stderr, "")
        # Each row ran once: every EVALSHA that did not fail with NOSCRIPT recorded a payment.
        stats = self.r.info("commandstats")["cmdstat_evalsha"]
        self.assertGreaterEqual(stats["failed_calls"], 1, stats)
        self.assertEqual(stats["calls"] - stats["failed_calls"], len(ids), stats)
        for i, d in enumerate(ids):
            self.assertEqual(list(self.payments(d)), ["P%d" % i])
            self.assertTrue(self.r.hget(debtor_key(d, "conv"), "strat").startswith("hold|"), d)
            self.assertEqual(len(self.r.xrange(debtor_key(d, "audit"))), 1, "one payment event each")


if __name__ == "__main__":
    unittest.main()
