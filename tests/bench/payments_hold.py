#!/usr/bin/python3
"""Payments cancel pending steps: how long `hilo import-payments` takes to record a payment for
each of N debtors who all have a pending strategy step, and whether every step is held
(docs/performance.md, "Payments cancel pending steps"; issue 20's goal: 100,000 in <= 10 s).

Each run starts its own redis-server (AOF everysec, as tests/lib/hilo_harness.py runs it) and
seeds N debtors the way outbound.py does (seed_debtor), each with a pending step: the conv field
`strat` = "due|demo|all|default|s2|s1|<at>|<sent>||||1" (router/lua/lib/strategy_state.lua) and
the debtor in its partition's schedule hilo:{p:<n>}:sched at <at>. Then it times the real `hilo`
CLI importing one payment per debtor, paid in full (the record's balance and currency), and
counts afterwards:
  * held: `strat` fields that read hold|...|payment|due|... (payment_apply.lua held the step);
  * kicked: schedule entries at score 0 (the CLI's ZADD XX that makes the runners look again).
No router runs: the goal is the import's own time to hold every step.

Prints one JSON line per run.

    /usr/bin/python3 tests/bench/payments_hold.py [--debtors N] [--runs R] [--build DIR] [--cli PATH]

--cli times another `hilo` binary (e.g. a copy built from an earlier commit) on the same data.
"""

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))

parser = argparse.ArgumentParser()
parser.add_argument("--debtors", type=int, default=100000)
parser.add_argument("--runs", type=int, default=1)
parser.add_argument("--build", default=os.environ.get("HILO_BUILD_DIR", os.path.join(HERE, "..", "..", "build")))
parser.add_argument("--cli", help="the hilo binary to time (default: <build>/router/cli/hilo)")
args = parser.parse_args()
os.environ["HILO_BUILD_DIR"] = os.path.abspath(args.build)
os.environ.setdefault("HILO_SOURCE_DIR", os.path.abspath(os.path.join(HERE, "..", "..")))
sys.path.insert(0, os.path.join(os.environ["HILO_BUILD_DIR"], "proto", "gen", "python"))

from hilo_harness import CLI_BIN, RedisServer, debtor_key, outbox_partition, seed_debtor  # noqa: E402

CLI = os.path.abspath(args.cli) if args.cli else CLI_BIN
AT_MS = 1795528800000     # the step's due time (2026-11-24 14:00 UTC); nothing runs it here
SENT_MS = 1795269600000   # when the previous step s1 went out
BATCH = 2000


def debtor_id(i):
    return "B%07d" % i


def seed(r, n):
    """N debtors, each with a pending step s2 (state due) indexed in its partition's schedule."""
    strat = "due|demo|all|default|s2|s1|%d|%d||||1" % (AT_MS, SENT_MS)
    p = r.pipeline(transaction=False)
    for i in range(n):
        d = debtor_id(i)
        seed_debtor(r, d, ["+1650%07d" % i], pipe=p, balance="%d.%02d" % (100 + i % 900, i % 100))
        p.hset(debtor_key(d, "conv"), "strat", strat)
        p.zadd("hilo:{p:%d}:sched" % outbox_partition(d), {d: AT_MS})
        if i % BATCH == BATCH - 1:
            p.execute()
    p.execute()


def write_payments(r, n, path):
    """One payment per debtor, paid in full: the amount and currency of its record."""
    with open(path, "w") as f:
        f.write("debtor_id,amount,currency,paid_at,reference\n")
        for start in range(0, n, BATCH):
            p = r.pipeline(transaction=False)
            ids = [debtor_id(i) for i in range(start, min(n, start + BATCH))]
            for d in ids:
                p.hmget(debtor_key(d, "debtor"), "balance", "currency")
            for d, (balance, currency) in zip(ids, p.execute()):
                f.write("%s,%s,%s,2026-11-24,BANK-%s\n" % (d, balance, currency, d))


def count(r, n):
    """(held, kicked, an example of a field that is not held)."""
    held = kicked = 0
    other = None
    for start in range(0, n, BATCH):
        p = r.pipeline(transaction=False)
        ids = [debtor_id(i) for i in range(start, min(n, start + BATCH))]
        for d in ids:
            p.hget(debtor_key(d, "conv"), "strat")
            p.zscore("hilo:{p:%d}:sched" % outbox_partition(d), d)
        res = p.execute()
        for k, d in enumerate(ids):
            s, score = res[2 * k], res[2 * k + 1]
            f = (s or "").split("|")
            if len(f) == 12 and f[0] == "hold" and f[9] == "payment" and f[10] == "due":
                held += 1
            elif other is None:
                other = "%s: %r" % (d, s)
            if score == 0:
                kicked += 1
    return held, kicked, other


def one_run(n):
    work = tempfile.mkdtemp(prefix="hilo-bench-payhold-")
    redis = RedisServer(work)
    redis.start()
    try:
        r = redis.client(socket_timeout=120)
        t0 = time.time()
        seed(r, n)
        csv = os.path.join(work, "payments.csv")
        write_payments(r, n, csv)
        seeded = time.time() - t0
        conf = os.path.join(work, "hilo.conf")
        with open(conf, "w") as f:
            f.write("[redis]\nhost = 127.0.0.1\nport = %d\n" % redis.port)
        r.bgrewriteaof()  # the seed's AOF rewritten now, not during the import
        while r.info("persistence").get("aof_rewrite_in_progress"):
            time.sleep(0.1)
        r.config_resetstat()
        load = os.getloadavg()[0]
        cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.monotonic()
        out = subprocess.run([CLI, "-c", conf, "import-payments", csv], capture_output=True, text=True,
                             stdin=subprocess.DEVNULL, timeout=3600)
        wall = time.monotonic() - t0
        cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
        stats = r.info("commandstats")
        held, kicked, other = count(r, n)
        summary = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""
        return {"debtors": n, "cli": CLI, "import_seconds": round(wall, 3), "exit": out.returncode,
                "summary": summary, "stderr": out.stderr[-500:], "held": held, "kicked": kicked,
                "all_held": held == n, "not_held_example": other, "seed_seconds": round(seeded, 1),
                "load_before": round(load, 2), "load_after": round(os.getloadavg()[0], 2),
                "cli_cpu_seconds": round(cpu.ru_utime + cpu.ru_stime - cpu0.ru_utime - cpu0.ru_stime, 2),
                "redis_script_seconds": round(stats.get("cmdstat_evalsha", {}).get("usec", 0) / 1e6, 2),
                "redis_calls": {k[len("cmdstat_"):]: v["calls"] for k, v in stats.items()
                                if v["calls"] >= n / 10}}
    finally:
        redis.stop()
        shutil.rmtree(work, ignore_errors=True)


def main():
    ok = True
    for _ in range(args.runs):
        res = one_run(args.debtors)
        print(json.dumps(res), flush=True)
        ok = ok and res["exit"] == 0 and res["all_held"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
