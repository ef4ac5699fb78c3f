#!/usr/bin/env bash
# strategy_reliability.sh — the reliability run of issue 20 at its full size: a three-step
# strategy on N debtors (default 10,000) with the router killed during the first step, the SMS
# connector during the second and Redis restarted during the third, against the real connectors
# and the provider sandbox on the test clock (tests/fault/test_strategy_reliability.py, which CI
# runs with a small N). Prints the test's summary line: steps at phones, unknown, failed, time.
# Usage: strategy_reliability.sh [N]      HILO_BUILD_DIR=build by default (a test build).
set -euo pipefail
n=${1:-10000}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${HILO_BUILD_DIR:-$top/build}
cd "$top/tests/fault"
HILO_STRATEGY_RELIABILITY_N=$n HILO_BUILD_DIR=$build HILO_SOURCE_DIR=$top \
  PYTHONPATH="$build/proto/gen/python:$top/tests/lib" \
  /usr/bin/python3 test_strategy_reliability.py -v 2>&1 | grep -E "strategy reliability|^(OK|FAIL|ERROR)|Error"
