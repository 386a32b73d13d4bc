"""Train the learned reader: `python -m bot.safety.learned.train` (`make train-reader`).

Reproducible: a fixed seed, fixed splits (by a hash of each id, and by user
for the Reddit posts) and only data committed in this repository:

- data/cssrs_reddit.jsonl: Reddit C-SSRS posts (CC BY 4.0, see NOTICE), made
  by `python -m bot.safety.learned.prepare`;
- data/own_train.jsonl: the project's own training messages, written for
  training by writers who did not write the blind sets.

The blind sets (tests/safety_examples/blind_*.jsonl) are never read here.
Thresholds are calibrated on held-out data, with the rules in place: on each
benign set (the held-out own training lines at `none` or `review`, and the
project's own example sets of psychedelic imagery, idioms, everyday KAP life
and normal after-effects) the reader may raise at most REVIEW_FALSE_ALARMS of
the texts above their right level, and at most URGENT_FALSE_ALARMS to
`urgent`.
Writes reader.npz and reader.json beside this file.
"""
from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np

from bot.safety.learned.model import MODEL_DIR, NONE, RECORD_FILE, WEIGHTS_FILE, load_reader, make_vectorizers

SEED = 20261205
DATA_DIR = MODEL_DIR / "data"
SOURCES = {"cssrs_reddit": DATA_DIR / "cssrs_reddit.jsonl", "own_train": DATA_DIR / "own_train.jsonl"}
# The assistant's own NLU examples: everyday messages to it, all none (not the dissociation answers).
NLU_DIR = MODEL_DIR.parents[2] / "data" / "nlu"
NLU_LEFT_OUT = frozenset({"inform_dissociation"})
OWN_EXAMPLES = MODEL_DIR.parents[2] / "tests" / "safety_examples"
CALIBRATION_SETS = ("psychedelic_benign", "idioms", "kap_everyday_benign", "normal_after_effects")
HELD_OUT_SHARE = 0.15
REDDIT_WEIGHT = 0.1
C_RISK = 2.0
C_CATEGORY = 4.0
# The most the reader may add to a benign set's false alarms (the rules' own come on top).
REVIEW_FALSE_ALARMS = 0.03
URGENT_FALSE_ALARMS = 0.02
CLASSES = (NONE, "suicidal_ideation", "suicidal_behavior", "self_harm", "harm_to_others", "abuse", "medical",
           "substance_misuse")


