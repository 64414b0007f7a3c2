#!/usr/bin/env bash
# Runs the whole test suite: Rust unit and integration tests (each boots the real server on
# 127.0.0.1:0), then the compatibility suite that drives the server with the official Twilio
# Python helper library (installed into tests/compat/.venv on first run), then the web client's
# Connection SDK with node --test (unit tests, and integration tests against the built binary),
# then the web pages end to end in headless Chromium (Debian's `chromium`, apt-installed here
# when missing, driven by playwright-core; screenshots land in web-client/e2e/artifacts/).
set -euo pipefail
cd "$(dirname "$0")/.."

command -v cargo >/dev/null || { echo "cargo not found: install Rust from https://rustup.rs" >&2; exit 1; }
command -v python3 >/dev/null || { echo "python3 not found: install Python 3.9 or newer" >&2; exit 1; }
command -v npm >/dev/null && node -e 'process.exit(parseInt(process.versions.node) >= 20 ? 0 : 1)' 2>/dev/null \
  || { echo "node/npm not found or node older than 20: install Node.js 20 or newer (with npm) for the web client tests" >&2; exit 1; }

# playwright-core never downloads a browser, but no install step may fetch one either.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

cargo build --locked --bins
cargo test --locked
SWITCHBOARD_BIN="$PWD/target/debug/switchboard" tests/compat/run.sh
(cd web-client && npm ci --no-audit --no-fund && SWITCHBOARD_BIN="$PWD/../target/debug/switchboard" npm test)

# The browser tests use Debian's Chromium, never one a tool downloads for itself.
if [ ! -x /usr/bin/chromium ]; then
  command -v apt-get >/dev/null || { echo "/usr/bin/chromium not found and no apt-get: install Chromium at /usr/bin/chromium" >&2; exit 1; }
  as_root=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "installing chromium needs root or sudo" >&2; exit 1; }
    as_root=sudo
  fi
  $as_root apt-get update
  $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium
fi
(cd web-client && SWITCHBOARD_BIN="$PWD/../target/debug/switchboard" npm run test:e2e)
