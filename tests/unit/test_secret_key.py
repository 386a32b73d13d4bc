"""The shared signing key: created once, identical in every process that races for it."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_processes_racing_to_create_the_key_all_read_the_same_one(tmp_path):
    key_file = tmp_path / "var" / "secret_key"
    code = (
        "import sys; from pathlib import Path; from bot.config.secret_key import load_or_create_secret_key;"
        f"print(load_or_create_secret_key(Path({str(key_file)!r})))"
    )
    racers = [
        subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        for _ in range(8)
    ]
    keys = {racer.communicate(timeout=60)[0].strip() for racer in racers}
    assert len(keys) == 1 and len(keys.pop()) == 64
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert [p.name for p in key_file.parent.iterdir()] == ["secret_key"]
