#!/usr/bin/env bash
# run.sh — the connectors benchmark (docs/performance.md, section "Connectors").
#
#   1. whatsapp ack   signed WhatsApp webhooks into hilo-whatsapp; each is answered 200 only
#                     after hilo-router has committed it to Redis and acked: webhook -> ack.
#                     Engine off (the ingest path alone). CONCURRENCY senders, each sending
#                     again THINK_MS (0.5x..1.5x) after its answer, then back to back (stress).
#   2. voice turns    CONCURRENCY concurrent Twilio calls into hilo-voice with the engine on:
#                     call start, then gather turns on each answer's <Gather action> (digits),
#                     TURNS per call, then the call-end callback and a new call. Each turn is
#                     webhook -> envelope -> router commit -> engine -> Outbound -> TwiML.
#                     Callers think THINK_MS between turns; then back to back (stress).
#   3. python client  case 1 again from py_client.py (Python threads), to judge the tool.
#
# Every run gets a fresh Redis (AOF everysec, as deployed), a fresh router and connector, and
# CONCURRENCY seeded debtors (one per caller). Loopback only, nothing pinned by default: on the
# 2-core machine the load tool, the connector, the router and Redis share both cores.
#
# Usage: tests/bench/connectors/run.sh          (about 3 minutes, plus the build)
# Knobs (environment): CONCURRENCY (200) THINK_MS (1000) THINKS (think times to run: "1000 100")
#   PY_COMPARE (1: the first WhatsApp case again from Python threads) DURATION (20 s) WARMUP (3) TURNS (3)
#   STRESS (1: also the back-to-back runs) ONLY (whatsapp: skip the voice cases) KEEP (1: keep the logs in the temp dir) BUILD_DIR (build-bench-connectors) RESULTS (file for
#   the JSON lines, default tests/bench/connectors/results/last.jsonl)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
build=${BUILD_DIR:-$top/build-bench-connectors}
CONCURRENCY=${CONCURRENCY:-200}
THINK_MS=${THINK_MS:-1000}
THINKS=${THINKS:-$THINK_MS 100}
PY_COMPARE=${PY_COMPARE:-1}
DURATION=${DURATION:-20}
WARMUP=${WARMUP:-3}
TURNS=${TURNS:-3}
STRESS=${STRESS:-1}
RESULTS=${RESULTS:-$here/results/last.jsonl}

for tool in redis-server redis-cli curl python3; do
    command -v "$tool" >/dev/null || { echo "run.sh needs $tool" >&2; exit 2; }
done

echo "== build (Release, $build)"
cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j2 --target hilo-router hilo-whatsapp hilo-voice hilo-webhook-bench >/dev/null
router_bin=$build/router/hilo-router
bench=$build/tests/bench/connectors/hilo-webhook-bench
conf=$top/deploy/hilo.conf

work=$(mktemp -d /tmp/hilo-bench-conn.XXXXXX)
. "$here/../lib.sh"   # start_redis / start_router / stop_* (own pids only)
conn_pid=
stop_connector() {
    [ -n "${conn_pid:-}" ] || return 0
    kill -TERM "$conn_pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$conn_pid" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$conn_pid" 2>/dev/null || true
    wait "$conn_pid" 2>/dev/null || true
    conn_pid=
}
cleanup() { stop_connector; stop_router; stop_redis; if [ "${KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi; }
trap cleanup EXIT
mkdir -p "$(dirname "$RESULTS")"
: >"$RESULTS"

# Debtors B0..B(n-1), phone +1650500000i, verification digits 4321, English.
seed_debtors() {
    local n=$1
    awk -v n="$n" 'BEGIN {
        for (i = 0; i < n; i++) {
            id = "B" i; phone = sprintf("+%.0f", 16505000000 + i)
            printf "HSET hilo:{d:%s}:debtor debtor_id %s full_name \"Bench Caller %d\" phones %s document_last4 4321 balance 250.00 currency USD days_past_due 40 timezone America/New_York language en country US\n", id, id, i, phone
            printf "SET hilo:addr:%s %s\n", phone, id
            printf "SADD hilo:debtors %s\n", id
        }
    }' | redis-cli -p "$redis_port" >/dev/null
}

# start_connector CHANNEL: hilo-<channel> on the current router; returns when /healthz is 200.
start_connector() {
    local ch=$1 up
    up=$(tr '[:lower:]' '[:upper:]' <<<"$ch")
    conn_port=$(free_port)
    env "HILO_${up}_LINK_CONNECT=tcp://127.0.0.1:$link_port" "HILO_${up}_HTTP_PORT=$conn_port" \
        "HILO_${up}_PUBLIC_URL=http://127.0.0.1:$conn_port" "HILO_${up}_LOG_LEVEL=warn" \
        "HILO_${up}_MAX_INFLIGHT=1024" "HILO_${up}_DEAD_LETTER_FILE=$work/$ch.dead-letters.jsonl" \
        "$build/connectors/$ch/hilo-$ch" -c "$conf" 2>>"$work/$ch.log" &
    conn_pid=$!
    for _ in $(seq 200); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$conn_port/healthz" || true)" = 200 ] && return 0
        kill -0 "$conn_pid" 2>/dev/null || break
        sleep 0.05
    done
    echo "hilo-$ch did not become healthy (see $work/$ch.log)" >&2
    tail -n 20 "$work/$ch.log" >&2 || true
    return 1
}

