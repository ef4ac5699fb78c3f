# lib.sh — process helpers shared by run.sh and smoke.sh (sourced, not run).
# Starts redis-server and hilo-router on free loopback ports in a temp dir, each process by its
# own pid, and stops exactly those pids. Callers set: work (temp dir), router_bin, conf.

# free_port: a bindable loopback port below the kernel's ephemeral range (32768-60999), so no
# outgoing connection or bind to port 0 can take it before our process binds it (the same rule
# as free_port() in tests/lib/hilo_harness.py), and not one handed out before in $work.
free_port() {
    local port
    for _ in $(seq 200); do
        port=$((20000 + RANDOM % 12768))
        if grep -qx "$port" "$work/ports.used" 2>/dev/null; then continue; fi
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then continue; fi
        echo "$port" >>"$work/ports.used"
        echo "$port"
        return 0
    done
    echo "free_port: no free port in 20000-32767" >&2
    return 1
}

# start_redis NAME [CPU]: a fresh Redis (empty dir) with deploy/redis.conf (AOF everysec, no RDB
# snapshots), on a free loopback port. With REDIS_SOCKET=1 it also listens on a unix socket,
# and redis_host (what the router and the replay connect to) is that socket's path. With
# REDIS_CHILD_CPUS set, Redis's forked children (the AOF rewrite) run on those CPUs instead of
# inheriting CPU's pinning (docs/operations.md, "Redis": the rewrite child off Redis's core).
start_redis() {
    local name=$1 cpu=${2:-}
    redis_dir=$work/$name
    mkdir -p "$redis_dir"
    redis_port=$(free_port)
    redis_host=127.0.0.1
    local pin=() sock=() child=()
    [ -n "$cpu" ] && pin=(taskset -c "$cpu")
    [ -n "${REDIS_CHILD_CPUS:-}" ] &&
        child=(--aof_rewrite_cpulist "$REDIS_CHILD_CPUS" --bgsave_cpulist "$REDIS_CHILD_CPUS")
    if [ "${REDIS_SOCKET:-0}" = 1 ]; then
        redis_host=$redis_dir/redis.sock
        sock=(--unixsocket "$redis_host" --unixsocketperm 700)
    fi
    "${pin[@]}" redis-server "$top/deploy/redis.conf" --port "$redis_port" --bind 127.0.0.1 --dir "$redis_dir" \
        --appendonly yes --appendfsync everysec --save '' --daemonize no --logfile "$redis_dir/redis.log" \
        "${sock[@]}" "${child[@]}" ${REDIS_ARGS:-} &
    redis_pid=$!
    for _ in $(seq 100); do
        # PONG, not just an answer: while the (empty) AOF loads it answers LOADING.
        [ "$(redis-cli -p "$redis_port" ping 2>/dev/null)" = PONG ] && return 0
        sleep 0.05
    done
    echo "redis-server did not start (see $redis_dir/redis.log)" >&2
    return 1
}

stop_redis() {
    [ -n "${redis_pid:-}" ] || return 0
    kill "$redis_pid" 2>/dev/null || true
    wait "$redis_pid" 2>/dev/null || true
    redis_pid=
}

redis_info() { # FIELD
    redis-cli -p "$redis_port" info all | tr -d '\r' | awk -F: -v k="$1" '$1==k {print $2}'
}

# start_router [CPU]: hilo-router on the current Redis; returns when /healthz says 200. The link
# does not authenticate (link_auth = none): the load generator speaks ZMTP by hand (zmtp.c),
# without CURVE; the bench measures the router's work, not the handshake (once per connection).
start_router() {
    local cpu=${1:-}
    link_port=$(free_port)
    http_port=$(free_port)
    local pin=()
    [ -n "$cpu" ] && pin=(taskset -c "$cpu")
    HILO_REDIS_HOST=$redis_host HILO_REDIS_PORT=$redis_port HILO_REDIS_DB=0 \
        HILO_ROUTER_LINK_BIND=tcp://127.0.0.1:$link_port HILO_ROUTER_HTTP_BIND=127.0.0.1 \
        HILO_ROUTER_LINK_AUTH=none \
        HILO_ROUTER_HTTP_PORT=$http_port HILO_ROUTER_LOG_LEVEL=${ROUTER_LOG_LEVEL:-warn} \
        HILO_ROUTER_INSTANCE=bench-router HILO_ENGINE_ENABLED=${BENCH_ENGINE:-false} \
        "${pin[@]}" "$router_bin" -c "$conf" 2>>"$redis_dir/router.log" &
    router_pid=$!
    for _ in $(seq 200); do
        if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$http_port/healthz" || true)" = 200 ]; then
            return 0
        fi
        kill -0 "$router_pid" 2>/dev/null || break
        sleep 0.05
    done
    echo "hilo-router did not become healthy (see $redis_dir/router.log)" >&2
    tail -n 20 "$redis_dir/router.log" >&2 || true
    return 1
}

stop_router() {
    [ -n "${router_pid:-}" ] || return 0
    kill -TERM "$router_pid" 2>/dev/null || true
    for _ in $(seq 100); do
        kill -0 "$router_pid" 2>/dev/null || break
        sleep 0.05
    done
    kill -KILL "$router_pid" 2>/dev/null || true
    wait "$router_pid" 2>/dev/null || true
    router_pid=
}

# CPU seconds (user + system) used so far by a pid.
proc_cpu_s() {
    awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$1/stat"
}

# CPU milliseconds so far of the threads whose name matches a glob: within process PID, or
# among all processes (kernel threads, e.g. kdamond) when PID is empty. 0 when none matches.
thread_cpu_ms() { # GLOB [PID]
    local glob=$1 pid=${2:-} total=0 t comm ns
    local dirs=(/proc/[0-9]*)
    [ -n "$pid" ] && dirs=(/proc/"$pid"/task/*)
    for t in "${dirs[@]}"; do
        comm=$(cat "$t/comm" 2>/dev/null) || continue
        # shellcheck disable=SC2053 # a glob on purpose
        [[ $comm == $glob ]] || continue
        ns=$(cut -d' ' -f1 "$t/schedstat" 2>/dev/null) || continue
        total=$((total + ns / 1000000))
    done
    echo "$total"
}

# Milliseconds so far that CPU N spent in soft interrupts (network and disk completions).
cpu_softirq_ms() { # N
    awk -v cpu="cpu$1" -v hz="$(getconf CLK_TCK)" '$1 == cpu {print int($8 * 1000 / hz)}' /proc/stat
}

# Context switches (voluntary + involuntary) so far, summed over a pid's threads.
proc_ctxsw() {
    cat /proc/"$1"/task/*/status 2>/dev/null | awk '/^(non)?voluntary_ctxt_switches/ {s += $2} END {print s + 0}'
}
