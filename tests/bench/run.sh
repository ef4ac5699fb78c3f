#!/usr/bin/env bash
# run.sh — the router benchmark (docs/performance.md explains the method and the results).
#
#   0. fidelity          MONITOR both for 200 messages: the replay must send what the router sends
#   1. replay (before)   hilo-replay: the router's Redis commands alone, fresh Redis    -> the limit
#   2. router max        hilo-loadgen closed loop through hilo-router, fresh Redis       -> max rate
#   3. latency           open loop at 25/50/80% of that max, fresh Redis + router each  -> p50/p99/p99.9
#                        (50% LAT50_RUNS times: lat50, lat50_2, ...; the goal takes the median p99;
#                        between them as many "untuned" 50% runs, with the kernel's default
#                        writeback instead of deploy/sysctl/90-hilo-redis.conf: see below)
#                        and once more at 50% with an AOF rewrite forced half-way (BGREWRITEAOF);
#                        each with the loadgen's --timeline, summed up by timeline.py (where the
#                        messages over 2 ms are) and the CPU others took meanwhile
#   4. replay (after)    as 1, to see whether the machine changed during the run
#   5. memory            used_memory per debtor: portfolio only, 10 and 100 history items
#
# CPU split on the 2-core machine: Redis alone on CPU 1 (it is the shared limit, as on its own
# host or cores in production); the router and the loadgen (the connectors' stand-in) on CPU 0,
# and the replay client there too, so Redis has the same core to itself in every phase.
# Loopback only.
# Every Redis is new (empty dir), AOF on with appendfsync everysec, no RDB snapshots.
# The host is tuned as deploy/sysctl/90-hilo-redis.conf says a Redis host should be (dirty page
# writeback from 1 MiB) for the run, when run as root, and put back as it was at the end; the
# untuned 50% runs (lat50_untuned...) use the values found before the run.
#
# Usage: tests/bench/run.sh            (about 6 minutes, plus the build)
# Knobs (environment): DEBTORS MESSAGES WINDOW CONNECTORS LAT_SECONDS ROUTER_CPU REDIS_CPU
#                      LOADGEN_CPU (empty = unpinned) MEM_DEBTORS BUILD_DIR RESULTS_NAME
#                      LAT_TICK_US (open loop: the loadgen sends what is due every this many us)
#                      LAT50_RUNS (3: the 50 % run is repeated; the goal takes the median p99)
#                      REDIS_ARGS (extra redis-server options, e.g. "--auto-aof-rewrite-percentage 0")
#                      REDIS_SOCKET=1 (router and replay reach Redis by its unix socket, not TCP)
#                      REDIS_CHILD_CPUS (where Redis's AOF rewrite child runs; default: every CPU
#                      but REDIS_CPU, as docs/operations.md asks of a Redis host; "" = Redis's own
#                      CPU, the child then competes with Redis's main thread)
#                      HOST_TUNING=0 (leave the kernel's settings alone: no tuned/untuned pairs)
#                      ROUTER_BIN + LOADGEN_BIN + REPLAY_BIN
#                      to skip the build and use those binaries.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${BUILD_DIR:-$top/build-bench}
DEBTORS=${DEBTORS:-10000}
MESSAGES=${MESSAGES:-300000}
WINDOW=${WINDOW:-1000}
CONNECTORS=${CONNECTORS:-4}
LAT_SECONDS=${LAT_SECONDS:-10}
ROUTER_CPU=${ROUTER_CPU-0} # set to "" to leave a process unpinned
REDIS_CPU=${REDIS_CPU-1}
LOADGEN_CPU=${LOADGEN_CPU-0}
if [ -z "${REDIS_CHILD_CPUS+set}" ]; then
    REDIS_CHILD_CPUS=
    if [[ $REDIS_CPU =~ ^[0-9]+$ ]]; then
        REDIS_CHILD_CPUS=$(seq 0 $(($(nproc) - 1)) | grep -vx "$REDIS_CPU" | paste -sd, -)
    fi
