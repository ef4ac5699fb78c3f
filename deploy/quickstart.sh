#!/usr/bin/env bash
# quickstart.sh — the whole hilo system on this machine, with demo data:
#   installs what is missing (Debian 12), builds, starts Redis (loopback, AOF everysec), the
#   router, the connectors and the provider sandbox, imports the demo debtors, and prints what
#   runs where. Everything lives under ./run (logs, pids, Redis data, the config in use).
#   Every wait is bounded (deploy/lib/wait.sh), a port already taken stops the start with the
#   process that holds it, and a supervisor (run/supervisor.log) restarts a process whose
#   /healthz gives no answer several times in a row (HILO_QS_SUPERVISE=0: none).
#   Secrets, made once in run/secrets (mode 0700, each file 0600): the link's CURVE keys (the
#   router's and one per connector; run/secrets/link_keys lists the connectors' public keys)
#   and the Redis ACL users' passwords (deploy/lib/redis_users.sh; Redis's default user is off).
#   Demo console accounts, made once: demo-agent and demo-supervisor, their random passwords in
#   run/secrets/console-<id>.pass, printed at the end with the console's address.
#   Everything it and the processes it starts write is its owner's only (umask 077: files 0600,
#   directories 0700): logs, Redis's data, dead letters and secrets all hold debtors' data or keys.
#   Anything in run/ that group or others may read (an older run/) is tightened at start, named.
# Knobs: HILO_QS_RUN_DIR (run/ elsewhere), HILO_QS_BUILD=0 (no install, no build: use the
#   binaries already in HILO_QS_BUILD_DIR), and the ones below.
# Usage: ./deploy/quickstart.sh [start|stop|status]   (`supervise` is the supervisor itself)
set -euo pipefail
# Before anything is created: every file of ours and of the processes started from here
# (redis-server included: its AOF directory and files, its log; the services' logs; the
# connectors' dead letters) is then 0600, every directory 0700 (docs/security.md, "Files").
# tests/integration/test_quickstart_modes.py stats them.
umask 077
cd "$(dirname "$0")/.."
top=$(pwd)
run=${HILO_QS_RUN_DIR:-$top/run}
# shellcheck source=lib/wait.sh
. "$top/deploy/lib/wait.sh"
# How long each service may take to become healthy at start (seconds); the supervisor's check
# interval (seconds) and how many checks in a row without an answer restart a process.
WAIT_S=${HILO_QS_WAIT_S:-10}
CHECK_S=${HILO_QS_CHECK_S:-5}
MAX_FAILS=${HILO_QS_MAX_FAILS:-3}
# HILO_QS_BUILD_DIR: build (and run) from another build tree than ./build.
build=${HILO_QS_BUILD_DIR:-$top/build}
cmd=${1:-start}

# Ports (loopback only). Redis gets its own port so a distribution redis-server on 6379 does
# not get in the way.
REDIS_PORT=${HILO_QS_REDIS_PORT:-6390}
LINK_PORT=5555 HTTP_PORT=8080 SANDBOX_PORT=8090

