#!/usr/bin/python3
"""console_ws.py — benchmark: many console websockets on one router, with live updates.

Starts redis-server and one hilo-router (tests/lib/hilo_harness.py), creates N agent accounts and
sessions directly in Redis (no Argon2id: logging 20,000 agents in is not what is measured),
opens N websockets to /ws from several client processes, then measures the update push
latency: a supervisor socket changes a sampled agent's availability (`state` request), and the
time until that agent's own socket receives the `agent` snapshot with the new state is one
sample (request -> agent_ops.lua -> the op's answer on the same router, or with
--boss-elsewhere the event stream's blocking read on the agents' router -> snapshot read ->
push), while a second supervisor (another process) follows the floor of all N agents,
pushed every second. Agents are stored as `hilo agent add` stores them (hilo:agents,
hilo:skill:bench), so the floor and routing work on all of them. Also reports the router's
resident memory per connection.

    tests/bench/console_ws.py [--connections 19800] [--procs 4] [--samples 1000] [--build DIR]
                              [--floor-metrics-s N]

Results: docs/performance.md ("Console websockets"). Needs python3-websockets.
"""

import argparse
import asyncio
import hashlib
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


async def hold(url, tokens, ready_path, concurrency=100):
    """Child: opens one socket per token and keeps them alive (answering pings)."""
    import websockets
    sem = asyncio.Semaphore(concurrency)
    socks, failed = [], 0

    async def one(tok):
        nonlocal failed
        async with sem:
            for attempt in range(5):
                try:
                    ws = await websockets.connect(url + "?token=" + tok, open_timeout=60, ping_interval=None,
                                                  max_size=1 << 20)
                    await ws.recv()            # hello
                    socks.append(ws)
                    asyncio.ensure_future(drain(ws))
                    return
                except Exception:
                    await asyncio.sleep(0.5 * (attempt + 1))
            failed += 1

    async def drain(ws):
        try:
            async for raw in ws:
                if raw.startswith('{"t":"ping"'):
                    await ws.send('{"t":"pong"}')
        except Exception:
            pass

    await asyncio.gather(*(one(t) for t in tokens))
    with open(ready_path, "w") as f:
        f.write("%d %d\n" % (len(socks), failed))
    # Stay until the parent closes our stdin.
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)
    for ws in socks:
        await ws.close()


async def watch(url, token, out_path):
    """Child: a second supervisor following the floor (all agents, every second) until stdin
    closes; writes how many floors and bytes it received."""
    import websockets
    ws = await websockets.connect(url + "?token=" + token, ping_interval=None, max_size=256 << 20)
    await ws.recv()
    await ws.send(json.dumps({"t": "floor", "rid": "floor"}))
    floors, nbytes, biggest = 0, 0, 0

    async def drain():
        nonlocal floors, nbytes, biggest
        async for raw in ws:
            if raw.startswith('{"t":"ping"'):
                await ws.send('{"t":"pong"}')
            elif len(raw) > 65536 or '"t":"floor"' in raw:
                floors += 1
                nbytes += len(raw)
                biggest = max(biggest, len(raw))
    task = asyncio.ensure_future(drain())
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)
    task.cancel()
    await ws.close()
    with open(out_path, "w") as f:
        json.dump({"floors": floors, "bytes": nbytes, "largest_bytes": biggest}, f)


