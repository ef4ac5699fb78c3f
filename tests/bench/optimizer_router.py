#!/usr/bin/python3
"""The contact optimizer's cost in the router (issue 22: a decision <= 50 us of router CPU, <= 1
Redis round trip per decision and per result; docs/performance.md, "Contact optimizer").

Two runs of N debtors (US, America/New_York, WhatsApp and SMS consent) on a fresh redis-server
each, with the test clock and no connectors (steps are committed, not handed off):
  fixed  one step `channel = whatsapp`, hours 08:00-21:00 (the strategy runner without the optimizer)
  best   one step `channel = best`, channels = whatsapp sms, `hours = best` (the optimizer decides)
  1. 22:00 Tuesday: every debtor is looked at and scheduled for Wednesday (the gate is closed):
     in `best` each of these looks is an optimizer decision (8 arms, each asked of the gate).
     Router CPU (utime + stime, /proc) from the enrolment until every debtor is scheduled, per
     debtor; the router's Redis commands (MONITOR, less the commands inside scripts) by slot:
     the debtor's ({d:...}), the optimizer's ({o:...} and {o}: the per-sweep refresh reads and the
     cells' count scripts), the rest (sweeps, claims, indexes).
  2. 08:01 Wednesday: the steps due then are committed (all in `fixed`; in `best` those whose arm
     is 08-11): the same counts per committed step — `best` adds the cell's count
     (optimizer_cell.lua, on the cell's slot).
The difference best - fixed is the optimizer's cost. Prints one JSON line.

    /usr/bin/python3 tests/bench/optimizer_router.py [--debtors N] [--build DIR]
"""

import argparse
import json
import os
import socket
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))

parser = argparse.ArgumentParser()
parser.add_argument("--debtors", type=int, default=5000)
parser.add_argument("--build", default=os.environ.get("HILO_BUILD_DIR", os.path.join(HERE, "..", "..", "build")))
args = parser.parse_args()
os.environ["HILO_BUILD_DIR"] = os.path.abspath(args.build)
os.environ.setdefault("HILO_SOURCE_DIR", os.path.abspath(os.path.join(HERE, "..", "..")))
sys.path.insert(0, os.path.join(os.environ["HILO_BUILD_DIR"], "proto", "gen", "python"))

from hilo_harness import (TEST_CLOCK_OVERRIDES, RedisServer, Router, debtor_key,  # noqa: E402
                          outbox_partition, seed_debtor, wait_until)

CLOCK_KEY = "hilo:test:now_ms"
EVENING = 1795573800000   # 2026-11-24 22:00 America/New_York (Tuesday)
MORNING = 1795611660000   # 2026-11-25 08:01 America/New_York

HEAD = """
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
steps = s1

[step s1]
template = hello_limited_v1
days = mon-sun
text.en = Hello, {company} has an important message for you. Call {callback_phone}. Reply STOP to opt out.
on.sent = end
"""
STEP = {"fixed": "channel = whatsapp\nhours = 08:00-21:00\n",
        "best": "channel = best\nchannels = whatsapp sms\nhours = best\n"}


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        v = f.read().rsplit(")", 1)[1].split()
    return (int(v[11]) + int(v[12])) / os.sysconf("SC_CLK_TCK")


