"""Session fixtures shared by the Rasa, e2e and browser tests: the trained model and
the real Rasa and action servers, started once per run on free ports over a temp database."""
from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.service.cli import migrate, write_runtime_endpoints
from bot.service.credentials import issue_chat_token
from bot.storage.db import make_engine, make_session_factory
from bot.clinic.seed import seed_demo_clinic
from tests.helpers import TEST_PASSWORD, free_port, make_settings

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "models" / "current.tar.gz"
RASA = ROOT / ".venv" / "bin" / "rasa"
STARTUP_SECONDS = 240
# The signing key the test servers share, as production's processes share SECRET_KEY.
TEST_SECRET_KEY = "test-servers-signing-key"


@pytest.fixture(scope="session")
def trained_model() -> Path:
    """models/current.tar.gz, retrained only if data, domain or config changed."""
    result = subprocess.run(
        ["make", "--no-print-directory", "-s", "train"],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return MODEL


@dataclass
class Servers:
    """Handles on the running servers and their database."""

    rasa_url: str
    sessions: object
    settings: object
    log_dir: Path

    def settle(self, timeout: float = 30.0) -> None:
        """Wait until the recorder has written every spooled turn to the database."""
        turns = self.settings.spool_dir / "turns"
        assert wait_for(lambda: not any(turns.glob("*.json*")), timeout), "turns still spooled"

    def restart(self, *senders: str) -> None:
        """Start each sender's conversation afresh (Rasa's /restart), so tests stay independent."""
        for sender in senders:
            self.say(sender, "/restart")

    def say(self, sender: str, message: str) -> list[dict]:
        """POST a message to the REST channel as `sender`, with its chat token; return the replies."""
        return post_json(f"{self.rasa_url}/webhooks/rest/webhook", {"sender": sender, "message": message},
                         token=chat_token(sender))


def chat_token(sender: str) -> str:
    """A chat token for `sender`, issued the way the web app issues one."""
    return issue_chat_token(TEST_SECRET_KEY, sender)


def post_json(url: str, payload, timeout: float = 30.0, token: str = "", headers: dict = None):
    """POST JSON and decode the JSON answer (raises HTTPError on 4xx/5xx)."""
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode("utf-8")
    sent = {"Content-Type": "application/json", **(headers or {})}
    if token:
        sent["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, headers=sent)
    with urllib.request.urlopen(request, timeout=timeout) as reply:
        return json.loads(reply.read().decode("utf-8"))


def _wait_until_up(url: str, processes: list[subprocess.Popen], log_dir: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        for process in processes:
            if process.poll() is not None:
                logs = "\n".join(p.read_text()[-3000:] for p in log_dir.glob("*.log"))
                raise RuntimeError(f"a server exited during start-up:\n{logs}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.5)
    raise RuntimeError(f"{url} did not come up within {STARTUP_SECONDS} s")


def server_env(settings, tmp: Path) -> dict:
    """The environment of a server process over the test database."""
    return {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "SPOOL_DIR": str(settings.spool_dir),
        "KAP_ENV_FILE": str(tmp / "absent.env"),
        "SECRET_KEY": settings.secret_key or TEST_SECRET_KEY,
        "SANIC_HOST": "127.0.0.1",
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "RASA_TELEMETRY_ENABLED": "false",
    }


def rasa_command(model: Path, port: int, endpoints: Path) -> list[str]:
    """`rasa run` on loopback with the project's channel and the given endpoints."""
    return [
        str(RASA), "run", "-i", "127.0.0.1", "-p", str(port), "-m", str(model),
        "--credentials", str(ROOT / "credentials.yml"), "--endpoints", str(endpoints),
    ]


@contextmanager
def running(commands: dict[str, list[str]], env: dict, log_dir: Path, health_urls: list[str]):
    """Start the commands, wait until every health URL answers, stop them afterwards."""
    log_dir.mkdir(parents=True, exist_ok=True)
    processes = [
        subprocess.Popen(
            command, cwd=ROOT, env=env,
            stdout=(log_dir / f"{name}.log").open("w"), stderr=subprocess.STDOUT,
        )
        for name, command in commands.items()
    ]
    try:
        for url in health_urls:
            _wait_until_up(url, processes, log_dir)
        yield processes
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture(scope="session")
def servers(trained_model, tmp_path_factory):
    """Start both servers once for the e2e tests; stop them afterwards."""
    tmp = tmp_path_factory.mktemp("e2e")
    rasa_port, actions_port = free_port(), free_port()
    settings = make_settings(tmp, RASA_PORT=str(rasa_port), ACTIONS_PORT=str(actions_port),
                             SECRET_KEY=TEST_SECRET_KEY)
    migrate(settings)
    sessions = make_session_factory(make_engine(settings.database_url))
    with sessions.begin() as session:
        seed_demo_clinic(session, make_password=lambda: TEST_PASSWORD)
    endpoints = write_runtime_endpoints(settings, tmp / "endpoints.yml")
    commands = {
        "actions": [str(RASA), "run", "actions", "--actions", "actions", "-p", str(actions_port)],
        "rasa": rasa_command(trained_model, rasa_port, endpoints),
    }
    health = [
        f"http://127.0.0.1:{actions_port}/health",
        f"http://127.0.0.1:{rasa_port}/webhooks/rest/",
    ]
    log_dir = tmp / "logs"
    with running(commands, server_env(settings, tmp), log_dir, health):
        yield Servers(f"http://127.0.0.1:{rasa_port}", sessions, settings, log_dir)


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.2):
    """Poll until `predicate()` is truthy; return its value (or the last one)."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = predicate()
    return value
