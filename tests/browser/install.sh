#!/usr/bin/env bash
# tests/browser/install.sh — installs playwright-core (pinned in package-lock.json) for the
# browser tests, once. Chromium itself is Debian's /usr/bin/chromium (playwright's own browser
# download does not work here and is not needed). Safe to run repeatedly.
set -euo pipefail
cd "$(dirname "$0")"
if [ -d node_modules/playwright-core ]; then exit 0; fi
if ! command -v npm >/dev/null; then
  echo "tests/browser: npm not found; the browser tests will be skipped" >&2
  exit 0
fi
npm ci --no-audit --no-fund
