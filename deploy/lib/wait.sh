# wait.sh — bounded waits, port checks and a small supervisor for deploy/quickstart.sh (sourced
# by it; tests/integration/test_quickstart_waits.py sources it alone). Every wait here ends:
# each HTTP try has its own time limit (curl --max-time), so a process that accepts and never
# answers (a frozen loop) costs a timeout, not the rest of the day. Bash; no `set -e` needed.
#
# Knobs (environment): HILO_WAIT_HTTP_TIMEOUT  seconds one HTTP try may take (default 2)
#                      HILO_STOP_GRACE_S        seconds from SIGTERM to SIGKILL (default 5)

# Running = exists and is not a zombie: our daemons outlive the quickstart, so their parent is
# init, which may reap an exited one late (kill -0 succeeds on a zombie).
hilo_alive() { # pid
  local st
  st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$st" ] && [ "$st" != Z ]
}

# Who listens on TCP port $1 (any address): prints ss's line for it (with the process when ss
# may show it) and succeeds; fails when nothing does. Without ss, a connection to 127.0.0.1
# tells that something listens, not what.
hilo_port_owner() { # port
  local port=$1 line
  if command -v ss >/dev/null 2>&1; then
    line=$(ss -Hltnp "sport = :$port" 2>/dev/null | head -n 1)
    [ -n "$line" ] || return 1
    echo "$line" | awk '{ $1 = $1; print }'
    return 0
  fi
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || return 1
  echo "127.0.0.1:$port (install iproute2 for ss to name the process)"
}

# Fails with "port NNNN already taken by another process" when something listens on it. Called
# before each service starts (after the quickstart stopped its own), so what listens there is
# not ours: the service would fail to bind, or the waits below would talk to the wrong process.
hilo_require_port() { # what port
  local owner
  owner=$(hilo_port_owner "$2") || return 0
  echo "$1: port $2 already taken by another process: $owner" >&2
  return 1
}

# One HTTP try bounded by HILO_WAIT_HTTP_TIMEOUT: prints the status code, "000" for no answer
# (refused, reset, or nothing within the time limit).
hilo_http_code() { # url [seconds]
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' --connect-timeout "${2:-${HILO_WAIT_HTTP_TIMEOUT:-2}}" \
    --max-time "${2:-${HILO_WAIT_HTTP_TIMEOUT:-2}}" "$1" 2>/dev/null)
  echo "${code:-000}"
}

# Waits until `url` answers 2xx, at most `seconds` in all (each try bounded too). On time out,
# says what was seen last: no answer at all (a frozen or dead process) or an error status.
hilo_wait_http() { # what url seconds
  local what=$1 url=$2 limit=$3 code=000 deadline
  deadline=$(($(date +%s%N) + limit * 1000000000))
  while :; do
    code=$(hilo_http_code "$url")
    case $code in 2??) return 0 ;; esac
    [ "$(date +%s%N)" -lt "$deadline" ] || break
    sleep 0.2
  done
  if [ "$code" = 000 ]; then
    echo "$what did not answer $url within ${limit} s (no HTTP answer: not started, or frozen)" >&2
  else
    echo "$what was not healthy within ${limit} s: $url answered $code" >&2
  fi
  return 1
}

# Waits until Redis on 127.0.0.1:port answers PING, at most `seconds` (each try 1 s at most:
# redis-cli itself would wait for ever on a frozen server).
hilo_wait_redis() { # port seconds
  local deadline
  deadline=$(($(date +%s%N) + $2 * 1000000000))
  while :; do
    # NOAUTH is an answer too: with the default user off (ACL users), PING needs a login.
    case "$(timeout 1 redis-cli -p "$1" ping 2>/dev/null)" in PONG | NOAUTH*) return 0 ;; esac
    [ "$(date +%s%N)" -lt "$deadline" ] || break
    sleep 0.1
  done
  echo "redis did not answer PING on 127.0.0.1:$1 within $2 s" >&2
  return 1
}

# Starts `command` in the background, detached (it outlives the caller), output appended to
# run/NAME.log. Records run/NAME.pid and run/NAME.cmd (the command, shell-quoted) so that the
# supervisor can start it again the same way.
hilo_start_bg() { # run_dir name command...
  local run=$1 name=$2
  shift 2
  printf '%q ' "$@" >"$run/$name.cmd"
  nohup "$@" >>"$run/$name.log" 2>&1 </dev/null &
  echo $! >"$run/$name.pid"
}

# SIGTERM, HILO_STOP_GRACE_S to exit, then SIGKILL (a frozen loop never handles the TERM).
# SIGCONT after the TERM: a stopped process would not act on it otherwise.
hilo_stop_pid() { # name pid
  local name=$1 pid=$2 i
  hilo_alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  kill -CONT "$pid" 2>/dev/null || true
  for ((i = 0; i < ${HILO_STOP_GRACE_S:-5} * 10; i++)); do hilo_alive "$pid" || break; sleep 0.1; done
  if hilo_alive "$pid"; then
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do hilo_alive "$pid" || break; sleep 0.1; done
    echo "killed $name (pid $pid): it did not stop within ${HILO_STOP_GRACE_S:-5} s"
  else
    echo "stopped $name (pid $pid)"
  fi
}

# The quickstart's supervisor: every `interval` seconds, GET each run/NAME.health URL (one
# line). A process that gives no HTTP answer (dead, refused, or nothing within
# HILO_WAIT_HTTP_TIMEOUT: a frozen loop) `max_fails` times in a row is stopped and started again
# from run/NAME.cmd. An answer that is not 2xx (a 503: Redis or the router link is down) is an
# alive process reporting a dependency: logged, never restarted — a restart would not bring
# the dependency back. Under systemd the units' WatchdogSec= does this job instead. Runs until
# killed; one line per decision on stdout.
hilo_supervise() { # run_dir interval max_fails
  local run=$1 interval=$2 max=$3 f name url code pid
  declare -A fails=() last=()
  echo "supervisor: checking every ${interval} s; restart after $max checks without an answer"
  while :; do
    for f in "$run"/*.health; do
      [ -e "$f" ] || continue
      name=$(basename "$f" .health)
      url=$(head -n 1 "$f")
      code=$(hilo_http_code "$url")
      if [ "$code" != 000 ]; then
        [ "${fails[$name]:-0}" -gt 0 ] && echo "supervisor: $name answers again ($code)"
        case $code in
        2??) case ${last[$name]:-200} in 2?? | 000) ;; *) echo "supervisor: $name is healthy again" ;; esac ;;
        *) [ "${last[$name]:-}" = "$code" ] || echo "supervisor: $name is up but unhealthy: $url answered $code" ;;
        esac
        fails[$name]=0
        last[$name]=$code
        continue
      fi
      fails[$name]=$((${fails[$name]:-0} + 1))
      last[$name]=000
      echo "supervisor: $name gave no answer on $url (${fails[$name]}/$max)"
      [ "${fails[$name]}" -ge "$max" ] || continue
      [ -f "$run/$name.cmd" ] || { echo "supervisor: no $run/$name.cmd: cannot restart $name"; continue; }
      pid=$(cat "$run/$name.pid" 2>/dev/null || echo 0)
      echo "supervisor: restarting $name (pid $pid): no answer on $url $max times in a row"
      hilo_stop_pid "$name" "$pid"
      eval "hilo_start_bg \"\$run\" \"\$name\" $(cat "$run/$name.cmd")"
      echo "supervisor: $name started again (pid $(cat "$run/$name.pid"))"
      fails[$name]=0
    done
    sleep "$interval"
  done
}
