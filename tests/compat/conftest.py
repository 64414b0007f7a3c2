"""Starts one real Switchboard server per test session and hands out official `twilio`
helper-library clients pointed at it (recipe A of shared/twilio-api.md: per-domain base_url).

Environment:
  SWITCHBOARD_BIN   server binary (default: <repo>/target/debug/switchboard)
"""

import os
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

# Recipe A rewrites hosts when a region or edge is configured; make sure none is.
for _var in ("TWILIO_REGION", "TWILIO_EDGE"):
    os.environ.pop(_var, None)

from twilio.rest import Client  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "5ec7e7c0ffee0123456789abcdef0123"
# The messaging provider's auth token: verifies X-Twilio-Signature on /channels/twilio/*.
PROVIDER_AUTH_TOKEN = "0b5e55ed0123456789abcdef01234567"

STARTUP_DEADLINE = 30.0
LISTEN_PREFIX = "switchboard listening on "


class Server:
    """A running server: base URL, root credentials, log files."""

    def __init__(self, base, account_sid, auth_token, log_path):
        self.base = base
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.log_path = log_path

    def client(self, account_sid=None, auth_token=None):
        return make_client(
            self.base, account_sid or self.account_sid, auth_token or self.auth_token
        )


def make_client(base, account_sid, auth_token):
    """An official client whose Conversations, Api, Flex and TaskRouter domains point at `base`."""
    client = Client(account_sid, auth_token)
    client.conversations.base_url = base + "/conversations"
    client.api.base_url = base + "/api"
    client.flex_api.base_url = base + "/flex-api"
    client.taskrouter.base_url = base + "/taskrouter"
    return client


def _server_bin():
    raw = os.environ.get("SWITCHBOARD_BIN") or "target/debug/switchboard"
    path = Path(raw)
    if not path.is_absolute():
        path = REPO_ROOT / path
    return path


def _pump(stream, sink, lines, found):
    """Copies the server's stdout to a file; reports the listening line once."""
    for raw in iter(stream.readline, b""):
        line = raw.decode("utf-8", "replace")
        sink.write(line)
        sink.flush()
        if not found.is_set():
            lines.append(line)
            if LISTEN_PREFIX in line:
                found.set()
    stream.close()


@pytest.fixture(scope="session")
def server():
    binary = _server_bin()
    if not binary.is_file():
        pytest.exit(
            f"server binary {binary} not found: run `cargo build` or set SWITCHBOARD_BIN",
            returncode=2,
        )
    data_dir = tempfile.mkdtemp(prefix="switchboard-compat-")
    log_path = Path(data_dir) / "server.log"
    env = dict(os.environ)
    env.update(
        {
            "SWITCHBOARD_ACCOUNT_SID": ACCOUNT_SID,
            "SWITCHBOARD_AUTH_TOKEN": AUTH_TOKEN,
            "SWITCHBOARD__CONVERSATIONS__RATE_LIMIT_PER_SECOND": "0",
            "SWITCHBOARD__CONVERSATIONS__MIN_INACTIVE_TIMER": "1s",
            "SWITCHBOARD__CONVERSATIONS__MIN_CLOSED_TIMER": "1s",
            "SWITCHBOARD__CHANNELS__TWILIO__AUTH_TOKEN": PROVIDER_AUTH_TOKEN,
        }
    )
    log = open(log_path, "w", encoding="utf-8")
    proc = subprocess.Popen(
        [
            str(binary),
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            str(Path(data_dir) / "data"),
        ],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=log,
        cwd=data_dir,
    )
    lines, found = [], threading.Event()
    pump = threading.Thread(
        target=_pump, args=(proc.stdout, log, lines, found), daemon=True
    )
    pump.start()

    def fail(why):
        proc.kill()
        proc.wait(timeout=10)
        log.flush()
        text = log_path.read_text(encoding="utf-8", errors="replace")
        pytest.exit(f"{why}\n--- server output ---\n{text[-4000:]}", returncode=3)

    deadline = time.monotonic() + STARTUP_DEADLINE
    while not found.wait(0.1):
        if proc.poll() is not None:
            fail(f"server exited with {proc.returncode} before listening")
        if time.monotonic() > deadline:
            fail("server did not print its listening line within 30 s")
    line = next(l for l in lines if LISTEN_PREFIX in l)
    base = line.split(LISTEN_PREFIX, 1)[1].strip().rstrip("/")

    while True:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as resp:
                if resp.status == 200:
                    break
        except (urllib.error.URLError, OSError):
            pass
        if proc.poll() is not None:
            fail(f"server exited with {proc.returncode} before /healthz answered")
        if time.monotonic() > deadline:
            fail("/healthz did not answer 200 within 30 s")
        time.sleep(0.1)

    yield Server(base, ACCOUNT_SID, AUTH_TOKEN, log_path)

    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
    pump.join(timeout=5)
    log.close()
    if os.environ.get("SWITCHBOARD_COMPAT_KEEP_DATA"):
        print(f"server data and log kept in {data_dir}")
    else:
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def client(server):
    """The root account's client."""
    return server.client()


@pytest.fixture(scope="session")
def conversations(client):
    """Shorthand for `client.conversations.v1`."""
    return client.conversations.v1


@pytest.fixture
def uid():
    """A short unique suffix for names that must not collide across tests."""
    return uuid.uuid4().hex[:12]


@pytest.fixture
def subaccount(client, server):
    """A fresh subaccount of the root account and an official client for it."""
    account = client.api.v2010.accounts.create(friendly_name="sub")
    return account, server.client(account.sid, account.auth_token)
