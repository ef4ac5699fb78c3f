#!/usr/bin/env bash
# strategy_plan.sh — how long `hilo strategy plan` takes on a portfolio of N debtors (issue 20:
# <= 60 s for 1,000,000 on the 2-core machine). Loads a synthetic portfolio into a fresh
# redis-server (debtor hashes as `hilo import-debtors` writes them; a fifth with a conversation,
# some with opt-outs, agents, disputes, consent, promises and payments), then times the plan of
# deploy/strategies/demo.strategy at a fixed --at, text summary (--limit 0) and --json to
# /dev/null. Writes a JSON line per run to stdout.
# Usage: strategy_plan.sh [N]   (default 20000; the issue's figure: 1000000)
#        HILO_BUILD_DIR=build-dev by default.
set -euo pipefail
n=${1:-20000}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${HILO_BUILD_DIR:-$top/build-dev}
hilo=$build/router/cli/hilo
work=$(mktemp -d /tmp/hilo-bench-plan.XXXXXX)
. "$here/lib.sh"
cleanup() { stop_redis; rm -rf "$work"; }
trap cleanup EXIT

start_redis plan
load_start=$(date +%s.%N)
/usr/bin/python3 - "$n" <<'PY' | redis-cli -p "$redis_port" --pipe >/dev/null
import json, random, sys
n = int(sys.argv[1])
rng = random.Random(20)
out = sys.stdout.buffer
def cmd(*args):
    b = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        b.append(b"$%d\r\n%s\r\n" % (len(a), a))
    out.write(b"".join(b))
zones = [("US", "America/New_York", "USD", "en"), ("US", "America/Los_Angeles", "USD", "es"),
         ("CO", "America/Bogota", "COP", "es"), ("MX", "America/Mexico_City", "MXN", "es"),
         ("PE", "America/Lima", "PEN", "es"), ("CL", "America/Santiago", "CLP", "es")]
for i in range(n):
    d = "B%07d" % i
    cc, tz, cur, lang = zones[i % len(zones)]
    phone = "+1650%07d" % i if cc == "US" else "+57300%07d" % i
    k = "hilo:{d:%s}:" % d
    cmd("HSET", k + "debtor", "debtor_id", d, "full_name", "Debtor %d" % i, "phones", phone,
        "email", "", "document_last4", "1234", "balance", "%d.%02d" % (rng.randint(0, 5000), rng.randint(0, 99)),
        "currency", cur, "days_past_due", rng.randint(0, 180), "timezone", tz, "language", lang,
        "country", cc, "attr:product", "credit_card", "attr:payment_token", "tok%d" % i,
        "imported_ms", 1795000000000)
    cmd("SADD", "hilo:debtors", d)
    r = i % 20
    if r < 4:
        f = {0: ("state", "assigned"), 1: ("optout:whatsapp", "1795000000000"), 2: ("verified_ms", "1795000000000"),
             3: ("esc_reason", "dispute")}[r]
        cmd("HSET", k + "conv", "state", "bot", "last_in_ms", 1795000000000, f[0], f[1])
    if r in (5, 6):
        cmd("HSET", k + "consent", "sms:" + phone, "granted|1790000000000|import")
    if r == 7:
        cmd("HSET", k + "promises", "p1", json.dumps({"kind": "promise", "amount_cents": 5000, "currency": cur,
            "due": "2026-12-01", "state": "pending", "created_ms": 1795000000000}))
    if r == 8:
        cmd("HSET", k + "payments", "R%d" % i, json.dumps({"reference": "R%d" % i, "amount_cents": 100000000,
            "currency": cur, "imported_ms": 1795000000001}))
PY
load_end=$(date +%s.%N)
dbsize=$(redis-cli -p "$redis_port" dbsize)
used=$(redis-cli -p "$redis_port" info memory | awk -F: '/^used_memory:/ {print $2}' | tr -d '\r')
conf=$work/hilo.conf
printf '[redis]\nhost = 127.0.0.1\nport = %s\ntimeout_ms = 60000\n[engine]\ncompliance_dir = %s/deploy/compliance\n[strategies]\ndir = %s/deploy/strategies\n' \
    "$redis_port" "$top" "$top" >"$conf"
for mode in text json; do
    args=(--at 2026-11-24T09:00:00Z --limit 0)
    [ "$mode" = json ] && args+=(--json)
    t0=$(date +%s.%N)
    /usr/bin/time -f '%M %U %S' -o "$work/time" "$hilo" -c "$conf" strategy plan "${args[@]}" >"$work/out.$mode"
    t1=$(date +%s.%N)
    read -r rss user sys <"$work/time"
    summary=$(tail -n 1 "$work/out.$mode")
    [ "$mode" = text ] && summary=$(grep '^plan at' "$work/out.$mode")
    /usr/bin/python3 -c '
import json, sys
n, mode, t0, t1, rss, user, sysc, load, keys, mem, summary = sys.argv[1:]
print(json.dumps({"bench": "strategy_plan", "debtors": int(n), "mode": mode, "seconds": round(float(t1) - float(t0), 2),
                  "cli_user_s": float(user), "cli_sys_s": float(sysc), "cli_max_rss_kb": int(rss),
                  "load_seconds": round(float(load), 1), "redis_keys": int(keys), "redis_used_memory": int(mem),
                  "summary": summary}))' "$n" "$mode" "$t0" "$t1" "$rss" "$user" "$sys" \
        "$(echo "$load_end - $load_start" | bc)" "$dbsize" "$used" "$summary"
done