fi
export REDIS_CHILD_CPUS
LAT_TICK_US=${LAT_TICK_US:-100}
# The 50 % run is the goal's and varies most between runs: it is made this many times (lat50,
# lat50_2, lat50_3...) and the goal is judged on the median p99.
LAT50_RUNS=${LAT50_RUNS:-3}
MEM_DEBTORS=${MEM_DEBTORS:-1000}
HOST_TUNING=${HOST_TUNING:-1}

for tool in redis-server redis-cli jq curl taskset python3; do
    command -v "$tool" >/dev/null || { echo "run.sh needs $tool" >&2; exit 2; }
done

if [ -n "${ROUTER_BIN:-}" ]; then # prebuilt binaries (all three must then be given)
    router_bin=$ROUTER_BIN loadgen=$LOADGEN_BIN replay=$REPLAY_BIN
else
    echo "== build (Release, $build)"
    cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$build" -j2 --target hilo-router hilo-loadgen hilo-replay >/dev/null
    router_bin=$build/router/hilo-router
    loadgen=$build/tests/bench/hilo-loadgen
    replay=$build/tests/bench/hilo-replay
fi
conf=$top/deploy/hilo.conf

work=$(mktemp -d /tmp/hilo-bench.XXXXXX)
. "$here/lib.sh"
sampler_pid=
monitor_pid=
cleanup() {
    host_untuned
    [ -n "$sampler_pid" ] && kill "$sampler_pid" 2>/dev/null || true
    [ -n "$monitor_pid" ] && kill "$monitor_pid" 2>/dev/null || true
    stop_router
    stop_redis
    rm -rf "$work"
}
trap cleanup EXIT

# The Redis host's writeback setting (deploy/sysctl/90-hilo-redis.conf). The kernel keeps either
# a byte or a ratio threshold (setting one zeroes the other), so the original is put back as
# whichever of the two was set.
tuning_file=$top/deploy/sysctl/90-hilo-redis.conf
tuned_bytes=$(awk -F= '/^vm.dirty_background_bytes/ {gsub(/ /, "", $2); print $2}' "$tuning_file")
orig_bytes=$(sysctl -n vm.dirty_background_bytes)
orig_ratio=$(sysctl -n vm.dirty_background_ratio)
host_tuned() {
    sysctl -q vm.dirty_background_bytes="$tuned_bytes" 2>/dev/null
}
host_untuned() {
    if [ "$orig_bytes" != 0 ]; then
        sysctl -q vm.dirty_background_bytes="$orig_bytes" 2>/dev/null || true
    else
        sysctl -q vm.dirty_background_ratio="$orig_ratio" 2>/dev/null || true
    fi
}
if [ "$HOST_TUNING" = 1 ] && [ "$orig_bytes" != "$tuned_bytes" ]; then
    if host_tuned; then
        echo "== host: vm.dirty_background_bytes $tuned_bytes for this run (was bytes $orig_bytes, ratio $orig_ratio)"
    else
        echo "== host: cannot set vm.dirty_background_bytes (not root?): every run is untuned" >&2
        HOST_TUNING=0
    fi
elif [ "$HOST_TUNING" = 1 ]; then
    echo "== host: already tuned (vm.dirty_background_bytes $orig_bytes): no untuned runs" >&2
    HOST_TUNING=0
fi
pin() { # CPU CMD...: runs CMD on that CPU, or anywhere when CPU is empty
    local cpu=$1
    shift
    if [ -n "$cpu" ]; then taskset -c "$cpu" "$@"; else "$@"; fi
}
results=$work/results.jsonl
: >"$results"

history_max=$(awk -F= '/^history_max/ {gsub(/ /,"",$2); print $2}' "$conf")
batch_max=$(awk -F= '/^commit_batch_max/ {gsub(/ /,"",$2); print $2}' "$conf")
dedupe_s=$(awk -F= '/^dedupe_window_s/ {gsub(/ /,"",$2); print $2}' "$conf")
gen_args=(--debtors "$DEBTORS")

# Redis-side counters around a phase: CPU seconds, AOF rewrites, commands.
redis_cpu() { awk -v u="$(redis_info used_cpu_user)" -v s="$(redis_info used_cpu_sys)" 'BEGIN {print u + s}'; }
diff_s() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", b - a}'; }

