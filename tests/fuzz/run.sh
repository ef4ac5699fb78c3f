#!/usr/bin/env bash
# run.sh — builds and runs the libFuzzer targets of tests/fuzz.
#
#   tests/fuzz/run.sh [--merge] [--jobs N] [SECONDS] [TARGET...]
#
# Configures its own build directory ($HILO_FUZZ_BUILD_DIR, default <repo>/build-fuzz) with clang,
# HILO_SANITIZE=ON and HILO_FUZZ=ON, builds the targets (default: all four), and runs each for
# SECONDS (default 60), one after the other, with its dictionary (<target>.dict) when it has one,
# on a copy of its corpus in the build directory:
# the repository's tests/fuzz/corpus/<target>/ is only read. With --merge, the inputs a run found
# interesting are merged back into the repository's corpus (libFuzzer -merge=1): the seed-* files
# (real examples) and regress-* files (inputs that crashed once) are always kept, and of the
# other inputs only a minimal set that adds coverage to those. --jobs N runs N targets at the same time (default 1).
# Exit status: 0 when no target crashed, 1 when one did (each crash file is printed, and kept in
# <build>/fuzz/<target>/crashes/), 2 on a usage or build error.
# Needs clang and libFuzzer: on Debian 12, apt-get install clang libclang-rt-14-dev.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=${HILO_FUZZ_BUILD_DIR:-$src/build-fuzz}
all_targets=(fuzz_webhook fuzz_link_frame fuzz_console_json fuzz_text)

usage() {
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
    exit 2
}

merge=0
jobs=1
seconds=60
targets=()
while [ $# -gt 0 ]; do
    case "$1" in
    --merge) merge=1 ;;
    --jobs) shift; jobs=${1:-}; [[ "$jobs" =~ ^[1-9][0-9]*$ ]] || usage ;;
    -h | --help) usage ;;
    -*) usage ;;
    *)
        if [[ "$1" =~ ^[0-9]+$ ]] && [ ${#targets[@]} -eq 0 ]; then
            seconds=$1
        elif [[ " ${all_targets[*]} " == *" $1 "* ]]; then
            targets+=("$1")
        else
            echo "run.sh: unknown target '$1' (known: ${all_targets[*]})" >&2
            exit 2
        fi
        ;;
    esac
    shift
done
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")

cc=${CC:-clang}
if ! command -v "$cc" >/dev/null 2>&1; then
    echo "run.sh: $cc not found (apt-get install clang libclang-rt-14-dev)" >&2
    exit 2
fi
fuzzer_rt=$("$cc" -print-file-name="libclang_rt.fuzzer-$(uname -m).a")
if [ ! -e "$fuzzer_rt" ]; then
    echo "run.sh: libFuzzer ($fuzzer_rt) not found (apt-get install libclang-rt-14-dev)" >&2
    exit 2
fi

echo "run.sh: building in $build"
mkdir -p "$build"
cmake -S "$src" -B "$build" -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DHILO_SANITIZE=ON -DHILO_FUZZ=ON >"$build/configure.log" 2>&1 || {
    cat "$build/configure.log" >&2
    exit 2
}
cmake --build "$build" --target "${targets[@]}" -j "$(nproc)" >/dev/null || {
    cmake --build "$build" --target "${targets[@]}" -j 1 >&2 || true
    exit 2
}

# ASan: leaks are findings (libFuzzer checks them per input); UBSan: stop at the first report.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# One target: its corpus copied into the build directory, the run, then (--merge) the merge.
run_one() {
    local t=$1 dir="$build/fuzz/$1"
    local corpus="$dir/corpus" crashes="$dir/crashes" seeds="$here/corpus/$1"
    mkdir -p "$corpus" "$crashes" "$seeds"
    cp -n "$seeds"/* "$corpus"/ 2>/dev/null || true
    local bin="$build/tests/fuzz/$t" rc=0 dict=()
    [ -f "$here/$t.dict" ] && dict=(-dict="$here/$t.dict")
    echo "run.sh: $t for ${seconds}s ($(ls "$corpus" | wc -l) inputs in $corpus)"
    # -close_fd_mask=2: the targets log at debug level (the log lines are fuzzed too); their
    # stderr is closed, libFuzzer's own output and the sanitizers' reports still come through.
    "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "${dict[@]}" \
        -close_fd_mask=2 \
        -artifact_prefix="$crashes/" "$corpus" >"$dir/log" 2>&1 || rc=$?
    grep -E '^(#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units|stat::peak_rss_mb|stat::new_units_added)' \
        "$dir/log" | sed "s/^/run.sh: $t: /" || true
    if [ $rc -ne 0 ]; then
        echo "run.sh: $t FAILED (exit $rc); the end of its log ($dir/log):"
        tail -n 60 "$dir/log"
        ls "$crashes"/* 2>/dev/null | sed "s/^/run.sh: $t: crash file: /"
        return 1
    fi
    if [ $merge = 1 ]; then
        # Into a fresh directory that starts with the inputs kept by name (seed-*: the real
        # examples it was seeded with; regress-*: inputs that crashed once); of the rest, only
        # what adds coverage to those goes in, counted in edges (-use_counters=0), not in hit
        # counts, so that the repository's corpus stays a few hundred files. The whole corpus
        # stays in the build directory for the next run.
        local merged="$dir/merged"
        rm -rf "$merged" && mkdir -p "$merged"
        find "$seeds" -maxdepth 1 -type f \( -name 'seed-*' -o -name 'regress-*' \) -exec cp {} "$merged"/ \;
        if "$bin" -merge=1 -use_counters=0 -timeout=10 -rss_limit_mb=2048 -close_fd_mask=2 \
            "$merged" "$seeds" "$corpus" >"$dir/merge.log" 2>&1; then
            find "$seeds" -maxdepth 1 -type f -delete
            cp "$merged"/* "$seeds"/
            echo "run.sh: $t: corpus merged into $seeds ($(ls "$seeds" | wc -l) files," \
                "$(du -sb "$seeds" | cut -f1) bytes)"
        else
            echo "run.sh: $t: merge failed, corpus left as it was (see $dir/merge.log)"
            return 1
        fi
    fi
    return 0
}

failed=0
pids=()
for t in "${targets[@]}"; do
    if [ "$jobs" -gt 1 ]; then
        while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do sleep 1; done
        run_one "$t" &
        pids+=($!)
    else
        run_one "$t" || failed=1
    fi
done
for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || failed=1
done
if [ $failed = 1 ]; then
    echo "run.sh: at least one target failed"
    exit 1
fi
echo "run.sh: no crash in ${targets[*]} (${seconds}s each)"
