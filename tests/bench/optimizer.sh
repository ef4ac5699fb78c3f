#!/usr/bin/env bash
# optimizer.sh — the contact optimizer's simulation benchmark (issue 22; docs/optimizer.md,
# docs/performance.md "Contact optimizer"). Runs hilo-sim on the shipped population
# (tests/sim/populations/default.json) and on one the optimizer was never tuned on (shifted.json),
# 8 simulated weeks, 5 seeds each: the optimizer, the best fixed cadence, random and the oracle,
# with 95 % intervals, and the decision time; then the default population without a holdout (what
# the holdout costs). Writes the JSON results to tests/bench/results/
# and redraws the regret curve docs/optimizer-regret.svg (tests/bench/optimizer_plot.py).
# Usage: optimizer.sh [SEEDS] [WEEKS]   (default 5 8)
#        HILO_BUILD_DIR: a release build is best for the decision time (default build-rel, then
#        build-dev). No servers: the simulator links the optimizer library alone.
set -euo pipefail
seeds=${1:-5}
weeks=${2:-8}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${HILO_BUILD_DIR:-$top/build-rel}
[ -x "$build/tests/sim/hilo-sim" ] || build=$top/build-dev
sim=$build/tests/sim/hilo-sim
[ -x "$sim" ] || { echo "optimizer.sh: no $sim (build the hilo-sim target)" >&2; exit 2; }
work=$(mktemp -d /tmp/hilo-bench-opt.XXXXXX)
trap 'rm -rf "$work"' EXIT
out=$here/results
mkdir -p "$out"
for pop in default shifted; do
  "$sim" --population "$top/tests/sim/populations/$pop.json" --seeds "$seeds" --weeks "$weeks" \
         --json --curve "$work/$pop.csv" > "$out/optimizer-$pop.json"
  cp "$work/$pop.csv" "$out/optimizer-$pop-curve.csv"
  cat "$out/optimizer-$pop.json"
done
# The holdout's cost: the default population again with no holdout (a diagnosis, not the goal's run).
"$sim" --population "$top/tests/sim/populations/default.json" --seeds "$seeds" --weeks "$weeks" \
       --holdout 0 --json > "$out/optimizer-default-no-holdout.json"
cat "$out/optimizer-default-no-holdout.json"
/usr/bin/python3 "$here/optimizer_plot.py" "$out/optimizer-default-curve.csv" "$out/optimizer-shifted-curve.csv" \
  > "$top/docs/optimizer-regret.svg"
echo "optimizer.sh: wrote $out/optimizer-{default,shifted}.json and docs/optimizer-regret.svg" >&2
