"""The trained model, built through `make train` so tests and `make run` agree."""
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "models" / "current.tar.gz"
RASA = ROOT / ".venv" / "bin" / "rasa"


@pytest.fixture(scope="session")
def trained_model() -> Path:
    """models/current.tar.gz, retrained only if data, domain or config changed."""
    result = subprocess.run(
        ["make", "--no-print-directory", "-s", "train"],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return MODEL
