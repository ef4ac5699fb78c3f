#!/usr/bin/env bash
# install-deps.sh — installs (as root, or with sudo) every Debian 12 package hilo needs to
# build, run and test. Installs only what is missing; safe to run again.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git curl ca-certificates
  libzmq3-dev libhiredis-dev libwebsockets-dev libwebsockets-evlib-uv
  libprotobuf-c-dev protobuf-c-compiler protobuf-compiler
  libuv1-dev libjansson-dev libcurl4-openssl-dev libssl-dev libsodium-dev libcmocka-dev
  redis-server tzdata
  python3 python3-zmq python3-redis python3-websockets python3-protobuf
  python3-setuptools python3-venv # the link client's distribution, built offline into a venv (clients/python)
  python3-yaml # tests: deploy/prometheus/hilo-alerts.yml is read (tests/e2e/test_alert_rules.py)
  libfaketime # tests: a router whose clock runs off (tests/lib/hilo_harness.py)
  libsystemd-dev # sd_notify: READY/STOPPING and the watchdog pings (proto/src/watchdog.c)
  libutf8proc-dev # Unicode tables for the one text normaliser (proto/src/textnorm.c)
  libphonenumber-dev # phone numbers (proto/src/phonelib.cc, the C++ shim); pulls g++'s libstdc++ deps
  g++ # the C++ compiler for that one shim (build-essential has it; named for minimal images)
  iproute2 # ss: the quickstart names the process on a port it needs (deploy/lib/wait.sh)
  scdoc # the man pages (docs/man/*.scd -> hilo(1), hilo-router(8), hilo-connector(8), hilo.conf(5))
  systemd # tests: systemd-analyze scores and verifies deploy/systemd/ (test_systemd_units.py)
)
# The test suite's own tools (tests/run.sh sets HILO_WITH_TEST_TOOLS=1): a second compiler with
# libFuzzer (tests/fuzz/) and readelf for the hardening check (tests/integration/test_hardening.py),
# lintian for the package, logrotate for the dead-letter files' rotation rules.
if [ "${HILO_WITH_TEST_TOOLS:-0}" = 1 ]; then
  packages+=(clang libclang-rt-14-dev binutils)
  packages+=(lintian) # the .deb is checked by bookworm's lintian (tests/integration/test_deb.py)
  packages+=(logrotate) # the shipped rotation rules run for real (tests/integration/test_dead_letter_rotation.py)
fi
if [ "${HILO_WITH_BROWSER:-1}" = 1 ]; then
  packages+=(chromium)
  # Node.js may come from elsewhere than Debian (its nodejs package then bundles npm, which
  # conflicts with Debian's npm): only ask apt when the commands are missing.
  command -v node >/dev/null 2>&1 || packages+=(nodejs)
  command -v npm >/dev/null 2>&1 || packages+=(npm)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# promtool checks and unit-tests deploy/prometheus/hilo-alerts.yml (tests/integration/
# test_alert_rules_promtool.py). It comes from Debian's prometheus package, but installing that
# package would start a Prometheus server: only the promtool binary is taken out of it.
PROMTOOL_DIR=/usr/local/lib/hilo-test-tools
if [ "${HILO_WITH_TEST_TOOLS:-0}" = 1 ] && [ ! -x "$PROMTOOL_DIR/promtool" ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  tmp=$(mktemp -d)
  chmod 0755 "$tmp" # apt's _apt user writes the download there
  echo "install-deps: taking promtool out of Debian's prometheus package"
  if ! (cd "$tmp" && apt-get download -q prometheus >/dev/null 2>&1); then
    $SUDO apt-get update -q
    (cd "$tmp" && apt-get download -q prometheus)
  fi
  dpkg-deb --fsys-tarfile "$tmp"/prometheus_*.deb | tar -x -C "$tmp" ./usr/bin/promtool
  $SUDO install -D -m 0755 "$tmp/usr/bin/promtool" "$PROMTOOL_DIR/promtool"
  rm -rf "$tmp"
fi
# Redis is started by hilo's own scripts on loopback; the distribution's service is not needed.