record() { # PHASE JSON [extra jq assignments]
    local phase=$1 json=$2
    shift 2
    jq -c --arg phase "$phase" ". + {phase: \$phase} $*" <<<"$json" >>"$results"
}

# Redis's own accounting: {command: {calls, usec_per_call}} (the script's inner commands too).
commandstats() {
    redis-cli -p "$redis_port" info commandstats | tr -d '\r' |
        awk -F'[:,=]' '/^cmdstat_/ {sub(/^cmdstat_/, "", $1); printf "%s\"%s\":{\"calls\":%s,\"usec_per_call\":%s}", (n++ ? "," : "{"), $1, $3, $7} END {print (n ? "}" : "{}")}'
}

# The router's own view (envelope received -> ack sent, its /metrics histogram), for the
# measured part of a run only: the bucket counts at the end minus those at the end of the
# warm-up. Gives the upper bound of the bucket holding p50/p99/p99.9, in ms.
commit_buckets() { # FILE: "le count" lines
    curl -s "http://127.0.0.1:$http_port/metrics" |
        awk -F'[{}" ]+' '/^hilo_commit_latency_seconds_bucket/ {print $3, $NF}' >"$1"
}
router_commit_latency() { # BEFORE_FILE AFTER_FILE
    paste -d' ' "$1" "$2" | awk '
        {le[n] = $1; c[n++] = $4 - $2}
        END {
            if (!n || c[n - 1] <= 0) { print "null"; exit }
            total = c[n - 1]
            split("50 99 99.9", ps, " ")
            printf "{\"n\":%d", total
            for (k = 1; k <= 3; k++) {
                for (i = 0; i < n && c[i] < total * ps[k] / 100; i++) ;
                v = (le[i] == "+Inf") ? "null" : le[i] * 1000
                printf ",\"p%s_le_ms\":%s", ps[k], v
            }
            printf "}\n"
        }'
}

run_replay() { # PHASE
    start_redis "$1" "$REDIS_CPU"
    "$replay" --host "$redis_host" --port "$redis_port" --preload "${gen_args[@]}" >/dev/null
    local c0 out c1
    c0=$(redis_cpu)
    out=$(pin "$ROUTER_CPU" "$replay" --host "$redis_host" --port "$redis_port" "${gen_args[@]}" --messages "$MESSAGES" \
        --window "$WINDOW" --history-max "$history_max" --dedupe-window-ms "$((dedupe_s * 1000))" --batch "$batch_max")
    c1=$(redis_cpu)
    record "$1" "$out" "+ {redis_cpu_s: $(diff_s "$c0" "$c1"), aof_rewrites: $(redis_info aof_rewrites), \
commandstats: $(commandstats)}"
    stop_redis
    echo "   $(jq -c '{rate, p50_us: .lat_us.p50, p99_us: .lat_us.p99}' <<<"$out")"
}

# Samples the router's in-flight gauge every 200 ms into FILE (to compare its pipeline depth
# with the replay's window).
sample_inflight() { # FILE
    while :; do
        curl -s "http://127.0.0.1:$http_port/metrics" | awk '$1=="hilo_inflight" {print $2}' >>"$1" || true
        sleep 0.2
    done
}

echo "== machine: $(nproc) CPUs, load: $(uptime | sed 's/.*load average: //')"
load_before=$(cut -d' ' -f1 /proc/loadavg)

echo "== 0. fidelity: the router's and the replay's Redis commands for the same 200 messages"
# One at a time (window 1) so that the order is fixed; MONITOR records both sides.
sha=$(sha1sum "$top/router/lua/commit_inbound.lua" | cut -d' ' -f1)
start_redis fid_router "$REDIS_CPU"
"$replay" --host "$redis_host" --port "$redis_port" --preload "${gen_args[@]}" >/dev/null
start_router "$ROUTER_CPU"
redis-cli -p "$redis_port" monitor >"$work/monitor_router.txt" &
monitor_pid=$!
sleep 0.2
"$loadgen" --endpoint "tcp://127.0.0.1:$link_port" --connectors 2 "${gen_args[@]}" --unknown-pm 100 \
    --messages 200 --window 1 --label fidelity >/dev/null || true
