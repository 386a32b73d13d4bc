"""`make run` prints only our own lines up to "All servers are up": the logins, one line per
process started and the URLs, no library's deprecation warnings."""
import os
import re
import signal
import subprocess
import sys

import pytest

from tests.helpers import free_port
from tests.servers import ROOT, TEST_SECRET_KEY

pytestmark = pytest.mark.e2e

# `python -m bot serve` (what `make run` runs after preflight and training), with its
# runtime endpoints file in the test's folder rather than the developer's var/.
DRIVER = """
import sys
from pathlib import Path
import bot.service.cli as cli
cli.RUNTIME_ENDPOINTS = Path(sys.argv[1])
sys.exit(cli.main(["serve"]))
"""
PROCESSES = {"rasa", "actions", "web", "dispatcher", "ready"}
# A Python warning as printed: "path/to/file.py:12: SomeWarning: message".
PYTHON_WARNING = re.compile(r"\.py:\d+: \w*Warning\b")
# A log line of ours: "2026-12-05 22:46:52,176 WARNING __main__: ..." from one of our modules.
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d [\d:,]+ [A-Z]+ (\S+): ")
OUR_LOGGERS = ("__main__", "bot", "components", "actions", "journal_web", "rasa_sdk_plugins")


def start_output(tmp_path) -> list[str]:
    """Every line printed from the start until "All servers are up" (then stop everything)."""
    env = {
        **os.environ,
        "KAP_ENV_FILE": str(tmp_path / "absent.env"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'kap.db'}",
        "SPOOL_DIR": str(tmp_path / "spool"),
        "SECRET_KEY": TEST_SECRET_KEY,
        "RASA_PORT": str(free_port()),
        "ACTIONS_PORT": str(free_port()),
        "WEB_PORT": str(free_port()),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("PYTHONWARNINGS", None)
    process = subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(tmp_path / "endpoints.yml")], cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    lines: list[str] = []
    try:
        for line in process.stdout:
            # A server that exits stops them all (honcho); `announce` gives up with "error:".
            if "All servers are up" in line or "stopped (rc=" in line or "error:" in line:
                lines.append(line.rstrip("\n"))
                break
            lines.append(line.rstrip("\n"))
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return lines


@pytest.fixture(scope="module")
def start(trained_model, tmp_path_factory):
    """The start-up output of one `serve` over a fresh database."""
    return start_output(tmp_path_factory.mktemp("quiet-start"))


def test_the_servers_come_up(start):
    assert "All servers are up" in start[-1], "\n".join(start[-40:])


def test_no_library_warning_before_all_servers_are_up(start):
    noisy = [line for line in start if "site-packages" in line or PYTHON_WARNING.search(line)]
    assert noisy == [], "\n".join(noisy)


def test_only_our_lines_before_all_servers_are_up(start):
    body = [line.split("| ", 1)[1] if " | " in line else line for line in start]
    started = {m.group(1) for line in start if (m := re.search(r"system\s+\| (\w+)\.1 started", line))}
    assert started == PROCESSES
    theirs = [line for line in body if (m := LOG_LINE.match(line)) and not m.group(1).startswith(OUR_LOGGERS)]
    assert theirs == []
    assert "Seeded the fictional demo clinic" in "\n".join(body)
    # Logins (6 lines), one per process (5), our dispatcher's 2 log lines, the blank and "All servers are up".
    assert len(start) < 20, "\n".join(start)