class Monitor(threading.Thread):
    """MONITOR's stream, counted by slot: one line per command; a script's own commands say lua."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.sendall(b"MONITOR\r\n")
        self.buf = b""
        self.counts = {}
        self.stop = False

    def snapshot(self):
        return dict(self.counts)

    def run(self):
        self.sock.settimeout(0.5)
        while not self.stop:
            try:
                b = self.sock.recv(1 << 20)
            except socket.timeout:
                continue
            if not b:
                break
            self.buf += b
            *lines, self.buf = self.buf.split(b"\r\n")
            for line in lines:
                if b" lua] " in line or not line.startswith(b"+1"):
                    continue
                if b'"HGET"' in line and line.endswith(b':conv" "strat"'):  # count_strat's own polling
                    continue
                cmd = line.split(b"] ", 1)[1] if b"] " in line else b""
                if os.environ.get("HILO_BENCH_TRACE") and b"{d:" in cmd:
                    sys.stderr.write(cmd[:160].decode("utf-8", "replace") + "\n")
                if b'"hilo:{o' in cmd:
                    k = "opt_write" if cmd.startswith(b'"EVALSHA"') else "opt_read"
                elif b"{d:" in cmd:
                    k = "debtor"
                else:
                    k = "other"
                self.counts[k] = self.counts.get(k, 0) + 1

    def close(self):
        self.stop = True
        self.join(5)
        self.sock.close()


def diff(a, b, per):
    return {k: round((b.get(k, 0) - a.get(k, 0)) / max(per, 1), 3) for k in ("debtor", "opt_read", "opt_write", "other")}


def count_strat(r, n, pred):
    got = 0
    p = r.pipeline(transaction=False)
    for i in range(n):
        p.hget(debtor_key("O%07d" % i, "conv"), "strat")
        if i % 5000 == 4999 or i == n - 1:
            got += sum(1 for v in p.execute() if v and pred(v.split("|")))
    return got


def run(mode, n, work):
    rs = RedisServer(os.path.join(work, mode))
    rs.start()
    r = rs.client()
    p = r.pipeline(transaction=False)
    for i in range(n):
        d, phone = "O%07d" % i, "+1650%07d" % i
        seed_debtor(r, d, [phone], pipe=p, days_past_due="45", balance="300", country="US", language="en")
        for ch in ("whatsapp", "sms"):
            p.hset(debtor_key(d, "consent"), "%s:%s" % (ch, phone), "granted|1795000000000|import")
        if i % 2000 == 1999:
            p.execute()
    p.execute()
    sdir = os.path.join(work, mode + "-strategies")
    os.makedirs(sdir)
    with open(os.path.join(sdir, "bench.strategy"), "w") as f:
        f.write(HEAD.replace("[step s1]\n", "[step s1]\n" + STEP[mode]))
    r.set(CLOCK_KEY, str(EVENING))
    router = Router(rs, work, name="router-" + mode, overrides={
        **TEST_CLOCK_OVERRIDES, "router": {"log_level": "warn", "link_auth": "none"},
        "strategies": {"dir": sdir, "poll_ms": "20", "batch": "1000"}, "pacing": {"enabled": "false"}})
    router.start()
    mon = Monitor(rs.port)
    mon.start()
    out = {}
    try:
        time.sleep(1.0)
        c0, k0, t0 = cpu_s(router.proc.pid), mon.snapshot(), time.time()
        p = r.pipeline(transaction=False)
        for i in range(n):
            d = "O%07d" % i
            p.zadd("hilo:{p:%d}:sched" % outbox_partition(d), {d: 0})
        p.execute()
        wait_until(lambda: count_strat(r, n, lambda f: f[0] == "due") == n, 900, "every debtor scheduled",
                   interval=0.5)
        c1, k1 = cpu_s(router.proc.pid), mon.snapshot()
        out["evening_seconds"] = round(time.time() - t0, 2)
        out["evening_cpu_us_per_debtor"] = round((c1 - c0) * 1e6 / n, 1)
        out["evening_commands_per_debtor"] = diff(k0, k1, n)  # "other" includes the enrolment's ZADD
        out["treated"] = count_strat(r, n, lambda f: f[9].startswith("opt:"))
        # Morning: what is due at 08:01 is committed (no connector: it stays queued).
        due = count_strat(r, n, lambda f: f[0] == "due" and int(f[6]) <= MORNING)
        time.sleep(0.5)
        k2 = mon.snapshot()
        r.set(CLOCK_KEY, str(MORNING))
        wait_until(lambda: count_strat(r, n, lambda f: f[0] in ("end", "out")) >= due, 900, "the due steps committed",
                   interval=0.5)
        time.sleep(1.0)  # the commits' follow-ups (and, in `best`, the cells' counts) in
        k3 = mon.snapshot()
        sent = count_strat(r, n, lambda f: f[0] in ("end", "out"))
        out["morning_committed"] = sent
        out["morning_commands_per_committed"] = diff(k2, k3, sent)
    finally:
        mon.close()
        router.stop()
        rs.stop()
    return out


def main():
    work = tempfile.mkdtemp(prefix="hilo-optbench-")
    res = {"debtors": args.debtors, "build": os.path.basename(os.path.abspath(args.build))}
    for mode in ("fixed", "best"):
        res[mode] = run(mode, args.debtors, work)
    f, b = res["fixed"], res["best"]
    res["decision_cpu_us"] = round(b["evening_cpu_us_per_debtor"] - f["evening_cpu_us_per_debtor"], 1)
    res["decision_debtor_commands_extra"] = round(b["evening_commands_per_debtor"]["debtor"] -
                                                  f["evening_commands_per_debtor"]["debtor"], 3)
    res["decision_cell_commands"] = b["evening_commands_per_debtor"]["opt_write"]
    res["send_debtor_commands_extra"] = round(b["morning_commands_per_committed"]["debtor"] -
                                              f["morning_commands_per_committed"]["debtor"], 3)
    res["send_cell_commands"] = b["morning_commands_per_committed"]["opt_write"]
    print(json.dumps(res))


if __name__ == "__main__":
    main()