# Stop order: the supervisor first (it would start again what is being stopped), then what
# calls in first (sandbox, connectors), then the router, Redis last, so that nothing in flight
# loses its other end first.
pids() {
  local order="supervisor sandbox whatsapp sms voice router redis" name f
  for name in $order; do [ -f "$run/$name.pid" ] && echo "$run/$name.pid"; done
  for f in "$run"/*.pid; do
    [ -e "$f" ] || continue
    case " $order " in *" $(basename "$f" .pid) "*) ;; *) echo "$f" ;; esac
  done
}

# SIGTERM, then SIGKILL after 5 s (hilo_stop_pid, deploy/lib/wait.sh).
stop_all() {
  for f in $(pids); do
    name=$(basename "$f" .pid)
    hilo_stop_pid "$name" "$(cat "$f")"
    rm -f "$f" "$run/$name.cmd" "$run/$name.health"
  done
}

status() {
  printf '%-12s %-8s %s\n' PROCESS PID STATE
  for f in $(pids); do
    pid=$(cat "$f")
    state=stopped
    hilo_alive "$pid" && state=running
    printf '%-12s %-8s %s\n' "$(basename "$f" .pid)" "$pid" "$state"
  done
}

# Starts a service in the background with a fresh log; its /healthz URL goes to run/NAME.health
# for the supervisor, its command to run/NAME.cmd (hilo_start_bg) to start it again.
start_bg() { # name health-url command...
  local name=$1 url=$2
  shift 2
  : >"$run/$name.log"
  hilo_start_bg "$run" "$name" "$@"
  echo "$url" >"$run/$name.health"
}

case "$cmd" in
stop) stop_all; exit 0 ;;
status) status; exit 0 ;;
supervise) hilo_supervise "$run" "$CHECK_S" "$MAX_FAILS"; exit 0 ;;
start) ;;
*) echo "usage: $0 [start|stop|status]" >&2; exit 2 ;;
esac

if [ "${HILO_QS_BUILD:-1}" = 1 ]; then
  HILO_WITH_BROWSER=0 ./deploy/install-deps.sh
  # A production-like build: it refuses [engine] test_clock (tests/run.sh builds its own way).
  cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHILO_TEST_CLOCK=OFF >/dev/null
  cmake --build "$build" -j"$(nproc)"
fi

mkdir -p "$run/redis"
chmod 700 "$run" "$run/redis"
# A run/ from an older quickstart (umask 022) has logs, Redis's data and the config that group
# and others may read: the umask above covers only what is created from now on (an existing
# log is appended to, its mode kept). Take their bits away, and say which.
if [ -n "$(find "$run" ! -type l -perm /077 -print -quit)" ]; then
  echo "note: taking group and other access away from files of an older run/ (now 0600, directories 0700):" >&2
  find "$run" ! -type l -perm /077 -printf '  %p\n' -exec chmod go= {} + >&2
fi
stop_all

# Secrets (kept across restarts): the link's keys and the Redis users. Nothing secret goes on a
# command line or into run/hilo.conf: the config names files of mode 0600.
secrets=$run/secrets
mkdir -p "$secrets"
chmod 700 "$secrets"
for name in router whatsapp sms voice; do
  [ -f "$secrets/$name.key" ] || "$build/router/cli/hilo" link keygen "$name" --out "$secrets/$name.key" >/dev/null
done
router_pub=$("$build/router/cli/hilo" link pubkey "$secrets/router.key")
{
  echo "# connectors allowed on the router's link: <public key> <channels> <name>"
  for name in whatsapp sms voice; do
    echo "$("$build/router/cli/hilo" link pubkey "$secrets/$name.key") $name $name"
  done
} >"$secrets/link_keys"
"$top/deploy/lib/redis_users.sh" "$secrets"

# The config in use: the example config with the quickstart's Redis port, absolute paths (the
# copy in run/ must work for the hilo CLI too: export HILO_CONFIG=run/hilo.conf), and the
# providers' API base pointed at the local sandbox (never at the real providers); the
# connectors' dead-letter files and the voice spool in run/.
sed -e "s|^port = 6379$|port = $REDIS_PORT|" \
    -e "s|^flow = .*|flow = $top/deploy/flows/collections.flow|" \
    -e "s|^compliance_dir = .*|compliance_dir = $top/deploy/compliance|" \
    -e "/^\[strategies\]/,/^\[/ s|^dir = .*|dir = $top/deploy/strategies|" \
    -e "s|^assets_dir = .*|assets_dir = $top/router/console|" \
    -e "s|^api_base = .*|api_base = http://127.0.0.1:$SANDBOX_PORT|" \
    -e "s|^dead_letter_file = /var/lib/hilo/|dead_letter_file = $run/|" \
    -e "s|^spool_dir = /var/lib/hilo/|spool_dir = $run/|" \
    -e "s|^link_secret_key_file = /etc/hilo/keys/|link_secret_key_file = $secrets/|" \
    -e "s|^link_keys = .*|link_keys = $secrets/link_keys|" \
    -e "s|^link_server_key =.*|link_server_key = ${router_pub//&/\\&}|" \
    -e "s|^# password_file = .*|password_file = $secrets/redis-hilo-router.pass|" \
    -e "s|^# user = .*|user = hilo-router|" \
    deploy/hilo.conf >"$run/hilo.conf"
# The CLI logs in as its own user.
printf '\n[cli]\nredis_user = hilo-cli\nredis_password_file = %s\n' "$secrets/redis-hilo-cli.pass" >>"$run/hilo.conf"
export HILO_CONFIG=$run/hilo.conf

# Our own processes are stopped now: whatever still listens on a port of ours is another
# process's, and our service would fail to bind (or the waits would talk to the wrong process).
# redis-server creates its files with the umask it inherits (under 022 its AOF directory is 0755,
# the AOF, RDB and log files 0644): 0700 and 0600 under ours.
hilo_require_port redis "$REDIS_PORT" || exit 1
redis-server "$top/deploy/redis.conf" --port "$REDIS_PORT" --dir "$run/redis" \
  --aclfile "$secrets/users.acl" \
  --daemonize yes --pidfile "$run/redis.pid" --logfile "$run/redis.log"
hilo_wait_redis "$REDIS_PORT" "$WAIT_S" || { echo "see $run/redis.log" >&2; exit 1; }
# The data of an earlier run may be of an older schema version, which the router refuses
# (docs/operations.md, "Upgrading"): bring it up first (a fresh Redis is only stamped).
"$build/router/cli/hilo" -c "$run/hilo.conf" migrate >"$run/migrate.log" 2>&1 ||
  { echo "hilo migrate failed: see $run/migrate.log" >&2; exit 1; }

hilo_require_port router "$LINK_PORT" || exit 1
hilo_require_port router "$HTTP_PORT" || exit 1
start_bg router "http://127.0.0.1:$HTTP_PORT/healthz" "$build/router/hilo-router" -c "$run/hilo.conf"
hilo_wait_http router "http://127.0.0.1:$HTTP_PORT/healthz" "$WAIT_S" || { echo "see $run/router.log" >&2; exit 1; }

started=()
# Webhook ports (the providers') and metrics ports (/healthz, /metrics: never on a webhook port),
# as in deploy/hilo.conf.
declare -A conn_port=([whatsapp]=8081 [sms]=8082 [voice]=8083)
declare -A metrics_port=([whatsapp]=9081 [sms]=9082 [voice]=9083)
for channel in whatsapp sms voice; do
  bin=$build/connectors/$channel/hilo-$channel
  if [ -x "$bin" ]; then
    hilo_require_port "the $channel connector" "${conn_port[$channel]}" || exit 1
    hilo_require_port "the $channel connector" "${metrics_port[$channel]}" || exit 1
    start_bg "$channel" "http://127.0.0.1:${metrics_port[$channel]}/healthz" "$bin" -c "$run/hilo.conf"
    started+=("$channel")
  fi
done
# A connector's /healthz is 200 once its link to the router has a session.
for channel in "${started[@]}"; do
  hilo_wait_http "the $channel connector" "http://127.0.0.1:${metrics_port[$channel]}/healthz" "$WAIT_S" ||
    { echo "see $run/$channel.log" >&2; exit 1; }
done
if [ -f connectors/sandbox/sandbox.py ]; then
  if hilo_require_port sandbox "$SANDBOX_PORT"; then
    start_bg sandbox "http://127.0.0.1:$SANDBOX_PORT/" \
      /usr/bin/python3 "$top/connectors/sandbox/sandbox.py" --port "$SANDBOX_PORT" --config "$run/hilo.conf"
    hilo_wait_http sandbox "http://127.0.0.1:$SANDBOX_PORT/" "$WAIT_S" ||
      echo "warning: the sandbox did not answer; see $run/sandbox.log" >&2
  else
    echo "warning: the sandbox is not started" >&2
  fi
fi
if [ "${HILO_QS_SUPERVISE:-1}" = 1 ]; then
  : >"$run/supervisor.log"
  hilo_start_bg "$run" supervisor "$top/deploy/quickstart.sh" supervise
fi

if [ -f deploy/demo/debtors.csv ] && [ -x "$build/router/cli/hilo" ]; then
  "$build/router/cli/hilo" -c "$run/hilo.conf" import-debtors deploy/demo/debtors.csv
fi

# Console accounts for the demo: an agent with every skill of the demo flow (its escalation
# topics, in Spanish and English: every hand-off can reach it) and a supervisor. Each password
# is random, made once in run/secrets/console-<id>.pass (0600) and printed below. An account
# already in Redis keeps its password and its sessions, unless its file was just made.
console_accounts=()
if [ -x "$build/router/cli/hilo" ]; then
  skills=$(sed -n 's/^topic = //p' deploy/flows/collections.flow | sort -u |
    while read -r topic; do printf 'es.%s,en.%s,' "$topic" "$topic"; done)
  have=$("$build/router/cli/hilo" -c "$run/hilo.conf" agent list | awk 'NR > 1 {print $1}')
  for account in "demo-agent agent Demo Agent" "demo-supervisor supervisor Demo Supervisor"; do
    read -r id role name <<<"$account"
    pass=$secrets/console-$id.pass
    made=0
    if [ ! -s "$pass" ]; then
      # 18 random bytes, base64 without '=', '+', '/': 20-24 characters to type or paste.
      head -c 18 /dev/urandom | base64 | tr -d '=+/\n' >"$pass"
      echo >>"$pass"
      made=1
    fi
    if [ $made = 1 ] || ! grep -qx -- "$id" <<<"$have"; then
      account_skills=""
      phone=()
      # The agent takes calls on a phone of the sandbox: open its phone page on +15550001111
      # to answer a caller put through from the console (docs/architecture.md, "Voice in the
      # console").
      [ "$role" = agent ] && account_skills=${skills%,} && phone=(--phone +15550001111)
      # The password on standard input (its first line): never on a command line.
      "$build/router/cli/hilo" -c "$run/hilo.conf" agent add "$id" --name "$name" --role "$role" \
        --skills "$account_skills" "${phone[@]}" <"$pass" >/dev/null
    fi
    console_accounts+=("$role $id $(head -n 1 "$pass")")
  done
fi

cat <<EOT

hilo is running (logs and data in $run):
  Redis               127.0.0.1:$REDIS_PORT   (AOF everysec, data in run/redis; ACL users hilo-router,
                      hilo-cli, hilo-read, passwords in run/secrets/redis-*.pass; default user off)
  router link         tcp://127.0.0.1:$LINK_PORT   (CURVE: connector keys in run/secrets/link_keys)
  router HTTP         http://127.0.0.1:$HTTP_PORT/healthz  /metrics
EOT
for channel in "${started[@]}"; do
  case $channel in
  whatsapp) echo "  whatsapp connector  http://127.0.0.1:${conn_port[whatsapp]}/webhooks/whatsapp" ;;
  sms) echo "  sms connector       http://127.0.0.1:${conn_port[sms]}/webhooks/twilio/sms" ;;
  voice) echo "  voice connector     http://127.0.0.1:${conn_port[voice]}/webhooks/twilio/voice" ;;
  esac
  echo "                      http://127.0.0.1:${metrics_port[$channel]}/healthz  /metrics"
done
[ ${#started[@]} -gt 0 ] && echo "  dead letters        run/*.dead-letters.jsonl   (webhooks the router refused for good)"
[ -f "$run/sandbox.pid" ] && echo "  provider sandbox    http://127.0.0.1:$SANDBOX_PORT/   <- open this to play the debtor's phone"
[ -f "$run/supervisor.pid" ] &&
  echo "  supervisor          restarts a process whose /healthz gives no answer $MAX_FAILS times in a row, ${CHECK_S} s apart (run/supervisor.log)"
if [ ${#console_accounts[@]} -gt 0 ]; then
  echo "  console             http://127.0.0.1:$HTTP_PORT/console/   <- log in as the demo agent or supervisor:"
  for account in "${console_accounts[@]}"; do
    read -r role id password <<<"$account"
    printf '                      %-11s %-16s password: %s\n' "$role:" "$id" "$password"
  done
  echo "                      (passwords in run/secrets/console-*.pass; more accounts: hilo agent add)"
fi
cat <<EOT

Try:
  export HILO_CONFIG=$run/hilo.conf
  $build/router/cli/hilo conversations
  $build/router/cli/hilo thread +16505551234
  $build/router/cli/hilo strategy plan                   # the demo strategy's dry run (paused)
  $build/router/cli/hilo strategy start demo_reminders   # reminders go out (sandbox phone page)
  $build/router/cli/hilo strategy report demo_reminders
Stop everything with: ./deploy/quickstart.sh stop
EOT
