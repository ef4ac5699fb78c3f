#!/usr/bin/env bash
# quickstart.sh — the whole hilo system on this machine, with demo data:
#   installs what is missing (Debian 12), builds, starts Redis (loopback, AOF everysec), the
#   router, the connectors and the provider sandbox, imports the demo debtors, and prints what
#   runs where. Everything lives under ./run (logs, pids, Redis data, the config in use).
# Usage: ./deploy/quickstart.sh [start|stop|status]
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
run=$top/run
# HILO_QS_BUILD_DIR: build (and run) from another build tree than ./build.
build=${HILO_QS_BUILD_DIR:-$top/build}
cmd=${1:-start}

# Ports (loopback only). Redis gets its own port so a distribution redis-server on 6379 does
# not get in the way.
REDIS_PORT=${HILO_QS_REDIS_PORT:-6390}
LINK_PORT=5555 HTTP_PORT=8080 SANDBOX_PORT=8090

# Stop order: what calls in first (sandbox, connectors), then the router, Redis last, so that
# nothing in flight loses its other end first.
pids() {
  local order="sandbox whatsapp sms voice router redis" name f
  for name in $order; do [ -f "$run/$name.pid" ] && echo "$run/$name.pid"; done
  for f in "$run"/*.pid; do
    [ -e "$f" ] || continue
    case " $order " in *" $(basename "$f" .pid) "*) ;; *) echo "$f" ;; esac
  done
}

# Running = exists and is not a zombie: our daemons outlive this script, so their parent is
# init, which may reap an exited one late (kill -0 succeeds on a zombie).
alive() {
  local st
  st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$st" ] && [ "$st" != Z ]
}

stop_all() {
  for f in $(pids); do
    name=$(basename "$f" .pid)
    pid=$(cat "$f")
    if alive "$pid"; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 50); do alive "$pid" || break; sleep 0.1; done
      if alive "$pid"; then
        kill -KILL "$pid" 2>/dev/null || true
        echo "killed $name (pid $pid): it did not stop within 5 s"
      else
        echo "stopped $name (pid $pid)"
      fi
    fi
    rm -f "$f"
  done
}

status() {
  printf '%-12s %-8s %s\n' PROCESS PID STATE
  for f in $(pids); do
    pid=$(cat "$f")
    state=stopped
    alive "$pid" && state=running
    printf '%-12s %-8s %s\n' "$(basename "$f" .pid)" "$pid" "$state"
  done
}

wait_http() { # url seconds
  for _ in $(seq $(($2 * 10))); do
    curl -fs -o /dev/null "$1" && return 0
    sleep 0.1
  done
  return 1
}

start_bg() { # name command...
  local name=$1
  shift
  nohup "$@" >"$run/$name.log" 2>&1 &
  echo $! >"$run/$name.pid"
}

case "$cmd" in
stop) stop_all; exit 0 ;;
status) status; exit 0 ;;
start) ;;
*) echo "usage: $0 [start|stop|status]" >&2; exit 2 ;;
esac

HILO_WITH_BROWSER=0 ./deploy/install-deps.sh
cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)"

mkdir -p "$run/redis"
stop_all

# The config in use: the example config with the quickstart's Redis port, absolute paths (the
# copy in run/ must work for the hilo CLI too: export HILO_CONFIG=run/hilo.conf), and the
# providers' API base pointed at the local sandbox (never at the real providers); the
# connectors' dead-letter files in run/.
sed -e "s|^port = 6379$|port = $REDIS_PORT|" \
    -e "s|^flow = .*|flow = $top/deploy/flows/collections.flow|" \
    -e "s|^compliance_dir = .*|compliance_dir = $top/deploy/compliance|" \
    -e "s|^assets_dir = .*|assets_dir = $top/router/console|" \
    -e "s|^api_base = .*|api_base = http://127.0.0.1:$SANDBOX_PORT|" \
    -e "s|^dead_letter_file = /var/lib/hilo/|dead_letter_file = $run/|" \
    deploy/hilo.conf >"$run/hilo.conf"
export HILO_CONFIG=$run/hilo.conf

redis-server "$top/deploy/redis.conf" --port "$REDIS_PORT" --dir "$run/redis" \
  --daemonize yes --pidfile "$run/redis.pid" --logfile "$run/redis.log"
for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done

start_bg router "$build/router/hilo-router" -c "$run/hilo.conf"
wait_http "http://127.0.0.1:$HTTP_PORT/healthz" 10 || { echo "router did not become healthy; see $run/router.log" >&2; exit 1; }

started=()
declare -A conn_port=([whatsapp]=8081 [sms]=8082 [voice]=8083)
for channel in whatsapp sms voice; do
  bin=$build/connectors/$channel/hilo-$channel
  if [ -x "$bin" ]; then
    start_bg "$channel" "$bin" -c "$run/hilo.conf"
    started+=("$channel")
  fi
done
# A connector's /healthz is 200 once its link to the router has a session.
for channel in "${started[@]}"; do
  wait_http "http://127.0.0.1:${conn_port[$channel]}/healthz" 10 ||
    { echo "the $channel connector did not become healthy; see $run/$channel.log" >&2; exit 1; }
done
if [ -f connectors/sandbox/sandbox.py ]; then
  start_bg sandbox /usr/bin/python3 connectors/sandbox/sandbox.py --port "$SANDBOX_PORT" --config "$run/hilo.conf"
  wait_http "http://127.0.0.1:$SANDBOX_PORT/" 10 || echo "warning: the sandbox did not answer; see $run/sandbox.log" >&2
fi

if [ -f deploy/demo/debtors.csv ] && [ -x "$build/router/cli/hilo" ]; then
  "$build/router/cli/hilo" -c "$run/hilo.conf" import-debtors deploy/demo/debtors.csv
fi

cat <<EOT

hilo is running (logs and data in $run):
  Redis               127.0.0.1:$REDIS_PORT   (AOF everysec, data in run/redis)
  router link         tcp://127.0.0.1:$LINK_PORT   (connectors connect here)
  router HTTP         http://127.0.0.1:$HTTP_PORT/healthz  /metrics
EOT
for channel in "${started[@]}"; do
  case $channel in
  whatsapp) echo "  whatsapp connector  http://127.0.0.1:${conn_port[whatsapp]}/webhooks/whatsapp" ;;
  sms) echo "  sms connector       http://127.0.0.1:${conn_port[sms]}/webhooks/twilio/sms" ;;
  voice) echo "  voice connector     http://127.0.0.1:${conn_port[voice]}/webhooks/twilio/voice" ;;
  esac
done
[ ${#started[@]} -gt 0 ] && echo "  dead letters        run/*.dead-letters.jsonl   (webhooks the router refused for good)"
[ -f "$run/sandbox.pid" ] && echo "  provider sandbox    http://127.0.0.1:$SANDBOX_PORT/   <- open this to play the debtor's phone"
cat <<EOT

Try:
  export HILO_CONFIG=$run/hilo.conf
  $build/router/cli/hilo conversations
  $build/router/cli/hilo thread +16505551234
Stop everything with: ./deploy/quickstart.sh stop
EOT
