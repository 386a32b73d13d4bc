"""`python -m bot.safety`: JSON Lines in, one JSON line out per line, never a traceback."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
FINDING_KEYS = {"rule", "category", "start", "end", "text", "modifiers"}


def _run(stdin: bytes):
    return subprocess.run(
        [sys.executable, "-m", "bot.safety"], input=stdin, capture_output=True, cwd=REPO_ROOT, timeout=120
    )


@pytest.fixture(scope="module")
def cli_run():
    lines = [
        json.dumps({"text": "i want to kil myself"}),
        "this is not json",
        json.dumps({"text": "my phone is dead"}),
        json.dumps(["a", "list"]),
        json.dumps({"message": "no text key"}),
        json.dumps({"text": 42}),
        json.dumps({"text": "bp is 190/115 and my chest hurts", "id": 7}),
        "",
        json.dumps({"text": "I'm not suicidal"}),
    ]
    stdin = ("\n".join(lines) + "\n").encode() + b'{"text": "caf\xe9"}\n' + json.dumps({"text": "after"}).encode() + b"\n"
    return _run(stdin)


def test_exit_code_zero_and_no_traceback(cli_run):
    assert cli_run.returncode == 0
    assert b"Traceback" not in cli_run.stderr
    assert b"Traceback" not in cli_run.stdout


def test_one_output_line_per_input_line_in_order(cli_run):
    out = [json.loads(line) for line in cli_run.stdout.decode().splitlines()]
    assert len(out) == 11
    assert out[0]["level"] in ("urgent", "emergency") and "suicidal_ideation" in out[0]["categories"]
    assert "error" in out[1]
    assert out[2] == {"level": "none", "categories": [], "findings": []}
    assert "error" in out[3] and "error" in out[4] and "error" in out[5]
    assert out[6]["level"] == "emergency" and out[6]["categories"] == ["medical"]
    assert "error" in out[7]
    assert out[8]["level"] == "none" and out[8]["findings"][0]["modifiers"] == ["negated"]
    assert out[9] == {"error": "The line is not valid UTF-8."}
    assert out[10]["level"] == "none"


def test_output_keys_are_exactly_the_contract(cli_run):
    for line in cli_run.stdout.decode().splitlines():
        record = json.loads(line)
        if "error" in record:
            assert set(record) == {"error"} and record["error"].endswith(".")
            continue
        assert set(record) == {"level", "categories", "findings"}
        for finding in record["findings"]:
            assert set(finding) == FINDING_KEYS


def test_the_documented_example():
    result = _run(b'{"text":"i want to kil myself"}\n')
    record = json.loads(result.stdout)
    assert record["level"] in ("urgent", "emergency")
    assert "suicidal_ideation" in record["categories"]
    assert record["findings"][0]["text"] == "kil myself"


def test_empty_input_gives_empty_output():
    result = _run(b"")
    assert result.returncode == 0 and result.stdout == b""
