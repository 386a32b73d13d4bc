"""`rasa data validate` and the Rasa conversation tests, run from pytest."""
import re
import subprocess
from pathlib import Path

import yaml

from tests.servers import RASA, ROOT


def run_rasa(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(RASA), *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


def test_rasa_data_validate():
    result = run_rasa("data", "validate")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]


def test_every_response_the_code_sends_is_in_the_domain():
    # Rasa's validator cannot see responses sent from custom actions.
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    named = {
        name
        for folder in ("actions", "bot", "components")
        for path in (ROOT / folder).rglob("*.py")
        for name in re.findall(r"[\"'](utter_[a-z_]+)[\"']", path.read_text(encoding="utf-8"))
    }
    assert named, "expected the actions to send domain responses"
    assert sorted(named - set(domain["responses"])) == []


def test_conversation_stories(trained_model: Path, tmp_path: Path):
    result = run_rasa(
        "test", "core",
        "--model", str(trained_model),
        "--stories", str(ROOT / "tests" / "conversations"),
        "--fail-on-prediction-errors",
        "--out", str(tmp_path),
        "--no-plot",
    )
    failed = tmp_path / "failed_test_stories.yml"
    details = failed.read_text(encoding="utf-8") if failed.exists() else ""
    assert result.returncode == 0, details or (result.stdout[-4000:] + result.stderr[-4000:])
