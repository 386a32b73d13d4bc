"""Figures on the blind example sets: text written from CLINICAL.md by writers who never saw the rules.

Each set is a pair of files in tests/safety_examples/: `blind_<round>_risk.jsonl`
(warning signs, each line with the level a clinician gave it) and
`blind_<round>_benign.jsonl` (psychedelic imagery, idioms, everyday KAP life,
talk about suicide, another person's risk, the past, denials, with `none` or
`review`). They are measured, never trained on, and never edited to pass.

- Recall: a risk line counts when the screen's level is at least its own.
- False alarm: a line screened above its own level (a `none` line at `review`
  or above, a `review` line at `urgent` or above).
"""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Callable, Dict, List, Optional

from bot.safety.model import level_rank

BLIND_DIR = Path(__file__).resolve().parents[2] / "tests" / "safety_examples"

TARGETS = {
    "risk recall at the right level or above": (">=", 0.95),
    "benign false alarms": ("<=", 0.05),
    "psychedelic imagery false alarms": ("<=", 0.03),
}


def blind_rounds(directory: Path = BLIND_DIR) -> List[str]:
    """The rounds present, in order: ["r1", "r2", ...]."""
    names = {p.stem.split("_")[1] for p in directory.glob("blind_*_*.jsonl")}
    # By number: "r10" comes after "r9", not after "r1".
    return sorted(names, key=lambda name: (int(name[1:]) if name[1:].isdigit() else 0, name))


def read_jsonl(path: Path) -> List[dict]:
    """The JSON objects of a JSON Lines file, blank lines skipped."""
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def read_round(round_name: str, directory: Path = BLIND_DIR) -> Dict[str, List[dict]]:
    """{"risk": [...], "benign": [...]} for one round."""
    return {kind: read_jsonl(directory / f"blind_{round_name}_{kind}.jsonl") for kind in ("risk", "benign")}


def _rate(hits: int, total: int) -> Optional[float]:
    return round(hits / total, 4) if total else None


def evaluate_round(level_of: Callable[[str], str], rows: Dict[str, List[dict]]) -> dict:
    """Recall per sign and false alarms per group for one round; `level_of(text)` gives a level."""
    by_sign: Dict[str, List[bool]] = defaultdict(list)
    for row in rows["risk"]:
        by_sign[row["sign"]].append(level_rank(level_of(row["text"])) >= level_rank(row["level"]))
    by_group: Dict[str, List[bool]] = defaultdict(list)
    for row in rows["benign"]:
        by_group[row["sign"]].append(level_rank(level_of(row["text"])) > level_rank(row["level"]))
    caught = [hit for hits in by_sign.values() for hit in hits]
    alarms = [hit for hits in by_group.values() for hit in hits]
    imagery = by_group.get("psychedelic_imagery", [])
    return {
        "risk": {"n": len(caught), "recall": _rate(sum(caught), len(caught))},
        "benign": {"n": len(alarms), "false_alarms": _rate(sum(alarms), len(alarms))},
        "psychedelic": {"n": len(imagery), "false_alarms": _rate(sum(imagery), len(imagery))},
        "by_sign": {sign: {"n": len(h), "recall": _rate(sum(h), len(h))} for sign, h in sorted(by_sign.items())},
        "by_group": {g: {"n": len(h), "false_alarms": _rate(sum(h), len(h))} for g, h in sorted(by_group.items())},
    }


def judge(values: Dict[str, Optional[float]], targets: Dict[str, tuple]) -> Dict[str, dict]:
    """{name: {value, target, met}} for each (op, goal) target; met is None where nothing was measured."""
    out = {}
    for name, (op, goal) in targets.items():
        value = values[name]
        met = None if value is None else (value >= goal if op == ">=" else value <= goal)
        out[name] = {"value": value, "target": f"{op} {goal}", "met": met}
    return out


def check(result: dict) -> Dict[str, dict]:
    """Each blind target with its value and whether it is met."""
    values = {
        "risk recall at the right level or above": result["risk"]["recall"],
        "benign false alarms": result["benign"]["false_alarms"],
        "psychedelic imagery false alarms": result["psychedelic"]["false_alarms"],
    }
    return judge(values, TARGETS)
