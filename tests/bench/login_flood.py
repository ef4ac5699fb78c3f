#!/usr/bin/python3
"""login_flood.py — benchmark: does the router keep working while strangers flood /api/login?

Starts redis-server and one hilo-router (tests/lib/hilo_harness.py) with
[console] trusted_proxies = 127.0.0.1 and budgets wide open (every guess comes from its own
X-Forwarded-For address, so the budgets do not stop it: the worst case for the Argon2 bound),
logs one agent in, then for each `login_checks` setting:
  1. quiet: the agent's websocket sends `ping` every 50 ms, the time to its `pong` is a sample;
  2. flood: --workers threads post wrong passwords for unknown ids back to back for --seconds,
     while the pings go on.
Reports the ping round trip (p50, p95, p99, max) and how the logins were answered (401 = the
password was checked, 503 = busy, refused before any work). login_checks = 64 with a queue of
1000 stands for the code before the bound (every login went to libuv's 4-thread pool).

    tests/bench/login_flood.py [--workers 16] [--seconds 10] [--checks 1,2,64] [--build DIR]

Results: docs/performance.md ("Logins under a flood").
"""

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))]


async def pings(Console, router, token, seconds):
    c = await Console(router, token).connect()
    await c.latest("hello")
    rtts = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t0 = time.monotonic()
        await c.send("ping")
        await c.latest("pong", timeout=30)
        rtts.append((time.monotonic() - t0) * 1000)
        await asyncio.sleep(0.05)
    await c.close()
    return rtts


def one_setting(H, hc, work, checks, queue, workers, seconds):
    redis = H.RedisServer(os.path.join(work, "c%d" % checks)).start()
    router = H.Router(redis, os.path.join(work, "c%d" % checks), overrides=hc.console_overrides(
        trusted_proxies="127.0.0.1", login_checks=checks, login_queue=queue, login_source_burst=100000,
        login_account_source_max=1000, login_account_free=10000)).start()
    try:
        hc.add_agent(router.conf_path, "ben")
        token = hc.token_for(router, "ben")
        quiet = hc.run(pings(hc.Console, router, token, 3), timeout=120)
        t0 = time.monotonic()
        flood = hc.LoginFlood(router, workers)
        time.sleep(0.5)
        loaded = hc.run(pings(hc.Console, router, token, seconds), timeout=seconds + 120)
        answers = flood.stop()
        took = time.monotonic() - t0
        return {"login_checks": checks, "login_queue": queue,
                "quiet_ms": {"p50": round(pct(quiet, 0.5), 2), "p99": round(pct(quiet, 0.99), 2)},
                "flood_ms": {"p50": round(pct(loaded, 0.5), 2), "p95": round(pct(loaded, 0.95), 2),
                             "p99": round(pct(loaded, 0.99), 2), "max": round(max(loaded), 2), "n": len(loaded)},
                "logins": {str(s): answers.count(s) for s in sorted(set(answers))},
                "checked_per_s": round(answers.count(401) / took, 2)}
    finally:
        router.stop()
        redis.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--checks", default="1,2,64")
    ap.add_argument("--build", default=os.environ.get("HILO_BUILD_DIR", os.path.join(HERE, "..", "..", "build")))
    args = ap.parse_args()
    os.environ["HILO_BUILD_DIR"] = os.path.abspath(args.build)
    sys.path.insert(0, os.path.join(os.environ["HILO_BUILD_DIR"], "proto", "gen", "python"))
    import hilo_harness as H
    import hilo_console as hc
    work = tempfile.mkdtemp(prefix="hilo-login-flood-")
    out = {"cpus": os.cpu_count(), "workers": args.workers, "seconds": args.seconds, "runs": []}
    for c in (int(x) for x in args.checks.split(",")):
        r = one_setting(H, hc, work, c, 1000 if c >= 64 else 8, args.workers, args.seconds)
        print(json.dumps(r), flush=True)
        out["runs"].append(r)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
