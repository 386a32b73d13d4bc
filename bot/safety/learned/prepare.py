"""Derive the learned reader's Reddit training file from the C-SSRS 500-user set.

`python -m bot.safety.learned.prepare --csv PATH [--eval-dir DIR]` writes
bot/safety/learned/data/cssrs_reddit.jsonl: one line per post, with the user's
clinician label mapped to a reader class. What is changed from the source:

- users labelled Indicator (risk indicators without ideation) are kept apart,
  labelled "indicator": they are not trained on, only used to check that the
  reader does not page for distress without ideation;
- every user who wrote a line of the shared evaluation set is left out, so
  that set keeps measuring text the reader has not seen (its lines are matched
  against the posts; nothing of it is written);
- the dataset's medical-term substitutions are undone where they are
  unambiguous ("Tired" for "very", "Pain" for "hurt", ...);
- posts are cut to MAX_CHARS characters.

Source: Gaur et al., WWW 2019, doi 10.5281/zenodo.2667859, CC BY 4.0.
"""
from __future__ import annotations

import argparse
import ast
import csv
import json
import re
import sys
from pathlib import Path
from typing import Iterable, List, Optional

DATA_DIR = Path(__file__).resolve().parent / "data"
OUT_FILE = DATA_DIR / "cssrs_reddit.jsonl"
MAX_CHARS = 1000
LABELS = {
    "Indicator": "indicator",
    "Supportive": "none",
    "Ideation": "suicidal_ideation",
    "Behavior": "suicidal_behavior",
    "Attempt": "suicidal_behavior",
}
# The source replaced plain words with medical terms; these undo the common, unambiguous ones.
ARTIFACTS = {
    "Tired": "very",
    "Asthenia": "week",
    "Pain": "hurt",
    "Illness": "sick",
    "Feeling unhappy": "depression",
    "Injury of muscle": "stupid",
}


def _posts(cell: str) -> List[str]:
    """The posts of one CSV cell (a Python list literal, sometimes cut short)."""
    try:
        value = ast.literal_eval(cell)
        return [str(p) for p in value] if isinstance(value, list) else [str(value)]
    except (ValueError, SyntaxError):
        inner = cell.strip().lstrip("[").rstrip("]")
        return [p.strip(" '\"") for p in re.split(r"""['"],\s*['"]""", inner) if p.strip(" '\"")]


def _clean(text: str) -> str:
    for term, plain in ARTIFACTS.items():
        text = re.sub(rf"\b{re.escape(term)}\b", plain, text)
    return " ".join(text.split())


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", text.lower())


def _eval_lines(eval_dir: Optional[Path]) -> List[str]:
    if eval_dir is None or not eval_dir.is_dir():
        return []
    lines = []
    for path in sorted(eval_dir.glob("public_*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                lines.append(_squash(json.loads(line)["text"]))
    return [line for line in lines if len(line) >= 12]


def prepare(csv_path: Path, eval_dir: Optional[Path]) -> dict:
    """Write OUT_FILE; return counts."""
    csv.field_size_limit(10**9)
    held_out = _eval_lines(eval_dir)
    kept, dropped_eval, dropped_indicator = [], 0, 0
    with csv_path.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            posts = _posts(row["Post"])
            label = row["Label"]
            if label not in LABELS:
                dropped_indicator += 1
                continue
            everything = _squash(" ".join(posts))
            if any(line in everything for line in held_out):
                dropped_eval += 1
                continue
            for number, post in enumerate(posts):
                text = _clean(post)[:MAX_CHARS]
                if len(text) >= 20:
                    kept.append({"id": f"{row['User']}.{number}", "user": row["User"], "label": LABELS[label], "text": text})
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    with OUT_FILE.open("w", encoding="utf-8") as out:
        for item in kept:
            out.write(json.dumps(item, ensure_ascii=False) + "\n")
    users = {item["user"] for item in kept}
    return {"posts": len(kept), "users": len(users), "users_left_out_for_eval": dropped_eval,
            "users_with_another_label_left_out": dropped_indicator}


def main(argv: Optional[Iterable[str]] = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, required=True)
    parser.add_argument("--eval-dir", type=Path, default=None, help="the shared evaluation set whose users stay out")
    args = parser.parse_args(list(argv) if argv is not None else None)
    if args.eval_dir is None or not args.eval_dir.is_dir():
        print("error: --eval-dir must name the shared evaluation directory, so its users stay out", file=sys.stderr)
        return 2
    print(json.dumps(prepare(args.csv, args.eval_dir)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
