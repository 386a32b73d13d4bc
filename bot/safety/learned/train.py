"""Train the learned reader: `python -m bot.safety.learned.train` (`make train-reader`).

Reproducible: a fixed seed, fixed folds (by a hash of each id, and by user
for the Reddit posts) and only data committed in this repository:

- data/cssrs_reddit.jsonl: Reddit C-SSRS posts (CC BY 4.0, see NOTICE), made
  by `python -m bot.safety.learned.prepare`; the posts of users labelled
  Indicator (distress without ideation) are not trained on but calibrated on;
- data/own_train.jsonl: the project's own training messages, written for
  training by writers who did not write the blind sets;
- the project's own benign example sets (psychedelic imagery, idioms,
  everyday KAP life, normal after-effects) and the assistant's NLU examples,
  all at `none`.

The blind sets (tests/safety_examples/blind_*.jsonl) are never read here.

Thresholds are calibrated on out-of-fold scores (each text scored by a model
trained without its fold), with the rules in place, over the project's benign
texts in two sets, psychedelic imagery and all the others, and on the Reddit
Indicator users' posts (scored by the final model, which never saw them): on
each, the reader may raise at most REVIEW_FALSE_ALARMS of the texts above
their right level, and at most URGENT_FALSE_ALARMS to `urgent`
(PSYCHEDELIC_FALSE_ALARMS for both on psychedelic imagery). The model written is then
trained on everything. Writes reader.npz and reader.json beside this file.
"""
from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Tuple

import numpy as np

from bot.safety.learned.model import MODEL_DIR, NONE, RECORD_FILE, WEIGHTS_FILE, LinearReader, make_vectorizers

SEED = 20261205
FOLDS = 5
DATA_DIR = MODEL_DIR / "data"
SOURCES = {"cssrs_reddit": DATA_DIR / "cssrs_reddit.jsonl", "own_train": DATA_DIR / "own_train.jsonl"}
REPO_ROOT = MODEL_DIR.parents[2]
OWN_EXAMPLES = REPO_ROOT / "tests" / "safety_examples"
OWN_BENIGN_SETS = ("psychedelic_benign", "idioms", "kap_everyday_benign", "normal_after_effects")
# The assistant's own NLU examples: everyday messages to it, all none (not the dissociation answers).
NLU_DIR = REPO_ROOT / "data" / "nlu"
NLU_LEFT_OUT = frozenset({"inform_dissociation"})
REDDIT_WEIGHT = 0.1
C_RISK = 2.0
C_CATEGORY = 4.0
# The most the reader may add to a benign set's false alarms (the rules' own come on top);
# psychedelic imagery, where a false alarm costs the most trust, gets less.
REVIEW_FALSE_ALARMS = 0.03
URGENT_FALSE_ALARMS = 0.02
PSYCHEDELIC_FALSE_ALARMS = 0.02
CLASSES = (NONE, "suicidal_ideation", "suicidal_behavior", "self_harm", "harm_to_others", "abuse", "medical",
           "substance_misuse")
GRID = [round(x, 3) for x in np.arange(0.5, 0.996, 0.005)]


class Row(NamedTuple):
    """One training text."""

    text: str
    label: str  # the reader's class
    level: str  # the right screen level
    source: str
    key: str  # what folds are cut by (the Reddit user, else the id)
    weight: float
    psychedelic: bool = False  # psychedelic imagery, calibrated on its own


def _fold(key: str) -> int:
    digest = hashlib.sha256(f"{SEED}:{key}".encode()).digest()
    return digest[0] % FOLDS


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


INDICATOR = "indicator"


def load_data() -> Tuple[List[Row], Dict[str, dict]]:
    """Every training row, and a record of each source.

    Reddit users labelled Indicator (distress without ideation) come back as
    rows with the label "indicator": they are never trained on, only
    calibrated on (see `train`).
    """
    rows: List[Row] = []
    record: Dict[str, dict] = {}
    for name, path in SOURCES.items():
        counts: Dict[str, int] = {}
        items = _read(path)
        for item in items:
            label = _label(item)
            counts[label] = counts.get(label, 0) + 1
            level = item.get("level", "review" if label == INDICATOR else NONE if label == NONE else "urgent")
            weight = REDDIT_WEIGHT if name == "cssrs_reddit" else 1.0
            rows.append(Row(item["text"], label, level, name, item.get("user") or item["id"], weight,
                            item.get("sign") == "psychedelic_imagery"))
        record[name] = {"file": str(path.relative_to(MODEL_DIR)), "sha256": _sha256(path), "rows": len(items),
                        "labels": dict(sorted(counts.items()))}
    for name in OWN_BENIGN_SETS:
        path = OWN_EXAMPLES / f"{name}.jsonl"
        items = _read(path)
        rows += [Row(item["text"], NONE, NONE, name, f"{name}.{n}", 1.0, name == "psychedelic_benign")
                 for n, item in enumerate(items)]
        record[name] = {"file": str(path.relative_to(REPO_ROOT)), "rows": len(items), "labels": {NONE: len(items)}}
    everyday = nlu_examples()
    rows += [Row(text, NONE, NONE, "nlu", f"nlu.{n}", 1.0) for n, text in enumerate(everyday)]
    record["nlu"] = {"directory": "data/nlu", "rows": len(everyday), "labels": {NONE: len(everyday)}}
    return rows, record


