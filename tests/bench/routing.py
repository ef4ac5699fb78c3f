#!/usr/bin/python3
"""routing.py — benchmark: what one routing pass (router/lua/route_offer.lua) costs Redis as the
floor grows. For each size N: a fresh redis-server; N agents of one skill, all available and
present, all but 5 at full WhatsApp capacity (the hard case: the free ones must be found among
many busy ones); 20 WhatsApp conversations queued. The index of free agents
(lib/agent_index.lua) is built by one pass that refreshes every agent (what a new deployment's
first passes do, 200 agents per pass), then passes are timed with Redis's own accounting
(INFO commandstats, µs inside EVALSHA), once with 20 conversations to offer and once with
the queue empty. Redis runs the script: nothing is mocked.

    tests/bench/routing.py [--sizes 200,2000,20000]

Results: docs/performance.md ("Routing to humans")."""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
LUA = os.path.join(HERE, "..", "..", "router", "lua")


def script_text(name):
    """The script as the router embeds it (router/lua/embed.cmake: "-- @include" lines)."""
    body = open(os.path.join(LUA, name)).read()
    for inc in re.findall(r"-- @include ([a-z_]+\.lua)", body):
        body = body.replace("-- @include " + inc, open(os.path.join(LUA, "lib", inc)).read())
    return body


def evalsha_usec(r):
    st = r.info("commandstats").get("cmdstat_evalsha", {"usec": 0})
    return st["usec"]


def run_size(n, queued, port):
    import redis
    work = tempfile.mkdtemp(prefix="hilo-bench-routing-")
    p = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", work, "--save", "",
                          "--appendonly", "no"], stdout=subprocess.DEVNULL)
    try:
        r = redis.Redis(port=port, decode_responses=True)
        for _ in range(100):
            try:
                r.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        sha = r.script_load(script_text("route_offer.lua"))
        now = int(time.time() * 1000)
        pl = r.pipeline(transaction=False)
        for i in range(n):
            a = "a%05d" % i
            pl.hset("hilo:agent:" + a, mapping={"name": a, "role": "agent", "skills": "en", "cap:whatsapp": 3,
                                                "cap:sms": 3, "cap:voice": 1})
            pl.hset("hilo:agent:%s:live" % a, mapping={"state": "available",
                                                       "load:whatsapp": 3 if i < n - 5 else 0})
            pl.sadd("hilo:agents", a)
            pl.sadd("hilo:skill:en", a)
            pl.sadd("hilo:agents:available", a)
            pl.zadd("hilo:agents:seen", {a: now + 3600000})
            if i % 1000 == 999:
                pl.execute()
        pl.execute()

        def one_pass(refresh):
            before = evalsha_usec(r)
            t = int(time.time() * 1000)
            # ARGV[7..9]: the SLA clock, its business day (UTC) and the first-response targets.
            offers = r.evalsha(sha, 0, t, 600000, 600000, 50, 86400000, refresh, t, t // 86400000,
                               '{"*":{"f":60000,"r":14400000}}')
            return offers, (evalsha_usec(r) - before) / 1000.0

        _, build_ms = one_pass(n)            # the index for every agent
        for q in range(queued):
            d = "D%04d" % q
            r.hset("hilo:{d:%s}:conv" % d, mapping={"state": "queued", "last_channel": "whatsapp", "esc_ms": now,
                                                   "esc_counted": "1"})
            r.zadd("hilo:queue:en", {d: now})
            r.sadd("hilo:queues", "en")
        offers, offer_ms = one_pass(200)     # 20 queued, 5 free agents
        idle = [one_pass(200)[1] for _ in range(5)]  # offers pending: nothing more to offer
        return {"agents": n, "queued": queued, "offers_made": offers, "index_build_ms": round(build_ms, 1),
                "pass_with_offers_ms": round(offer_ms, 2), "pass_nothing_to_offer_ms": round(sorted(idle)[2], 2)}
    finally:
        p.terminate()
        p.wait()
        shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="200,2000,20000")
    ap.add_argument("--queued", type=int, default=20)
    ap.add_argument("--port", type=int, default=6433)
    args = ap.parse_args()
    for n in [int(x) for x in args.sizes.split(",")]:
        print(json.dumps(run_size(n, args.queued, args.port)), flush=True)


if __name__ == "__main__":
    sys.exit(main())