sleep 0.2
kill "$monitor_pid"; wait "$monitor_pid" 2>/dev/null || true
stop_router
stop_redis
start_redis fid_replay "$REDIS_CPU"
"$replay" --host "$redis_host" --port "$redis_port" --preload "${gen_args[@]}" >/dev/null
redis-cli -p "$redis_port" monitor >"$work/monitor_replay.txt" &
monitor_pid=$!
sleep 0.2
"$replay" --host "$redis_host" --port "$redis_port" "${gen_args[@]}" --unknown-pm 100 --messages 200 --window 1 \
    --history-max "$history_max" --dedupe-window-ms "$((dedupe_s * 1000))" --batch "$batch_max" >/dev/null
sleep 0.2
kill "$monitor_pid"; wait "$monitor_pid" 2>/dev/null || true
monitor_pid=
stop_redis
fid=$(python3 "$here/fidelity.py" "$work/monitor_router.txt" "$work/monitor_replay.txt" "$sha") || true
jq -c '{phase: "fidelity"} + .' <<<"$fid" >>"$results"
echo "   $(jq -c '{identical, router_commands, replay_commands, router_other_commands}' <<<"$fid")"

echo "== 1. replay before ($MESSAGES messages, window $WINDOW)"
run_replay replay_before

echo "== 2. router max throughput (closed loop, window $WINDOW, $CONNECTORS connectors)"
start_redis router_max "$REDIS_CPU"
"$replay" --host "$redis_host" --port "$redis_port" --preload "${gen_args[@]}" >/dev/null
start_router "$ROUTER_CPU"
sample_inflight "$work/inflight.txt" &
sampler_pid=$!
c0=$(redis_cpu)
r0=$(proc_cpu_s "$router_pid")
x0=$(proc_ctxsw "$router_pid")
out=$(pin "$LOADGEN_CPU" "$loadgen" --endpoint "tcp://127.0.0.1:$link_port" --connectors "$CONNECTORS" \
    "${gen_args[@]}" --messages "$MESSAGES" --window "$WINDOW" --label max) || true
r1=$(proc_cpu_s "$router_pid")
x1=$(proc_ctxsw "$router_pid")
c1=$(redis_cpu)
kill "$sampler_pid" 2>/dev/null || true
wait "$sampler_pid" 2>/dev/null || true
sampler_pid=
inflight=$(awk '$1>0 {s+=$1; n++} END {printf "%.0f", n ? s/n : 0}' "$work/inflight.txt")
record router_max "$out" "+ {redis_cpu_s: $(diff_s "$c0" "$c1"), router_cpu_s: $(diff_s "$r0" "$r1"), \
router_inflight_mean: $inflight, router_ctxsw: $((x1 - x0)), aof_rewrites: $(redis_info aof_rewrites)}"
stop_router
stop_redis
max_rate=$(jq -r .rate <<<"$out")
echo "   $(jq -c '{rate, acked, nacked, timeouts, p50_us: .lat_us.p50, p99_us: .lat_us.p99}' <<<"$out") router in-flight ~$inflight"

echo "== 3. latency, open loop, $LAT_SECONDS s each (first second not counted)"
tag=10
lat50_runs=()
for ((k = 1; k <= LAT50_RUNS; k++)); do
    sfx=$([ "$k" = 1 ] || echo "_$k")
    lat50_runs+=("lat50$sfx")
    [ "$HOST_TUNING" = 1 ] && lat50_runs+=("lat50_untuned$sfx")