def child_main(args):
    if args.watch:
        tok = open(args.tokens).read().split()[0]
        asyncio.run(watch(args.url, tok, args.ready))
        return
    tokens = open(args.tokens).read().split()
    asyncio.run(hold(args.url, tokens, args.ready))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--connections", type=int, default=19800)
    ap.add_argument("--procs", type=int, default=4)
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--sampled-agents", type=int, default=50)
    ap.add_argument("--build", default=os.environ.get("HILO_BUILD_DIR", os.path.join(HERE, "..", "..", "build")))
    ap.add_argument("--nice", type=int, default=0, help="niceness of the client processes holding the sockets")
    ap.add_argument("--child", action="store_true")
    ap.add_argument("--watch", action="store_true", help="child: a supervisor following the floor")
    ap.add_argument("--no-floor", action="store_true", help="no supervisor following the floor")
    ap.add_argument("--floor-metrics-s", type=int, default=None,
                    help="the routers' [console] floor_metrics_s (the floor read for /metrics; 0 = off; default: the router's)")
    ap.add_argument("--boss-elsewhere", action="store_true",
                    help="the supervisor making the changes on a second router (the update travels through "
                         "the event stream to the agents' router)")
    ap.add_argument("--url")
    ap.add_argument("--tokens")
    ap.add_argument("--ready")
    args = ap.parse_args()
    if args.child:
        return child_main(args)
    os.environ["HILO_BUILD_DIR"] = os.path.abspath(args.build)
    sys.path.insert(0, os.path.join(os.environ["HILO_BUILD_DIR"], "proto", "gen", "python"))
    import hilo_harness as H
    from hilo_console import console_overrides
    import websockets

    metrics_kw = {} if args.floor_metrics_s is None else {"floor_metrics_s": args.floor_metrics_s}
    work = tempfile.mkdtemp(prefix="hilo-bench-console-")
    redis = H.RedisServer(work).start()
    # The supervisor socket sends ~40 requests/s: above the default per-socket rate limit.
    router = H.Router(redis, work, overrides=dict(console_overrides(grace_ms=600000, rate_per_s=1000, rate_burst=1000, **metrics_kw),
                                                  router={"log_level": "warn"}))
    router.start()
    router2 = None
    if args.boss_elsewhere:
        router2 = H.Router(redis, work, name="router-2",
                           overrides=dict(console_overrides(grace_ms=600000, rate_per_s=1000, rate_burst=1000, **metrics_kw),
                                          router={"log_level": "warn"}))
        router2.start()
    r = redis.client()
    n, s = args.connections, args.sampled_agents
    print("seeding %d agents and sessions..." % n, flush=True)
    now = int(time.time() * 1000)
    tokens = []
    p = r.pipeline(transaction=False)
    for i in range(n + 2):
        aid = "b%05d" % i if i < n else ("boss", "watch")[i - n]
        role = "agent" if i < n else "supervisor"
        tok = secrets.token_hex(32)
        tokens.append(tok)
        p.hset("hilo:agent:" + aid, mapping={"name": aid, "role": role, "skills": "bench", "cap:whatsapp": 3,
                                             "cap:sms": 3, "cap:voice": 1})
        # As `hilo agent add` stores them: the floor and the routing see all of them.
        p.sadd("hilo:agents", aid)
        p.sadd("hilo:skill:bench", aid)
        p.hset("hilo:session:" + hashlib.sha256(tok.encode()).hexdigest(),
               mapping={"agent": aid, "role": role, "created_ms": now, "exp_ms": now + 86400000})
        if i % 2000 == 0:
            p.execute()
    p.execute()
    url = "ws://127.0.0.1:%d/ws" % router.http_port
    base_rss = rss_kb(router.proc.pid)

    # Agents 0..s-1 are sampled from this process; the rest are held by the children.
    rest = tokens[s:n]
    children = []
    t0 = time.monotonic()
    for k in range(args.procs):
        part = rest[k::args.procs]
        tf, rf = os.path.join(work, "tokens-%d" % k), os.path.join(work, "ready-%d" % k)
        with open(tf, "w") as f:
            f.write("\n".join(part))
        children.append((subprocess.Popen([sys.executable, __file__, "--child", "--url", url, "--tokens", tf,
                                           "--ready", rf], stdin=subprocess.PIPE,
                                          preexec_fn=(lambda: os.nice(args.nice)) if args.nice else None), rf))

    # A supervisor following the floor of all the agents, in its own process.
    wtf, wrf = os.path.join(work, "tokens-watch"), os.path.join(work, "watch.json")
    with open(wtf, "w") as f:
        f.write(tokens[n + 1])
    watcher = None if args.no_floor else subprocess.Popen(
        [sys.executable, __file__, "--child", "--watch", "--url", url, "--tokens", wtf, "--ready", wrf],
        stdin=subprocess.PIPE)

    async def measure():
        sampled = {}
        for i in range(s):
            ws = await websockets.connect(url + "?token=" + tokens[i], ping_interval=None, max_size=1 << 20)
            await ws.recv()
            sampled["b%05d" % i] = ws
        boss_url = "ws://127.0.0.1:%d/ws" % router2.http_port if router2 else url
        boss = await websockets.connect(boss_url + "?token=" + tokens[n], ping_interval=None, max_size=1 << 20)
        await boss.recv()
        # Wait for every child.
        while not all(os.path.exists(rf) for _, rf in children):
            await asyncio.sleep(0.5)
        held = sum(int(open(rf).read().split()[0]) for _, rf in children)
        failed = sum(int(open(rf).read().split()[1]) for _, rf in children)
        connect_s = time.monotonic() - t0
        with urllib.request.urlopen("http://127.0.0.1:%d/api/console-stats" % router.http_port) as resp:
            stats = json.loads(resp.read())
        await asyncio.sleep(12)                   # one full resync period passes
        rss = rss_kb(router.proc.pid)
        print("connected: %d held by children (%d failed) + %d sampled + 2 supervisors in %.1f s; router says %s"
              % (held, failed, s, connect_s, stats), flush=True)

        async def drain(ws, inbox):
            async for raw in ws:
                m = json.loads(raw)
                if m.get("t") == "ping":
                    await ws.send('{"t":"pong"}')
                inbox.append((time.monotonic(), m))
        inboxes = {a: [] for a in sampled}
        tasks = [asyncio.ensure_future(drain(ws, inboxes[a])) for a, ws in sampled.items()]
        boss_inbox = []
        tasks.append(asyncio.ensure_future(drain(boss, boss_inbox)))
        lat = []
        agents = list(sampled)
        state = {a: "away" for a in agents}
        for i in range(args.samples):
            a = agents[i % len(agents)]
            new = "available" if state[a] == "away" else "away"
            state[a] = new
            inboxes[a].clear()
            t_send = time.monotonic()
            await boss.send(json.dumps({"t": "state", "agent": a, "state": new, "rid": i}))
            deadline = t_send + 5
            got = None
            while time.monotonic() < deadline and got is None:
                for t_recv, m in inboxes[a]:
                    if m.get("t") == "agent" and m.get("state") == new:
                        got = t_recv
                        break
                await asyncio.sleep(0.001)
            lat.append((got - t_send) * 1000 if got else None)
            await asyncio.sleep(0.02)
        for t in tasks:
            t.cancel()
        return held + s + 2, failed, connect_s, stats, rss, [x for x in lat if x is not None], lat.count(None)

    total, failed, connect_s, stats, rss, lat, lost = asyncio.run(measure())
    for proc, _ in children:
        proc.stdin.close()
    for proc, _ in children:
        proc.wait(120)
    if watcher:
        watcher.stdin.close()
        watcher.wait(120)
    floor = json.load(open(wrf)) if os.path.exists(wrf) else None
    lat.sort()

    def pct(q):
        return lat[min(len(lat) - 1, int(q * len(lat)))] if lat else float("nan")
    res = {"connections": total, "connect_failed": failed, "connect_s": round(connect_s, 1),
           "router_rss_mb_idle": round(base_rss / 1024, 1), "router_rss_mb_loaded": round(rss / 1024, 1),
           "rss_kb_per_connection": round((rss - base_rss) / max(total, 1), 1),
           "redis_used_memory_mb": round(r.info("memory")["used_memory"] / 1048576, 1),
           "samples": len(lat), "lost": lost, "p50_ms": round(pct(0.5), 1), "p95_ms": round(pct(0.95), 1),
           "p99_ms": round(pct(0.99), 1), "max_ms": round(lat[-1], 1) if lat else None,
           "mean_ms": round(statistics.mean(lat), 1) if lat else None, "floor_watcher": floor,
           "boss_on_other_router": bool(router2)}
    print(json.dumps(res, indent=1))
    router.stop()
    if router2:
        router2.stop()
    redis.stop()


if __name__ == "__main__":
    main()
