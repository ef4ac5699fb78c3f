#!/usr/bin/env bash
# smoke.sh — ctest bench.smoke: 1000 envelopes through a real hilo-router + redis-server, all
# must be acked (correctness of the benchmark tools and the path, not speed); then 1000 more
# with the load generator speaking ZMTP itself (--transport zmtp), with a --timeline that
# must account for every one of them.
# Usage: smoke.sh HILO_ROUTER HILO_LOADGEN HILO_REPLAY
set -euo pipefail
router_bin=$1 loadgen=$2 replay=$3
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
conf=$top/deploy/hilo.conf
work=$(mktemp -d /tmp/hilo-bench-smoke.XXXXXX)
. "$here/lib.sh"
cleanup() { stop_router; stop_redis; rm -rf "$work"; }
trap cleanup EXIT
# Every debtor's history length, summed: one redis-cli for all the XLENs (one per key took most
# of the test's minute on a loaded machine).
history_items() {
  redis-cli -p "$redis_port" --scan --pattern 'hilo:{*}:hist' | sed 's/^/XLEN /' | redis-cli -p "$redis_port" |
    awk '{s+=$1} END {print s+0}'
}

start_redis smoke
"$replay" --host "$redis_host" --port "$redis_port" --preload --debtors 1000 >/dev/null
start_router
out=$("$loadgen" --endpoint "tcp://127.0.0.1:$link_port" --connectors 2 --debtors 1000 --unknown-pm 50 \
    --messages 1000 --window 64 --timeout-ms 10000 --label smoke) || true
echo "$out"
acked=$(jq -r .acked <<<"$out")
dups=$(jq -r .duplicates <<<"$out")
items=$(history_items)
echo "acked=$acked duplicates=$dups history_items=$items"
[ "$acked" = 1000 ] && [ "$dups" = 0 ] && [ "$items" = 1000 ]

out=$("$loadgen" --endpoint "tcp://127.0.0.1:$link_port" --connectors 2 --debtors 1000 --first 1000 \
    --messages 1000 --window 64 --timeout-ms 10000 --label smoke-zmtp --transport zmtp \
    --timeline "$work/timeline.txt") || true
echo "$out"
acked=$(jq -r .acked <<<"$out")
transport=$(jq -r .transport <<<"$out")
items=$(history_items)
in_timeline=$(awk '!/^#/ {s+=$2} END {print s+0}' "$work/timeline.txt")
echo "zmtp: acked=$acked history_items=$items in_timeline=$in_timeline"
[ "$transport" = zmtp ] && [ "$acked" = 1000 ] && [ "$items" = 2000 ] && [ "$in_timeline" = 1000 ]
