"""Bad set-up gives one clear line and no traceback."""
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import free_port

ROOT = Path(__file__).resolve().parents[2]


def run_bot(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "KAP_ENV_FILE": str(tmp_path / "absent.env"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'kap.db'}",
        "RASA_PORT": str(free_port()),
        "ACTIONS_PORT": str(free_port()),
        "WEB_PORT": str(free_port()),
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=ROOT, env=environ, capture_output=True, text=True, timeout=120,
    )


def assert_one_clear_line(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0]


def test_preflight_passes_on_a_clean_machine(tmp_path):
    result = run_bot(tmp_path, "preflight")
    assert result.returncode == 0, result.stderr


def test_a_port_already_taken(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = run_bot(tmp_path, "preflight", RASA_PORT=port)
    assert_one_clear_line(result, f"port {port} (Rasa server) is already in use", "RASA_PORT")


def test_an_unreachable_database(tmp_path):
    url = f"postgresql://kap:hunter2@127.0.0.1:{free_port()}/kap"
    result = run_bot(tmp_path, "preflight", DATABASE_URL=url)
    assert_one_clear_line(result, "cannot reach the database", "127.0.0.1")
    assert "hunter2" not in result.stderr


def test_a_malformed_env_file(tmp_path):
    env_file = tmp_path / "bad.env"
    env_file.write_text("DATABASE_URL=sqlite:///x.db\nthis line is wrong\n", encoding="utf-8")
    result = run_bot(tmp_path, "preflight", KAP_ENV_FILE=str(env_file))
    assert_one_clear_line(result, "line 2 is not KEY=VALUE")


def test_a_malformed_database_url(tmp_path):
    result = run_bot(tmp_path, "migrate", DATABASE_URL="postgresql://kap@host:notaport/db")
    assert_one_clear_line(result, "DATABASE_URL")


def test_no_python_310_found(tmp_path):
    result = subprocess.run(
        [str(ROOT / "scripts" / "find-python.sh")],
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYENV_ROOT": str(tmp_path / "no-pyenv")},
        capture_output=True, text=True, timeout=60,
    )
    if result.returncode == 0 and "3.10" in subprocess.run(
        [result.stdout.strip(), "--version"], capture_output=True, text=True
    ).stdout:
        pytest.skip("this machine has a system Python 3.10 on /usr/bin")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Python 3.10 not found" in lines[0] and "pyenv install 3.10" in lines[0]


def test_migrate_then_seed_prints_logins_once(tmp_path):
    assert run_bot(tmp_path, "migrate").returncode == 0
    first = run_bot(tmp_path, "seed")
    second = run_bot(tmp_path, "seed")
    assert first.returncode == 0 and "rowan.hale@cedargrove.example" in first.stdout
    assert second.returncode == 0 and "rowan.hale" not in second.stdout
