#!/usr/bin/python3
"""Strategy sends: how many gated strategy steps a router hands to connectors per second, against
a bare hiredis replay of the same Redis commands, and what a debtor's schedule costs in Redis
memory (issue 20; docs/performance.md, "Outbound strategies").

N debtors (US, America/New_York) in a running one-step strategy (a WhatsApp template), hilo-sink
as the WhatsApp connector (reports every Outbound SENT at once), the test clock:
  1. at 22:00 the runner schedules every debtor for the next morning (the gate is closed): the
     used_memory difference over the portfolio alone, per debtor, is a schedule's cost (the conv
     field `strat` — with the conversation hash it creates for a debtor who never wrote — and the
     time index entry);
  2. the clock moves to 10:00: every step is decided, committed, passes the gate at hand-off and
     goes to the sink; timed from the clock's move to the sink's last Outbound;
  3. the same run again on a copy of the starting data with MONITOR capturing Redis's commands
     (untimed), then hilo-replay-log sends that capture to a third copy, pipelined (the limit).
Pacing is lifted ([pacing] enabled = false). Prints one JSON line.

    /usr/bin/python3 tests/bench/strategy_sends.py [--debtors N] [--build DIR]
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))

parser = argparse.ArgumentParser()
parser.add_argument("--debtors", type=int, default=20000)
parser.add_argument("--build", default=os.environ.get("HILO_BUILD_DIR", os.path.join(HERE, "..", "..", "build")))
parser.add_argument("--window", type=int, default=256, help="the replay's commands in flight")
parser.add_argument("--no-replay", action="store_true", help="the timed run alone (MONITOR's capture is slow "
                    "at large sizes: run the comparison at a few thousand debtors)")
args = parser.parse_args()
os.environ["HILO_BUILD_DIR"] = os.path.abspath(args.build)
os.environ.setdefault("HILO_SOURCE_DIR", os.path.abspath(os.path.join(HERE, "..", "..")))
sys.path.insert(0, os.path.join(os.environ["HILO_BUILD_DIR"], "proto", "gen", "python"))

from hilo_harness import (SOURCE_DIR, TEST_CLOCK_OVERRIDES, RedisServer, Router, debtor_key,  # noqa: E402
                          lua_script, outbox_partition, seed_debtor, wait_until)

BUILD = os.environ["HILO_BUILD_DIR"]
SINK = os.path.join(BUILD, "tests", "bench", "hilo-sink")
REPLAY = os.path.join(BUILD, "tests", "bench", "hilo-replay-log")
CLOCK_KEY = "hilo:test:now_ms"
EVENING = 1795573800000   # 2026-11-24 22:00 America/New_York (Tuesday)
MORNING = 1795618800000   # 2026-11-25 10:00 America/New_York

STRATEGY = """
[strategy]
name = bench
priority = 10
state = active
languages = en
default_language = en
company = Bench Co
callback_phone = +1 650 555 0100

[segment all]
days_past_due = 1-
steps = wa

[step wa]
channel = whatsapp
template = hello_limited_v1
days = mon-sun
hours = 09:00-19:00
text.en = Hello, {company} has an important message for you. Reply here or call {callback_phone}. Reply STOP to opt out.
on.sent = end
"""


def seed(r, n):
    p = r.pipeline(transaction=False)
    for i in range(n):
        d = "S%07d" % i
        phone = "+1650%07d" % i
        seed_debtor(r, d, [phone], pipe=p)
        p.hset(debtor_key(d, "consent"), "whatsapp:" + phone, "granted|1795000000000|import")
        if i % 2000 == 1999:
            p.execute()
    p.execute()


def enroll(r, n):
    p = r.pipeline(transaction=False)
    for i in range(n):
        d = "S%07d" % i
        p.zadd("hilo:{p:%d}:sched" % outbox_partition(d), {d: 0})
        if i % 5000 == 4999:
            p.execute()
    p.execute()


def count_strat(r, n, state):
    got = 0
    p = r.pipeline(transaction=False)
    for i in range(n):
        p.hget(debtor_key("S%07d" % i, "conv"), "strat")
        if i % 5000 == 4999 or i == n - 1:
            got += sum(1 for v in p.execute() if v and v.startswith(state + "|"))
    return got


class Monitor(threading.Thread):
    """MONITOR's stream, raw, into a file (RESP simple strings: one command per line)."""

    def __init__(self, port, path):
        super().__init__(daemon=True)
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.sendall(b"MONITOR\r\n")
        self.out = open(path, "wb")
        self.stop = False

    def run(self):
        self.sock.settimeout(0.5)
        while not self.stop:
            try:
                b = self.sock.recv(1 << 20)
            except socket.timeout:
                continue
            if not b:
                break
            self.out.write(b)

    def close(self):
        self.stop = True
        self.join(5)
        self.sock.close()
        self.out.close()


def redis_from(rdb, work, name):
    """A redis-server whose data is a copy of `rdb` (AOF everysec on, as in the timed run)."""
    rs = RedisServer(os.path.join(work, name))
    with open(rs.conf_path) as f:
        conf = f.read().replace("appendonly yes", "appendonly no")
    with open(rs.conf_path, "w") as f:
        f.write(conf + "dbfilename start.rdb\n")
    shutil.copy(rdb, os.path.join(rs.dir, "start.rdb"))
    rs.start()
    c = rs.client()
    c.config_set("appendonly", "yes")
    wait_until(lambda: c.info("persistence")["aof_rewrite_in_progress"] == 0 and
               c.info("persistence")["aof_enabled"] == 1, 120, "the AOF written")
    return rs