def fit(rows: List[Row]) -> Dict[str, np.ndarray]:
    """The reader's arrays, fitted on `rows`."""
    from scipy.sparse import hstack
    from sklearn.linear_model import LogisticRegression

    texts = [r.text for r in rows]
    labels = np.array([r.label for r in rows])
    weights = np.array([r.weight for r in rows])
    word, char = make_vectorizers()
    word.set_params(min_df=2, max_features=20000)
    char.set_params(min_df=3, max_features=40000)
    features = hstack([word.fit_transform(texts), char.fit_transform(texts)]).tocsr()
    is_risk = labels != NONE
    # Risk and none weigh the same in all; within each, rows keep their source weights.
    balance = np.where(is_risk, 0.5 / weights[is_risk].sum(), 0.5 / weights[~is_risk].sum()) * len(labels)
    scorer = LogisticRegression(C=C_RISK, max_iter=4000, random_state=SEED)
    scorer.fit(features, is_risk, sample_weight=weights * balance)
    categoriser = LogisticRegression(C=C_CATEGORY, class_weight="balanced", max_iter=4000, random_state=SEED)
    categoriser.fit(features[is_risk], labels[is_risk], sample_weight=weights[is_risk])
    order = [list(categoriser.classes_).index(c) for c in CLASSES if c != NONE]
    return {
        "word_vocab": np.array(word.get_feature_names_out(), dtype=str),
        "word_idf": word.idf_.astype(np.float64),
        "char_vocab": np.array(char.get_feature_names_out(), dtype=str),
        "char_idf": char.idf_.astype(np.float64),
        "risk_coef": scorer.coef_[0].astype(np.float32),
        "risk_intercept": np.float32(scorer.intercept_[0]),
        "category_coef": categoriser.coef_[order].astype(np.float32),
        "category_intercept": categoriser.intercept_[order].astype(np.float32),
    }


class Case(NamedTuple):
    """A text as the screen sees it: the rules' level, its right level, the sentences left open."""

    rules: int
    right: int
    sentences: List[Tuple[str, bool]]  # (sentence, kept at review by context)


def screen_cases(rows: List[Row]) -> List[Case]:
    """Each row through the rules: its rules level and the sentences the reader would read."""
    from bot.safety._startup import import_spacy
    from bot.safety.model import level_rank
    from bot.safety.screen import _lowered

    import_spacy()
    from bot.safety.pipeline import build_nlp
    from bot.safety.rules import load_rules

    nlp = build_nlp(load_rules(), reader=_NO_READER)
    pipe = nlp.get_pipe("safety_reader")
    cases = []
    with nlp.select_pipes(disable=["safety_reader"]):
        for row in rows:
            doc = nlp(_lowered(row.text))
            open_sentences = [(sent.text, blocked) for sent, blocked in pipe.open_sentences(doc)]
            cases.append(Case(level_rank(doc._.safety_assessment.level), level_rank(row.level), open_sentences))
    return cases


class _NoReader:
    """Stands in for a reader while only the rules' view of each sentence is wanted."""

    review_threshold = urgent_threshold = 1.0

    def read(self, texts):
        return []


_NO_READER = _NoReader()


def combined_rank(rules: int, scored: List[Tuple[float, bool]], review: float, urgent: float) -> int:
    """The level rank the screen gives with the reader at these thresholds (as SafetyReader does)."""
    if rules >= 2:
        return rules
    if any(score >= urgent and not blocked for score, blocked in scored):
        return 2
    if any(score >= review for score, _ in scored):
        return max(rules, 1)
    return rules


def _added_alarms(items: List[Tuple[Case, List[float]]], review: float, urgent: float, at_least: int) -> float:
    """Share of texts the reader raises above their right level (to at least `at_least`)."""
    raised = 0
    for case, scores in items:
        rank = combined_rank(case.rules, list(zip(scores, (b for _, b in case.sentences))), review, urgent)
        raised += case.rules <= case.right and rank > case.right and rank >= at_least
    return raised / len(items) if items else 0.0


