#!/usr/bin/python3
"""Outbound hand-off throughput: how many gated outbound messages a router hands to a connector
per second (docs/performance.md, "Outbound: the gate at hand-off").

N debtors (US, America/New_York, on the test clock's working morning) each get one pending SMS,
committed exactly as `hilo send` commits it (commit_outbound.lua and the dispatch index mark);
then hilo-sink connects as a protocol 1.1 SMS connector and reports every Outbound SENT at once.
Every message passes the compliance gate at hand-off (peek, the C gate, take with the frequency
cap) before it is handed over. Prints one JSON line: the sink's figures plus Redis's command
counts per message.

    /usr/bin/python3 tests/bench/outbound.py [--debtors N] [--build DIR]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
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

import hilo_link_pb2 as pb  # noqa: E402
from hilo_harness import (SOURCE_DIR, TEST_CLOCK_OVERRIDES, WORKDAY_10AM_MS, RedisServer, Router, debtor_key,  # noqa: E402
                          lua_script, outbox_key, seed_debtor, use_workday_clock)

SINK = os.path.join(os.environ["HILO_BUILD_DIR"], "tests", "bench", "hilo-sink")


def commit_all(r, n):
    sha = r.script_load(lua_script(os.path.join(SOURCE_DIR, "router", "lua", "commit_outbound.lua")))
    disp = json.dumps({"by": "cli", "bot": False, "reply": False, "kind": "freeform", "wait": False})
    p = r.pipeline(transaction=False)
    for i in range(n):
        d = "B%07d" % i
        phone = "+1650%07d" % i
        seed_debtor(r, d, [phone], pipe=p)
        oid = "o%013d-%012x" % (WORKDAY_10AM_MS, i)
        ob = pb.Outbound(outbound_id=oid, channel=pb.CHANNEL_SMS, to=phone, debtor_id=d,
                         text="Recordatorio de pago", created_ms=WORKDAY_10AM_MS)
        item = json.dumps({"ch": "sms", "dir": "out", "kind": "text", "oid": oid, "to": phone,
                           "sent_ms": WORKDAY_10AM_MS, "recv_ms": WORKDAY_10AM_MS, "text": "Recordatorio de pago",
                           "by": "cli"})
        p.zadd(outbox_key(d, "sms"), {d: 0})
        p.evalsha(sha, 5, debtor_key(d, "conv"), debtor_key(d, "hist"), debtor_key(d, "out"),
                  debtor_key(d, "oq:sms"), debtor_key(d, "odisp"), oid, WORKDAY_10AM_MS, item, 1000,
                  ob.SerializeToString(), d, "sms", disp)
        if i % 1000 == 999:
            p.execute()
    p.execute()


def main():
    work = tempfile.mkdtemp(prefix="hilo-bench-outbound-")
    redis = RedisServer(work)
    redis.start()
    r = redis.client()
    router = Router(redis, work, overrides={**TEST_CLOCK_OVERRIDES,
                                            "router": {"log_level": "warn", "outbound_poll_ms": "20",
                                                       # hilo-sink speaks the plain link
                                                       "link_auth": "none"}})
    router.start()
    try:
        use_workday_clock(r)
        commit_all(r, args.debtors)
        r.config_resetstat()
        t0 = time.time()
        out = subprocess.run([SINK, "--endpoint", router.link, "--messages", str(args.debtors), "--timeout", "300"],
                             capture_output=True, text=True)
        wall = time.time() - t0
        res = json.loads(out.stdout.strip().splitlines()[-1]) if out.stdout.strip() else {"error": out.stderr}
        stats = r.info("commandstats")
        per_msg = {k[len("cmdstat_"):]: round(v["calls"] / max(1, args.debtors), 2) for k, v in stats.items()
                   if v["calls"] >= args.debtors / 10}
        res.update({"debtors": args.debtors, "wall_seconds": round(wall, 3), "redis_calls_per_message": per_msg,
                    "pending_left": sum(1 for _ in r.scan_iter(match="hilo:{d:*}:odisp", count=1000)),
                    "exit": out.returncode})
        print(json.dumps(res))
        return 0 if out.returncode == 0 else 1
    finally:
        router.stop()
        redis.stop()


if __name__ == "__main__":
    sys.exit(main())