metric() { # NAME LABEL-FILTER: sum of a connector metric's series matching the filter
    curl -s "http://127.0.0.1:$conn_port/metrics" | awk -v n="$1" -v f="$2" \
        'index($1, n) == 1 && (f == "" || index($1, f)) {s += $2} END {print s + 0}'
}

# run_case NAME CHANNEL ENGINE THINK: one fresh stack, one measurement, one JSON line.
run_case() {
    local name=$1 ch=$2 engine=$3 think=$4 secret out fallbacks cpu0 cpu1 ccpu0 ccpu1
    start_redis "$name"
    seed_debtors "$CONCURRENCY"
    BENCH_ENGINE=$engine start_router
    start_connector "$ch"
    if [ "$ch" = whatsapp ]; then secret=sandbox-app-secret; else secret=sandbox-auth-token; fi
    cpu0=$(awk '{print $14 + $15}' "/proc/$router_pid/stat")
    ccpu0=$(awk '{print $14 + $15}' "/proc/$conn_pid/stat")
    out=$("$bench" --mode "$ch" --url "http://127.0.0.1:$conn_port" --secret "$secret" \
        --phone-base 16505000000 --concurrency "$CONCURRENCY" --think-ms "$think" \
        --seconds "$DURATION" --warmup "$WARMUP" --turns "$TURNS" --label "$name") || true
    cpu1=$(awk '{print $14 + $15}' "/proc/$router_pid/stat")
    ccpu1=$(awk '{print $14 + $15}' "/proc/$conn_pid/stat")
    fallbacks=$(metric hilo_connector_webhooks_total 'result="reply_fallback"')
    out=$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); d["voice_fallbacks"]=int(float(sys.argv[2])); hz=int(sys.argv[5]); d["router_cpu_s"]=round((int(sys.argv[4])-int(sys.argv[3]))/hz,2); d["connector_cpu_s"]=round((int(sys.argv[7])-int(sys.argv[6]))/hz,2); print(json.dumps(d))' \
        "$out" "$fallbacks" "$cpu0" "$cpu1" "$(getconf CLK_TCK)" "$ccpu0" "$ccpu1")
    echo "$out" | tee -a "$RESULTS"
    stop_connector
    stop_router
    stop_redis
}

# run_python NAME THINK: the WhatsApp case again from Python threads (py_client.py), to judge
# what a Python load tool adds to the figures.
run_python() {
    local name=$1 think=$2
    start_redis "$name"
    seed_debtors "$CONCURRENCY"
    BENCH_ENGINE=false start_router
    start_connector whatsapp
    /usr/bin/python3 "$here/py_client.py" "http://127.0.0.1:$conn_port" sandbox-app-secret "$CONCURRENCY" \
        "$think" "$DURATION" "$WARMUP" 16505000000 "$name" | tee -a "$RESULTS"
    stop_connector
    stop_router
    stop_redis
}

echo "== machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
for think in $THINKS; do
    run_case "whatsapp-ack-c${CONCURRENCY}-think${think}" whatsapp false "$think"
done
[ "$STRESS" = 1 ] && run_case "whatsapp-ack-c${CONCURRENCY}-closed" whatsapp false 0
if [ "${ONLY:-}" != whatsapp ]; then
    for think in $THINKS; do
        run_case "voice-turn-c${CONCURRENCY}-think${think}" voice true "$think"
    done
    [ "$STRESS" = 1 ] && run_case "voice-turn-c${CONCURRENCY}-closed" voice true 0
fi
[ "$PY_COMPARE" = 1 ] && run_python "whatsapp-ack-c${CONCURRENCY}-think${THINK_MS}-python" "$THINK_MS"
echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== results in $RESULTS"