def _held_out(key: str) -> bool:
    digest = hashlib.sha256(f"{SEED}:{key}".encode()).digest()
    return digest[0] / 256 < HELD_OUT_SHARE


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _read(path: Path) -> List[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _label(row: dict) -> str:
    """The reader's class of a row: its category at urgent or above, else none."""
    if "label" in row:
        return row["label"]
    return row["category"] if row.get("level") in ("urgent", "emergency") and row.get("category") else NONE


def load_data() -> Tuple[List[Tuple[str, str, float]], List[Tuple[str, str, str, str]], Dict[str, dict]]:
    """(training rows (text, label, weight), held-out rows (text, label, level, source), a record of each source)."""
    train, held = [], []
    record = {}
    for name, path in SOURCES.items():
        rows = _read(path)
        counts: Dict[str, int] = {}
        for row in rows:
            label = _label(row)
            counts[label] = counts.get(label, 0) + 1
            key = row.get("user") or row["id"]
            if _held_out(key):
                held.append((row["text"], label, row.get("level", "none" if label == NONE else "urgent"), name))
            else:
                train.append((row["text"], label, REDDIT_WEIGHT if name == "cssrs_reddit" else 1.0))
        record[name] = {"file": str(path.relative_to(MODEL_DIR)), "sha256": _sha256(path), "rows": len(rows),
                        "labels": dict(sorted(counts.items()))}
    everyday = nlu_examples()
    for number, text in enumerate(everyday):
        if _held_out(f"nlu.{number}"):
            held.append((text, NONE, "none", "nlu"))
        else:
            train.append((text, NONE, 1.0))
    record["nlu"] = {"directory": "data/nlu", "rows": len(everyday), "labels": {NONE: len(everyday)}}
    return train, held, record


def nlu_examples() -> List[str]:
    """The assistant's NLU training examples (everyday messages), without entity markup."""
    import yaml

    texts = []
    for path in sorted(NLU_DIR.glob("*.yml")):
        for item in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu", []):
            if "intent" in item and item["intent"] not in NLU_LEFT_OUT:
                for line in item["examples"].splitlines():
                    if line.strip().startswith("- "):
                        texts.append(re.sub(r"\[([^\]]*)\]\([^)]*\)|\[([^\]]*)\]\{[^}]*\}", r"\1\2", line.strip()[2:]))
    return texts


def calibration_sets(held: List[Tuple[str, str, str, str]]) -> Dict[str, List[Tuple[str, str]]]:
    """Benign texts to set the thresholds on, by set, each with its right level (none or review).

    The held-out own lines and NLU examples, and the project's own example sets
    of psychedelic imagery, idioms, everyday KAP life and normal after-effects.
    Reddit posts are left out: their labels are per user, not per text.
    """
    sets = {"held-out own benign": [(t, lv) for t, label, lv, src in held if label == NONE and src != "cssrs_reddit"]}
    for name in CALIBRATION_SETS:
        path = OWN_EXAMPLES / f"{name}.jsonl"
        if path.is_file():
            sets[name] = [(row["text"], "none") for row in _read(path)]
    return sets


def _screen_cases(reader, rows: List[Tuple[str, str]]) -> List[Tuple[int, int, List[Tuple[float, bool]]]]:
    """(rules' level, right level, [(score, kept at review by context)] per sentence) for each text."""
    from bot.safety._startup import import_spacy
    from bot.safety.model import level_rank
    from bot.safety.screen import _lowered

    import_spacy()
    from bot.safety.pipeline import build_nlp
    from bot.safety.rules import load_rules

    global _NLP
    if _NLP is None:
        _NLP = build_nlp(load_rules(), reader)
    pipe = _NLP.get_pipe("safety_reader")
    pipe.reader = reader
    cases = []
    with _NLP.select_pipes(disable=["safety_reader"]):
        for text, right in rows:
            doc = _NLP(_lowered(text))
            candidates = [(r.score, blocked) for _, r, blocked in pipe.candidates(doc)]
            cases.append((level_rank(doc._.safety_assessment.level), level_rank(right), candidates))
    return cases


_NLP = None


def combined_rank(rules: int, candidates: List[Tuple[float, bool]], review: float, urgent: float) -> int:
    """The level rank the screen gives with the reader at these thresholds (as SafetyReader does)."""
    if rules >= 2:
        return rules
    if any(score >= urgent and not blocked for score, blocked in candidates):
        return 2
    if any(score >= review for score, _ in candidates):
        return max(rules, 1)
    return rules


def _added_alarms(cases, review: float, urgent: float, at_least: int) -> float:
    """Share of texts the reader raises above their right level (to at least `at_least`)."""
    raised = sum(
        1
        for rules, right, candidates in cases
        if rules <= right and combined_rank(rules, candidates, review, urgent) > right
        and combined_rank(rules, candidates, review, urgent) >= at_least
    )
    return raised / len(cases) if cases else 0.0


GRID = [round(x, 3) for x in np.arange(0.5, 0.996, 0.005)]


def calibrate(reader, sets: Dict[str, List[Tuple[str, str]]]) -> Tuple[float, float]:
    """(review, urgent) thresholds: the lowest at which the reader adds at most the allowed false alarms to every set."""
    cases = {name: _screen_cases(reader, rows) for name, rows in sets.items()}
    urgent = next((u for u in GRID if all(_added_alarms(c, 1.0, u, 2) <= URGENT_FALSE_ALARMS for c in cases.values())), 1.0)
    review = next(
        (r for r in GRID if r <= urgent and all(_added_alarms(c, r, urgent, 1) <= REVIEW_FALSE_ALARMS for c in cases.values())),
        urgent,
    )
    return review, urgent


def train(out_dir: Path = MODEL_DIR) -> dict:
    """Fit, calibrate, write the reader; return its record."""
    import sklearn
    from scipy.sparse import hstack
    from sklearn.linear_model import LogisticRegression

    rows, held, sources = load_data()
    texts = [t for t, _, _ in rows]
    labels = [label for _, label, _ in rows]
    weights = np.array([w for _, _, w in rows])
    word, char = make_vectorizers()
    word.set_params(min_df=2, max_features=20000)
    char.set_params(min_df=3, max_features=40000)
    features = hstack([word.fit_transform(texts), char.fit_transform(texts)]).tocsr()
    is_risk = np.array([label != NONE for label in labels])
    # Risk and none weigh the same in all; within each, rows keep their source weights.
    balance = np.where(is_risk, 0.5 / weights[is_risk].sum(), 0.5 / weights[~is_risk].sum()) * len(labels)
    scorer = LogisticRegression(C=C_RISK, max_iter=4000, random_state=SEED)
    scorer.fit(features, is_risk, sample_weight=weights * balance)
    categoriser = LogisticRegression(C=C_CATEGORY, class_weight="balanced", max_iter=4000, random_state=SEED)
    categoriser.fit(features[is_risk], np.array(labels)[is_risk], sample_weight=weights[is_risk])
    order = [list(categoriser.classes_).index(c) for c in CLASSES if c != NONE]
    arrays = {
        "word_vocab": np.array(word.get_feature_names_out(), dtype=str),
        "word_idf": word.idf_.astype(np.float64),
        "char_vocab": np.array(char.get_feature_names_out(), dtype=str),
        "char_idf": char.idf_.astype(np.float64),
        "risk_coef": scorer.coef_[0].astype(np.float32),
        "risk_intercept": np.float32(scorer.intercept_[0]),
        "category_coef": categoriser.coef_[order].astype(np.float32),
        "category_intercept": categoriser.intercept_[order].astype(np.float32),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out_dir / WEIGHTS_FILE.name, **arrays)
    record = {
        "model": "logistic regressions (risk against none; the risk category) over word 1-2-grams and"
                 " character 2-5-grams (tf-idf)",
        "classes": list(CLASSES),
        "seed": SEED,
        "scikit_learn": sklearn.__version__,
        "sources": sources,
        "held_out_share": HELD_OUT_SHARE,
        "thresholds": {"review": 0.5, "urgent": 0.9},
    }
    (out_dir / RECORD_FILE.name).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")

    reader = load_reader(out_dir)
    sets = calibration_sets(held)
    review, urgent = calibrate(reader, sets)
    risky = [(text, level) for text, label, level, source in held if label != NONE and source != "cssrs_reddit"]
    risk_cases = _screen_cases(reader, risky)
    record["thresholds"] = {"review": review, "urgent": urgent}
    record["calibration"] = {
        "benign_sets": {name: len(rows) for name, rows in sets.items()},
        "reader_added_false_alarms_at_most": {"review": REVIEW_FALSE_ALARMS, "urgent": URGENT_FALSE_ALARMS},
        "held_out_own_risk_rows": len(risky),
        "held_out_own_risk_at_right_level_rules_alone": round(float(np.mean([r >= right for r, right, _ in risk_cases])), 4),
        "held_out_own_risk_at_right_level_with_reader": round(
            float(np.mean([combined_rank(r, c, review, urgent) >= right for r, right, c in risk_cases])), 4
        ),
    }
    (out_dir / RECORD_FILE.name).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return record


def main(argv: Optional[List[str]] = None) -> int:
    """Command-line entry point: train and print the record."""
    missing = [str(path) for path in SOURCES.values() if not path.is_file()]
    if missing:
        print(f"error: training data missing: {', '.join(missing)}", file=sys.stderr)
        return 2
    record = train()
    print(json.dumps({k: record[k] for k in ("thresholds", "calibration", "sources")}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