done
for run in lat25 "${lat50_runs[@]}" lat80 lat50_rewrite; do
    pct=${run#lat}
    pct=${pct%%_*}
    rate=$((max_rate * pct / 100))
    case $run in
        *untuned*) host_untuned ;;
        *) [ "$HOST_TUNING" = 1 ] && host_tuned ;;
    esac
    dirty_bytes=$(sysctl -n vm.dirty_background_bytes)
    start_redis "$run" "$REDIS_CPU"
    "$replay" --host "$redis_host" --port "$redis_port" --preload "${gen_args[@]}" >/dev/null
    start_router "$ROUTER_CPU"
    c0=$(redis_cpu)
    r0=$(proc_cpu_s "$router_pid")
    x0=$(proc_ctxsw "$router_pid")
    m0=("$(thread_cpu_ms 'bio_aof*' "$redis_pid")" "$(thread_cpu_ms 'kdamond*')" "$(cpu_softirq_ms "${REDIS_CPU:-1}")"
        "$(du -sb "$redis_dir" | cut -f1)")
    pin "$LOADGEN_CPU" "$loadgen" --endpoint "tcp://127.0.0.1:$link_port" \
        --connectors "$CONNECTORS" "${gen_args[@]}" --tag $((tag++)) --rate "$rate" --duration "$LAT_SECONDS" \
        --warmup 1 --tick-us "$LAT_TICK_US" --label "$run" --timeline "$work/timeline.txt" >"$work/lat.json" &
    lg_pid=$!
    sleep 1
    commit_buckets "$work/buckets0"
    if [ "$run" = lat50_rewrite ]; then
        # The rewrite Redis does by itself as the AOF grows (auto-aof-rewrite-*), on demand.
        sleep "$((LAT_SECONDS / 2 - 1))"
        redis-cli -p "$redis_port" bgrewriteaof >/dev/null
    fi
    wait "$lg_pid" || true
    commit_buckets "$work/buckets1"
    out=$(cat "$work/lat.json")
    r1=$(proc_cpu_s "$router_pid")
    x1=$(proc_ctxsw "$router_pid")
    c1=$(redis_cpu)
    m1=("$(thread_cpu_ms 'bio_aof*' "$redis_pid")" "$(thread_cpu_ms 'kdamond*')" "$(cpu_softirq_ms "${REDIS_CPU:-1}")"
        "$(du -sb "$redis_dir" | cut -f1)")
    # Where the slow messages are (timeline.py), and what else took CPU meanwhile: Redis's
    # AOF fsync thread, the kernel's DAMON monitor (kdamond, on this VM) and the soft
    # interrupts on Redis's CPU (where this VM delivers the disk's completions); and how much
    # the AOF grew per message (all of it is written back by the once-a-second fsync).
    tail_json=$(python3 "$here/timeline.py" "$work/timeline.txt" 1000 || echo null)
    acked=$(jq '.acked // 0' <<<"$out")
    record "$run" "$out" "+ {tail: $tail_json, others_cpu_ms: {redis_fsync_thread: $((m1[0] - m0[0])), \
kdamond: $((m1[1] - m0[1])), softirq_on_redis_cpu: $((m1[2] - m0[2]))}, \
aof_bytes_per_msg: $(((m1[3] - m0[3]) / (acked > 0 ? acked : 1))), load_pct: $pct, dirty_background_bytes: $dirty_bytes, router_commit_latency: $(router_commit_latency "$work/buckets0" "$work/buckets1"), redis_cpu_s: $(diff_s "$c0" "$c1"), \
router_cpu_s: $(diff_s "$r0" "$r1"), router_ctxsw: $((x1 - x0)), aof_rewrites: $(redis_info aof_rewrites), \
aof_rewrite_s: $(redis_info aof_last_rewrite_time_sec), fork_us: $(redis_info latest_fork_usec)}"
    stop_router
    stop_redis
    echo "   $run: $(jq -c '{target_rate, rate, acked, timeouts, p50_us: .lat_us.p50, p99_us: .lat_us.p99, p999_us: .lat_us.p999}' <<<"$out")"
done

[ "$HOST_TUNING" = 1 ] && host_tuned

echo "== 4. replay after"
run_replay replay_after

echo "== 5. memory per debtor ($MEM_DEBTORS debtors)"
start_redis memory "$REDIS_CPU"
mem_args=(--port "$redis_port" --debtors "$MEM_DEBTORS" --round-robin --history-max "$history_max"
    --dedupe-window-ms "$((dedupe_s * 1000))" --batch "$batch_max")
