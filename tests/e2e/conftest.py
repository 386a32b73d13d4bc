"""The real Rasa server and action server, on free ports, over a temporary database."""
from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.cli import migrate, write_runtime_endpoints
from bot.storage.db import make_engine, make_session_factory
from bot.storage.seed import seed_demo_clinic
from tests.conftest import TEST_PASSWORD, make_settings
from tests.helpers import free_port
from tests.rasa.conftest import RASA, ROOT, trained_model  # noqa: F401  (fixture)

STARTUP_SECONDS = 240


@dataclass
class Servers:
    """Handles on the running servers and their database."""

    rasa_url: str
    sessions: object
    settings: object
    log_dir: Path

    def say(self, sender: str, message: str) -> list[dict]:
        """POST a message to the REST channel; return the bot's replies."""
        return post_json(f"{self.rasa_url}/webhooks/rest/webhook", {"sender": sender, "message": message})


def post_json(url: str, payload, timeout: float = 30.0):
    """POST JSON and decode the JSON answer (raises HTTPError on 4xx/5xx)."""
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode("utf-8")
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
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


@pytest.fixture(scope="session")
def servers(trained_model, tmp_path_factory):  # noqa: F811
    """Start both servers once for the e2e tests; stop them afterwards."""
    tmp = tmp_path_factory.mktemp("e2e")
    rasa_port, actions_port = free_port(), free_port()
    settings = make_settings(tmp, RASA_PORT=str(rasa_port), ACTIONS_PORT=str(actions_port))
    migrate(settings)
    sessions = make_session_factory(make_engine(settings.database_url))
    with sessions.begin() as session:
        seed_demo_clinic(session, make_password=lambda: TEST_PASSWORD)
    endpoints = write_runtime_endpoints(settings, tmp / "endpoints.yml")
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "SPOOL_DIR": str(settings.spool_dir),
        "KAP_ENV_FILE": str(tmp / "absent.env"),
        "SANIC_HOST": "127.0.0.1",
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    log_dir = tmp / "logs"
    log_dir.mkdir()
    commands = {
        "actions": [str(RASA), "run", "actions", "--actions", "actions", "-p", str(actions_port)],
        "rasa": [
            str(RASA), "run", "-i", "127.0.0.1", "-p", str(rasa_port), "-m", str(trained_model),
            "--credentials", str(ROOT / "credentials.yml"), "--endpoints", str(endpoints),
        ],
    }
    processes = [
        subprocess.Popen(
            command, cwd=ROOT, env=env,
            stdout=(log_dir / f"{name}.log").open("w"), stderr=subprocess.STDOUT,
        )
        for name, command in commands.items()
    ]
    try:
        _wait_until_up(f"http://127.0.0.1:{actions_port}/health", processes, log_dir)
        _wait_until_up(f"http://127.0.0.1:{rasa_port}/webhooks/rest/", processes, log_dir)
        yield Servers(f"http://127.0.0.1:{rasa_port}", sessions, settings, log_dir)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.2):
    """Poll until `predicate()` is truthy; return its value (or the last one)."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = predicate()
    return value