def calibrate(by_set: Dict[str, List[Tuple[Case, List[float]]]]) -> Tuple[float, float]:
    """(review, urgent): the lowest thresholds at which the reader adds at most the allowed false alarms to every set."""
    def allowed(name: str, budget: float) -> float:
        return PSYCHEDELIC_FALSE_ALARMS if name == "psychedelic imagery" else budget

    urgent = next(
        (u for u in GRID
         if all(_added_alarms(items, 1.0, u, 2) <= allowed(n, URGENT_FALSE_ALARMS) for n, items in by_set.items())),
        1.0,
    )
    review = next(
        (r for r in GRID if r <= urgent
         and all(_added_alarms(items, r, urgent, 1) <= allowed(n, REVIEW_FALSE_ALARMS) for n, items in by_set.items())),
        urgent,
    )
    return review, urgent


def train(out_dir: Path = MODEL_DIR) -> dict:
    """Calibrate on out-of-fold scores, fit on everything, write the reader; return its record."""
    import sklearn

    everything, sources = load_data()
    rows = [r for r in everything if r.label != INDICATOR]
    distress = [r for r in everything if r.label == INDICATOR]
    record = {
        "model": "logistic regressions (risk against none; the risk category) over word 1-2-grams and"
                 " character 2-5-grams (tf-idf)",
        "classes": list(CLASSES),
        "seed": SEED,
        "folds": FOLDS,
        "scikit_learn": sklearn.__version__,
        "sources": sources,
        "thresholds": {"review": 1.0, "urgent": 1.0},
    }
    own = [i for i, r in enumerate(rows) if r.source != "cssrs_reddit"]
    own_rows = [rows[i] for i in own]
    cases = screen_cases(own_rows)
    scores = _own_scores(rows, own, cases, record)
    benign: Dict[str, List[Tuple[Case, List[float]]]] = {}
    risky: List[Tuple[Case, List[float]]] = []
    for row, case, score in zip(own_rows, cases, scores):
        if row.label == NONE and row.source == "nlu":
            # The assistant's own commands and chit-chat are trained on, but are too easy to
            # calibrate on: they would dilute the false-alarm budget of real disclosures.
            continue
        if row.label == NONE:
            benign.setdefault("psychedelic imagery" if row.psychedelic else "other benign", []).append((case, score))
        else:
            risky.append((case, score))
    # Distress without ideation (Reddit Indicator users, never trained on): their right level
    # is review, so the reader may not page for more of them than for the benign sets.
    arrays = fit(rows)
    final = LinearReader(arrays, record)
    benign["distress without ideation (Reddit Indicator users)"] = [
        (case, [r.score for r in final.read([text for text, _ in case.sentences])] if case.sentences else [])
        for case in screen_cases(distress)
    ]
    review, urgent = calibrate(benign)
    record["thresholds"] = {"review": review, "urgent": urgent}

    def right_share(with_reader: bool) -> float:
        hits = [
            (combined_rank(c.rules, list(zip(s, (b for _, b in c.sentences))), review, urgent) if with_reader else c.rules)
            >= c.right
            for c, s in risky
        ]
        return round(float(np.mean(hits)), 4) if hits else 0.0

    record["calibration"] = {
        "on": "out-of-fold scores, rules in place",
        "benign_sets": {name: len(items) for name, items in benign.items()},
        "reader_added_false_alarms_at_most": {"review": REVIEW_FALSE_ALARMS, "urgent": URGENT_FALSE_ALARMS,
                                              "psychedelic imagery": PSYCHEDELIC_FALSE_ALARMS},
        "reader_added_false_alarms": {
            name: {"review+": round(_added_alarms(items, review, urgent, 1), 4),
                   "urgent": round(_added_alarms(items, review, urgent, 2), 4)}
            for name, items in benign.items()
        },
        "own_risk_rows": len(risky),
        "own_risk_at_right_level_rules_alone": right_share(False),
        "own_risk_at_right_level_with_reader": right_share(True),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out_dir / WEIGHTS_FILE.name, **arrays)
    (out_dir / RECORD_FILE.name).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return record


def _own_scores(rows: List[Row], own: List[int], cases: List[Case], record: dict) -> List[List[float]]:
    """Out-of-fold scores of the open sentences of the non-Reddit rows (in `own` order)."""
    folds = [_fold(r.key) for r in rows]
    scores: List[List[float]] = [[] for _ in own]
    for fold in range(FOLDS):
        model = LinearReader(fit([r for r, f in zip(rows, folds) if f != fold]), record)
        for j, i in enumerate(own):
            if folds[i] == fold and cases[j].sentences:
                scores[j] = [r.score for r in model.read([text for text, _ in cases[j].sentences])]
    return scores


def main(argv: Optional[List[str]] = None) -> int:
    """Command-line entry point: train and print the record."""
    missing = [str(path) for path in SOURCES.values() if not path.is_file()]
    if missing:
        print(f"error: training data missing: {', '.join(missing)}", file=sys.stderr)
        return 2
    record = train()
    print(json.dumps({k: record[k] for k in ("thresholds", "calibration")}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