m0=$(redis_info used_memory)
"$replay" --host "$redis_host" --port "$redis_port" --preload --debtors "$MEM_DEBTORS" >/dev/null
m1=$(redis_info used_memory)
"$replay" "${mem_args[@]}" --messages $((MEM_DEBTORS * 10)) --window 200 >/dev/null
m10=$(redis_info used_memory)
"$replay" "${mem_args[@]}" --first $((MEM_DEBTORS * 10)) --messages $((MEM_DEBTORS * 90)) --window 200 >/dev/null
m100=$(redis_info used_memory)
frag=$(redis_info mem_fragmentation_ratio)
stop_redis
jq -nc --argjson d "$MEM_DEBTORS" --argjson m0 "$m0" --argjson m1 "$m1" --argjson m10 "$m10" --argjson m100 "$m100" \
    --arg frag "$frag" \
    '{phase: "memory", debtors: $d, used_memory: {empty: $m0, portfolio: $m1, items10: $m10, items100: $m100},
      bytes_per_debtor: {portfolio: (($m1 - $m0) / $d | floor), items10: (($m10 - $m0) / $d | floor),
                         items100: (($m100 - $m0) / $d | floor)},
      bytes_per_item: (($m100 - $m10) / ($d * 90) | floor), fragmentation_ratio: $frag}' >>"$results"
echo "   $(jq -c 'select(.phase=="memory") | .bytes_per_debtor' "$results")"

load_after=$(cut -d' ' -f1 /proc/loadavg)

# ---- results: one JSON document and a markdown table
mkdir -p "$here/results"
name=${RESULTS_NAME:-results}
stamp=$(date -u +%Y-%m-%dT%H:%M:%SZ)
jq -s --arg stamp "$stamp" --arg cpu "$(lscpu | awk -F: '/Model name/ {gsub(/^ +/,"",$2); print $2}')" \
    --arg lb "$load_before" --arg la "$load_after" --arg rev "$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo -)" \
    --argjson cfg "{\"debtors\":$DEBTORS,\"messages\":$MESSAGES,\"window\":$WINDOW,\"connectors\":$CONNECTORS,\"lat_seconds\":$LAT_SECONDS,\"router_cpu\":\"$ROUTER_CPU\",\"redis_cpu\":\"$REDIS_CPU\",\"loadgen_cpu\":\"$LOADGEN_CPU\",\"redis_child_cpus\":\"$REDIS_CHILD_CPUS\",\"redis_args\":\"${REDIS_ARGS:-}\",\"redis_socket\":${REDIS_SOCKET:-0},\"lat_tick_us\":$LAT_TICK_US,\"lat50_runs\":$LAT50_RUNS,\"host_tuning\":$HOST_TUNING,\"dirty_background_bytes_tuned\":$tuned_bytes,\"dirty_background_bytes_untuned\":$orig_bytes,\"dirty_background_ratio_untuned\":$orig_ratio}" \
    '{when: $stamp, git: $rev, cpu: $cpu, nproc: 2, loadavg_before: $lb, loadavg_after: $la, config: $cfg,
      phases: (map({key: .phase, value: .}) | from_entries)}
     | .summary = {
         replay_before_rate: .phases.replay_before.rate, replay_after_rate: .phases.replay_after.rate,
         router_max_rate: .phases.router_max.rate,
         ratio_before: ((.phases.router_max.rate / .phases.replay_before.rate * 100 | floor) / 100),
         ratio_after: ((.phases.router_max.rate / .phases.replay_after.rate * 100 | floor) / 100),
         p99_us_at_50_runs: [.phases | to_entries[] | select(.key | test("^lat50(_[0-9]+)?$")) | .value.lat_us.p99],
         p99_us_at_50: ([.phases | to_entries[] | select(.key | test("^lat50(_[0-9]+)?$")) | .value.lat_us.p99]
                        | sort | .[(length - 1) / 2 | floor]),
         p99_us_at_50_rewrite: .phases.lat50_rewrite.lat_us.p99,
         p99_us_at_50_untuned_runs: [.phases | to_entries[] | select(.key | test("^lat50_untuned(_[0-9]+)?$")) | .value.lat_us.p99],
         p99_us_at_50_untuned: ([.phases | to_entries[] | select(.key | test("^lat50_untuned(_[0-9]+)?$")) | .value.lat_us.p99]
                                | sort | .[(length - 1) / 2 | floor]),
         replay_identical: .phases.fidelity.identical,
         goal_ratio_met: (.phases.router_max.rate >= 0.7 * ([.phases.replay_before.rate, .phases.replay_after.rate] | max)),
         goal_40k_met: (.phases.router_max.rate >= 40000),
         goal_p99_met: (([.phases | to_entries[] | select(.key | test("^lat50(_[0-9]+)?$")) | .value.lat_us.p99]
                          | sort | .[(length - 1) / 2 | floor]) <= 2000
                        and all(.phases | to_entries[] | select(.key | test("^lat50(_[0-9]+)?$")); .value.timeouts == 0)) }' \
    "$results" >"$here/results/$name.json"

