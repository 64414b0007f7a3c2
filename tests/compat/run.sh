#!/usr/bin/env bash
# Drives a real Switchboard server with the official `twilio` Python helper library.
# Builds nothing: expects the server binary at $SWITCHBOARD_BIN (default target/debug/switchboard,
# relative to the repository root). Extra arguments go to pytest. Exit code = pytest's.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

export SWITCHBOARD_BIN="${SWITCHBOARD_BIN:-target/debug/switchboard}"
if [[ ! -x "$SWITCHBOARD_BIN" ]]; then
    echo "run.sh: server binary $SWITCHBOARD_BIN not found or not executable (run cargo build first)" >&2
    exit 2
fi

venv="tests/compat/.venv"
if [[ ! -x "$venv/bin/python" ]]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r tests/compat/requirements.txt

# Recipe A (per-domain base_url) breaks when a region or edge is configured.
unset TWILIO_REGION TWILIO_EDGE

set +e
"$venv/bin/python" -m pytest -q tests/compat "$@"
status=$?
set -e
exit "$status"
