#!/usr/bin/env bash
# Runs the whole test suite: Rust unit and integration tests (each boots the real server on
# 127.0.0.1:0), then the compatibility suite that drives the server with the official Twilio
# Python helper library (installed into tests/compat/.venv on first run).
set -euo pipefail
cd "$(dirname "$0")/.."

command -v cargo >/dev/null || { echo "cargo not found: install Rust from https://rustup.rs" >&2; exit 1; }
command -v python3 >/dev/null || { echo "python3 not found: install Python 3.9 or newer" >&2; exit 1; }

cargo build --locked --bins
cargo test --locked
SWITCHBOARD_BIN="$PWD/target/debug/switchboard" tests/compat/run.sh