jq -r '
  def ms: . / 1000 | tostring | .[0:6];
  "# hilo router benchmark — \(.when) (git \(.git))\n",
  def cpu: if . == "" then "any CPU" else "CPU " + . end;
  "2 CPUs (\(.cpu)); router on \(.config.router_cpu | cpu), Redis on \(.config.redis_cpu | cpu), loadgen on \(.config.loadgen_cpu | cpu), the AOF rewrite child on \(.config.redis_child_cpus // "" | if . == "" then "Redis'"'"'s CPU" else "CPU " + . end); the replay client where the router runs. Redis: deploy/redis.conf (AOF everysec).",
  (if .config.redis_args != "" then "Extra redis-server options: `\(.config.redis_args)`." else empty end),
  "\(.config.debtors) debtors, \(.config.messages) messages per throughput run, window \(.config.window), \(.config.connectors) connectors. Load average before/after: \(.loadavg_before) / \(.loadavg_after).\n",
  "| run | messages/s | vs replay before | p50 ms | p99 ms | p99.9 ms | max ms | router CPU | Redis CPU | loadgen CPU | router µs/msg | Redis µs/msg | router ctx switches/msg | AOF rewrites | inside router p50 / p99 (bucket ≤ ms) |",
  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  (.phases as $p | (["replay_before", "router_max", "lat25"] + ([$p | keys[] | select(test("^lat50(_untuned)?(_[0-9]+)?$"))] | sort_by([test("untuned"), length]))
    + ["lat80", "lat50_rewrite", "replay_after"])[] as $k | $p[$k] |
    "| \($k)\(if .target_rate and .target_rate > 0 then " (target \(.target_rate))" else "" end) | \(.rate) | \((.rate / $p.replay_before.rate * 100 | floor))% | \(.lat_us.p50 | ms) | \(.lat_us.p99 | ms) | \(.lat_us.p999 | ms) | \(.lat_us.max | ms) | \(if .router_cpu_s then (.router_cpu_s / .elapsed_s * 100 | floor | tostring) + "%" else "—" end) | \((.redis_cpu_s / .elapsed_s * 100 | floor))% | \(if .cpu_s then (.cpu_s / .elapsed_s * 100 | floor | tostring) + "%" else "—" end) | \(if .router_cpu_s then (.router_cpu_s / .acked * 1e6 | floor | tostring) else "—" end) | \(.redis_cpu_s / (.acked // .messages) * 1e6 | floor) | \(if .router_ctxsw then (.router_ctxsw / .acked * 10 | floor) / 10 | tostring else "—" end) | \(.aof_rewrites) | \(if .router_commit_latency then "\(.router_commit_latency.p50_le_ms) / \(.router_commit_latency.p99_le_ms)" else "—" end) |"),
  "",
  "Replay fidelity (MONITOR of 200 messages through the router vs the replay, ms timestamps masked): \(if .phases.fidelity.identical then "identical" else "DIFFERENT" end), \(.phases.fidelity.router_commands) commands; other router commands in that window: \(.phases.fidelity.router_other_commands | tojson).\n",
  "Latency rows: send → ack, measured by the loadgen (open loop, sending what is due every \(.config.lat_tick_us) µs; the same figures from each envelope'"'"'s due time are in results.json as lat_from_due_us). lat50_rewrite: as lat50, with BGREWRITEAOF half-way (the AOF rewrite Redis otherwise starts by itself as the AOF grows).\(if .config.host_tuning == 1 then " Host: vm.dirty_background_bytes \(.config.dirty_background_bytes_tuned) (deploy/sysctl/90-hilo-redis.conf) in every run but the lat50_untuned ones, which had the host'"'"'s own setting (bytes \(.config.dirty_background_bytes_untuned), ratio \(.config.dirty_background_ratio_untuned))." else " Host: its own writeback settings (HOST_TUNING=0 or not root)." end) Throughput rows: closed loop, latency there is queueing in the window.",
  "",
  "Where the messages over 2 ms are (`timeline.py`: an episode is a stretch of 10 ms slots each with a message over 2 ms; \"one phase of every second\": the share in episodes starting at the same point of each second, as Redis'"'"'s once-a-second AOF fsync does), and the CPU others took meanwhile:\n",
  "| run | over 2 ms | episodes | longest ms | at one phase of every second | largest episodes (start ms / length ms / worst ms) | Redis fsync thread ms | kdamond ms | soft IRQ ms on Redis'"'"'s CPU | AOF bytes per message |",
  "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|",
  (.phases as $p | (["lat25"] + ([$p | keys[] | select(test("^lat50(_untuned)?(_[0-9]+)?$"))] | sort_by([test("untuned"), length])) + ["lat80", "lat50_rewrite"])[] as $k | $p[$k] | select(.tail) |
    "| \($k) | \(.tail.over_2ms) (\(.tail.over_2ms_pct) %) | \(.tail.episodes) | \(.tail.longest_ms) | \(.tail.once_a_second.over_2ms_pct // 0) % | \([.tail.top5[] | "\(.at_ms)/\(.length_ms)/\(.worst_ms)"] | join(", ")) | \(.others_cpu_ms.redis_fsync_thread) | \(.others_cpu_ms.kdamond) | \(.others_cpu_ms.softirq_on_redis_cpu) | \(.aof_bytes_per_msg // "—") |"),
  "",
  "| Redis memory per debtor | bytes |", "|---|---:|",
  "| portfolio only (addr key + debtor hash + set member) | \(.phases.memory.bytes_per_debtor.portfolio) |",
  "| + 10 history items | \(.phases.memory.bytes_per_debtor.items10) |",
  "| + 100 history items | \(.phases.memory.bytes_per_debtor.items100) |",
  "| each further item | \(.phases.memory.bytes_per_item) |",
  "",
  "| goal | result |", "|---|---|",
  "| router ≥ 0.7 × replay | \(.summary.ratio_before) (before), \(.summary.ratio_after) (after): \(if .summary.goal_ratio_met then "met" else "MISSED" end) |",
  "| ≥ 40,000 messages/s | \(.summary.router_max_rate): \(if .summary.goal_40k_met then "met" else "MISSED" end) |",
  "| p99 ≤ 2 ms at 50% load | \(.summary.p99_us_at_50 / 1000) ms (median of \(.summary.p99_us_at_50_runs | length) runs: \(.summary.p99_us_at_50_runs | map(. / 1000 | tostring) | join(", ")) ms): \(if .summary.goal_p99_met then "met" else "MISSED" end); with an AOF rewrite in the run: \(.summary.p99_us_at_50_rewrite / 1000) ms\(if .summary.p99_us_at_50_untuned then "; untuned host: \(.summary.p99_us_at_50_untuned / 1000) ms (median of \(.summary.p99_us_at_50_untuned_runs | map(. / 1000 | tostring) | join(", ")))" else "" end) |"
' "$here/results/$name.json" >"$here/results/$name.md"

echo
cat "$here/results/$name.md"
