"""The evaluation script runs without the shared data and meets the project's own targets."""
import json
import os
import subprocess
import sys
from pathlib import Path

from bot.safety.evaluate import check_targets, evaluate_own, render_markdown

REPO_ROOT = Path(__file__).resolve().parents[3]


def test_own_sets_meet_their_targets(safety_screen):
    own = evaluate_own(safety_screen)
    targets = check_targets(None, own)
    assert all(row["met"] in (True, None) for row in targets.values()), targets
    markdown = render_markdown(
        {"rules_version": "x", "shared_dir": "/nowhere", "public": None, "own": own, "targets": targets}
    )
    assert "Shared evaluation directory not found" in markdown


def test_missing_shared_dir_is_one_line_and_reports_are_written(tmp_path):
    env = dict(os.environ, SAFETY_EVAL_DIR=str(tmp_path / "missing"))
    result = subprocess.run(
        [sys.executable, "-m", "bot.safety.evaluate", "--out", str(tmp_path / "out")],
        capture_output=True, text=True, cwd=REPO_ROOT, env=env, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[0].startswith("Shared evaluation directory not found")
    report = json.loads((tmp_path / "out" / "safety_eval.json").read_text())
    assert report["public"] is None
    assert (tmp_path / "out" / "safety_eval.md").is_file()
