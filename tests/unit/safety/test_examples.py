"""The project's own example sets (tests/safety_examples/*.jsonl), one test per line.

The blind sets (blind_*.jsonl) are measured by `make eval-safety`, not pinned here.
"""
import json
from pathlib import Path

import pytest

from bot.safety import LEVELS

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "safety_examples"
RANK = {level: rank for rank, level in enumerate(LEVELS)}


def _cases():
    for path in sorted(p for p in EXAMPLES_DIR.glob("*.jsonl") if not p.name.startswith("blind_")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            row = json.loads(line)
            label = " ".join(row["text"].split())[:50]
            yield pytest.param(row, id=f"{path.stem}:{number}:{label}")


CASES = list(_cases())


def test_there_are_enough_examples():
    assert len(CASES) >= 150


@pytest.mark.parametrize("row", CASES)
def test_example(safety_screen, row):
    assessment = safety_screen(row["text"])
    got = RANK[assessment.level]
    detail = (assessment.level, assessment.categories, [(f.rule, f.level, f.modifiers) for f in assessment.findings])
    if "expect_level" in row:
        assert assessment.level == row["expect_level"], detail
    if "expect_min_level" in row:
        assert got >= RANK[row["expect_min_level"]], detail
    if "expect_max_level" in row:
        assert got <= RANK[row["expect_max_level"]], detail
    if row.get("expect_categories"):
        assert set(row["expect_categories"]) & set(assessment.categories), detail
    for finding in assessment.findings:
        assert row["text"][finding.start : finding.end] == finding.text