def run_once(rs, work, name, n, capture=None):
    """Evening (all scheduled), then morning (all sent). Returns figures. capture: a path prefix:
    the data at the evening's end is saved to <capture>.rdb and the morning's commands (until the
    sink has every Outbound) captured by MONITOR to <capture>.log."""
    r = rs.client()
    sdir = os.path.join(work, name + "-strategies")
    os.makedirs(sdir, exist_ok=True)
    with open(os.path.join(sdir, "bench.strategy"), "w") as f:
        f.write(STRATEGY)
    mon = None
    router = Router(rs, work, name=name, overrides={
        **TEST_CLOCK_OVERRIDES,
        "router": {"log_level": "warn", "outbound_poll_ms": "20", "link_auth": "none"},
        "strategies": {"dir": sdir, "poll_ms": "20", "batch": "1000"},
        # The figure is the router's hand-off with pacing lifted (one sink sends from one
        # default sender: at WhatsApp's 80/s it would measure the provider's limit instead).
        "pacing": {"enabled": "false"}})
    r.set(CLOCK_KEY, str(EVENING))
    m0 = r.info("memory")
    mem0, data0 = m0["used_memory"], m0["used_memory_dataset"]
    router.start()
    out = {}
    try:
        t0 = time.time()
        wait_until(lambda: count_strat(r, n, "due") == n, 600, "every debtor scheduled", interval=0.5)
        out["schedule_seconds"] = round(time.time() - t0, 2)
        m1 = r.info("memory")
        out["schedule_bytes_per_debtor"] = round((m1["used_memory"] - mem0) / n, 1)
        # The same without Redis's own overhead (the router's scripts in the script cache, its
        # clients' buffers: fixed costs that do not grow with the portfolio but weigh on a small
        # one): used_memory_dataset, Redis's figure for the keys and values alone.
        out["schedule_dataset_bytes_per_debtor"] = round((m1["used_memory_dataset"] - data0) / n, 1)
        out["redis_overhead_growth_bytes"] = (m1["used_memory"] - m1["used_memory_dataset"]) - (mem0 - data0)
        sink = subprocess.Popen([SINK, "--endpoint", router.link, "--channel", "whatsapp", "--messages", str(n),
                                 "--timeout", "600"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1.0)  # the sink's Hello in
        if capture:
            r.save()
            shutil.copy(os.path.join(rs.dir, r.config_get("dbfilename")["dbfilename"]), capture + ".rdb")
            mon = Monitor(rs.port, capture + ".log")
            mon.start()
        t1 = time.time()
        r.set(CLOCK_KEY, str(MORNING))
        so, se = sink.communicate(timeout=900)
        wall = time.time() - t1
        if mon:
            mon.close()
            mon = None
        res = json.loads(so.strip().splitlines()[-1]) if so.strip() else {"error": se}
        out.update({"sends_wall_seconds": round(wall, 3), "sends_per_second_wall": round(n / wall, 1),
                    "sink": res, "sink_exit": sink.returncode})
        wait_until(lambda: count_strat(r, n, "end") == n, 300, "every run ended", interval=0.5)
        out["ended"] = n
    finally:
        router.stop()
        if mon:
            mon.close()
    return out


def main():
    work = tempfile.mkdtemp(prefix="hilo-bench-strategy-")
    n = args.debtors
    rs = RedisServer(os.path.join(work, "r1"))
    rs.start()
    r = rs.client()
    seed(r, n)
    enroll(r, n)
    r.save()
    rdb = os.path.join(work, "start.rdb")
    shutil.copy(os.path.join(rs.dir, "dump.rdb"), rdb)
    res = {"debtors": n}
    try:
        r.config_resetstat()
        res["router"] = run_once(rs, work, "timed", n)
        stats = r.info("commandstats")
        res["redis_calls_per_debtor"] = {k[len("cmdstat_"):]: round(v["calls"] / n, 2) for k, v in stats.items()
                                         if v["calls"] >= n / 10}
    finally:
        rs.stop()
    if args.no_replay:
        print(json.dumps(res))
        return 0
    # The capture: the same run on a copy, MONITOR on during the morning (slower: not timed).
    cap = os.path.join(work, "capture")
    rs2 = redis_from(rdb, work, "r2")
    try:
        run_once(rs2, work, "capture", n, capture=cap)
    finally:
        rs2.stop()
    # The replay of the morning's capture on a copy of the data at the evening's end: the bare
    # limit. The bench's own test-clock writes (and the router's reads of it) are left out.
    rs3 = redis_from(cap + ".rdb", work, "r3")
    try:
        c3 = rs3.client()
        for fn in sorted(os.listdir(os.path.join(SOURCE_DIR, "router", "lua"))):
            if fn.endswith(".lua"):  # the router loaded them before the capture began
                c3.script_load(lua_script(os.path.join(SOURCE_DIR, "router", "lua", fn)))
        with open(cap + ".log", "rb") as f, open(cap + ".txt", "wb") as g:
            for line in f:
                if line.startswith(b"+"):
                    g.write(line[1:].rstrip(b"\r\n") + b"\n")
        rp = subprocess.run([REPLAY, "--port", str(rs3.port), "--log", cap + ".txt", "--window", str(args.window),
                             "--skip-prefix", "hilo:test:"], capture_output=True, text=True, timeout=900)
        res["replay"] = json.loads(rp.stdout) if rp.returncode == 0 else {"error": rp.stderr}
    finally:
        rs3.stop()
    if "seconds" in res.get("replay", {}):
        res["router_over_replay"] = round(res["replay"]["seconds"] / res["router"]["sends_wall_seconds"], 3)
    print(json.dumps(res))
    if not os.environ.get("HILO_BENCH_KEEP"):
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
