"""Train the learned reader: `python -m bot.safety.learned.train` (`make train-reader`).

Reproducible: a fixed seed, fixed folds and only data committed in this
repository. The folds are cut by writer: each fold holds out one writer of
risk messages and one writer of benign ones (the prefix of a training id), so
that every out-of-fold score is a score on a writer the model never saw, as
on the blind sets; the Reddit posts are cut by user, the rest by id.

- data/cssrs_reddit.jsonl: Reddit C-SSRS posts (CC BY 4.0, see NOTICE), made
  by `python -m bot.safety.learned.prepare`; the posts of users labelled
  Indicator (distress without ideation) are not trained on but calibrated on;
- data/own_train.jsonl: the project's own training messages, written for
  training by writers who did not write the blind sets;
- the project's own benign example sets (psychedelic imagery, idioms,
  everyday KAP life, normal after-effects) and the assistant's NLU examples,
  all at `none`.

The blind sets (tests/safety_examples/blind_*.jsonl) are never read here.

The imminence head (emergency against urgent) is fitted on the project's own
risk messages, whose levels their writers set from CLINICAL.md's table; its
threshold is the one that best separates them out of fold (Youden's J).

Thresholds are calibrated on out-of-fold scores (each text scored by a model
trained without its fold), with the rules in place, over the project's benign
texts in two sets, psychedelic imagery and all the others, over the Reddit
Supportive users' posts, and on the Reddit Indicator users' posts (scored by
the final model, which never saw them): on each, the reader may raise at most
REVIEW_FALSE_ALARMS of the texts above their right level, and at most
URGENT_FALSE_ALARMS to `urgent` (PSYCHEDELIC_FALSE_ALARMS for both on
psychedelic imagery, FORUM_FALSE_ALARMS on the two sets of forum posts). The
model written is then trained on everything.
Writes reader.npz, encoder.npz (the fine-tuned sentence encoder, see train_encoder.py) and
reader.json beside this file.
"""
from __future__ import annotations

import hashlib
import io
import json
import re
import sys
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Tuple

import numpy as np

from bot.safety.learned import train_encoder
from bot.safety.learned.encoder import ENCODER_FILE, load_encoder
from bot.safety.learned.model import MODEL_DIR, NONE, RECORD_FILE, WEIGHTS_FILE, LinearReader, make_vectorizers

SEED = 20261205
FOLDS = 4
ENCODER_FOLDS = 2  # the encoder's out-of-fold models, each without two of the linear model's folds
DATA_DIR = MODEL_DIR / "data"
SOURCES = {"cssrs_reddit": DATA_DIR / "cssrs_reddit.jsonl", "own_train": DATA_DIR / "own_train.jsonl"}
REPO_ROOT = MODEL_DIR.parents[2]
OWN_EXAMPLES = REPO_ROOT / "tests" / "safety_examples"
OWN_BENIGN_SETS = ("psychedelic_benign", "idioms", "kap_everyday_benign", "normal_after_effects")
# The assistant's own NLU examples: everyday messages to it, all none (not the dissociation answers).
NLU_DIR = REPO_ROOT / "data" / "nlu"
NLU_LEFT_OUT = frozenset({"inform_dissociation"})
REDDIT_WEIGHT = 0.1
SENTENCE_WEIGHT = 0.3
C_RISK = 4.0
C_CATEGORY = 4.0
C_IMMINENCE = 2.0
# The most the reader may add to a benign set's false alarms (the rules' own come on top);
# psychedelic imagery, where a false alarm costs the most trust, gets less.
REVIEW_FALSE_ALARMS = 0.03
URGENT_FALSE_ALARMS = 0.02
PSYCHEDELIC_FALSE_ALARMS = 0.02
# Long forum posts, labelled per user and far from a patient's message (people in distress without
# ideation, people supporting others): the reader is held to a budget on them too, but a looser
# one, so that they do not set the thresholds for chat text.
DISTRESS = "distress without ideation (Reddit Indicator users)"
SUPPORTIVE = "supporting others (Reddit Supportive users)"
FORUM_FALSE_ALARMS = 0.05
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
    fold: Optional[int] = None  # set for the own training messages: their writer's fold


def _fold(key: str) -> int:
    digest = hashlib.sha256(f"{SEED}:{key}".encode()).digest()
    return digest[0] % FOLDS


def writer_of(row_id: str) -> str:
    """The writer of a training message: the prefix of its id ("tr3" in "tr3.goodbyes.004")."""
    return row_id.split(".", 1)[0]


def writer_folds(items: List[dict]) -> Dict[str, int]:
    """{writer: fold}: writers of risk messages and of benign ones, each dealt round the folds in name order."""
    risk = sorted({writer_of(i["id"]) for i in items if _label(i) != NONE})
    benign = sorted({writer_of(i["id"]) for i in items if _label(i) == NONE} - set(risk))
    return {**{w: n % FOLDS for n, w in enumerate(risk)}, **{w: n % FOLDS for n, w in enumerate(benign)}}


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
        folds = writer_folds(items) if name == "own_train" else {}
        for item in items:
            label = _label(item)
            counts[label] = counts.get(label, 0) + 1
            level = item.get("level", "review" if label == INDICATOR else NONE if label == NONE else "urgent")
            weight = REDDIT_WEIGHT if name == "cssrs_reddit" else 1.0
            rows.append(Row(item["text"], label, level, name, item.get("user") or item["id"], weight,
                            item.get("sign") == "psychedelic_imagery", folds.get(writer_of(item["id"]))))
        record[name] = {"file": str(path.relative_to(MODEL_DIR)), "sha256": train_encoder.file_sha256(path),
                        "rows": len(items), "labels": dict(sorted(counts.items()))}
    for name in OWN_BENIGN_SETS:
        path = OWN_EXAMPLES / f"{name}.jsonl"
        items = _read(path)
        rows += [Row(item["text"], NONE, NONE, name, f"{name}.{n}", 1.0, name == "psychedelic_benign")
                 for n, item in enumerate(items)]
        record[name] = {"file": str(path.relative_to(REPO_ROOT)), "rows": len(items), "labels": {NONE: len(items)}}
    everyday = nlu_examples()
    rows += [Row(text, NONE, NONE, "nlu", f"nlu.{n}", 1.0) for n, text in enumerate(everyday)]
    record["nlu"] = {"directory": "data/nlu", "rows": len(everyday), "labels": {NONE: len(everyday)}}
    supportive = supportive_sentences(rows)
    rows += supportive
    record["cssrs_reddit_supportive_sentences"] = {
        "from": "the posts of Reddit users labelled Supportive in data/cssrs_reddit.jsonl, cut into sentences",
        "rows": len(supportive), "weight": SENTENCE_WEIGHT, "labels": {NONE: len(supportive)},
    }
    return rows, record


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


def supportive_sentences(rows: List[Row]) -> List[Row]:
    """The sentences of the Supportive users' posts, each a `none` row of its own.

    The reader reads sentences, and the posts are whole: cut up, they teach it
    that "i know.", "i wish i had more friends" or "please dont do it" said by
    someone supporting others is not risk. Same user, same fold.
    """
    out = []
    for row in rows:
        if row.source == "cssrs_reddit" and row.label == NONE:
            for sentence in _SENTENCE_END.split(row.text):
                if len(sentence.split()) >= 2:
                    out.append(Row(sentence.strip(), NONE, NONE, "cssrs_reddit_sentences", row.key, SENTENCE_WEIGHT))
    return out


def risk_weights(rows: List[Row]) -> np.ndarray:
    """Each row's weight for risk against none: both sides weigh the same in all, rows keep their source weights."""
    weights = np.array([r.weight for r in rows])
    is_risk = np.array([r.label != NONE for r in rows])
    return weights * np.where(is_risk, 0.5 / weights[is_risk].sum(), 0.5 / weights[~is_risk].sum()) * len(rows)


def fit_encoder(rows: List[Row], name: str) -> Path:
    """Fine-tune the sentence encoder on the rows (risk against none, weighed as the linear model); its path."""
    return train_encoder.fine_tune([r.text for r in rows], [r.label != NONE for r in rows], risk_weights(rows).tolist(), name)


def fit(rows: List[Row]) -> Dict[str, np.ndarray]:
    """The reader's arrays, fitted on `rows`."""
    from scipy.sparse import hstack
    from sklearn.linear_model import LogisticRegression

    texts = [r.text for r in rows]
    labels = np.array([r.label for r in rows])
    weights = np.array([r.weight for r in rows])
    word, char = make_vectorizers()
    word.set_params(min_df=2, max_features=60000)
    char.set_params(min_df=3, max_features=40000)
    features = hstack([word.fit_transform(texts), char.fit_transform(texts)]).tocsr()
    is_risk = labels != NONE
    scorer = LogisticRegression(C=C_RISK, max_iter=4000, random_state=SEED)
    scorer.fit(features, is_risk, sample_weight=risk_weights(rows))
    categoriser = LogisticRegression(C=C_CATEGORY, class_weight="balanced", max_iter=4000, random_state=SEED)
    categoriser.fit(features[is_risk], labels[is_risk], sample_weight=weights[is_risk])
    order = [list(categoriser.classes_).index(c) for c in CLASSES if c != NONE]
    # Imminence is learned from the own messages only: the Reddit labels are per user, not per post.
    leveled = is_risk & np.array([r.source != "cssrs_reddit" for r in rows])
    imminent = np.array([r.level == "emergency" for r in rows])
    imminence = LogisticRegression(C=C_IMMINENCE, class_weight="balanced", max_iter=4000, random_state=SEED)
    imminence.fit(features[leveled], imminent[leveled])
    return {
        "word_vocab": np.array(word.get_feature_names_out(), dtype=str),
        "word_idf": word.idf_.astype(np.float64),
        "char_vocab": np.array(char.get_feature_names_out(), dtype=str),
        "char_idf": char.idf_.astype(np.float64),
        "risk_coef": scorer.coef_[0].astype(np.float32),
        "risk_intercept": np.float32(scorer.intercept_[0]),
        "category_coef": categoriser.coef_[order].astype(np.float32),
        "category_intercept": categoriser.intercept_[order].astype(np.float32),
        "imminence_coef": imminence.coef_[0].astype(np.float32),
        "imminence_intercept": np.float32(imminence.intercept_[0]),
    }


class Case(NamedTuple):
    """A text as the screen sees it: the rules' level, its right level, the sentences left open."""

    rules: int
    right: int
    # (sentence, kept at review by context); None for the whole text: held as its likeliest sentence.
    sentences: List[Tuple[str, Optional[bool]]]


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
    emergency_threshold = 2.0

    def read(self, texts):
        return []


_NO_READER = _NoReader()


class Thresholds(NamedTuple):
    """The reader's thresholds: risk score for review and urgent, imminence for emergency."""

    review: float
    urgent: float
    emergency: float = 2.0  # above any probability: never emergency


Scored = List[Tuple[float, float, bool]]  # per open sentence: (risk score, imminence, held by context)


def combined_rank(rules: int, scored: Scored, limits: Thresholds) -> int:
    """The level rank the screen gives with the reader at these thresholds (as SafetyReader does)."""
    if rules >= 3:
        return rules
    paging = [near for score, near, blocked in scored if score >= limits.urgent and not blocked]
    if paging and max(paging) >= limits.emergency:
        return 3
    if rules == 2 or paging:
        return 2
    if any(score >= limits.review for score, _, _ in scored):
        return max(rules, 1)
    return rules


def _scored(case: "Case", readings: List[Tuple[float, float]]) -> Scored:
    """Per open unit: (score, imminence, held), the whole text held as its likeliest sentence is."""
    from bot.safety.components.reader import whole_text_held

    flags = [blocked for _, blocked in case.sentences]
    scores = [score for score, _ in readings]
    return [
        (score, near, whole_text_held(flags[:-1], scores[:-1]) if blocked is None else blocked)
        for (score, near), blocked in zip(readings, flags)
    ]


def _added_alarms(items: List[Tuple["Case", List[Tuple[float, float]]]], limits: Thresholds, at_least: int) -> float:
    """Share of texts the reader raises above their right level (to at least `at_least`)."""
    raised = 0
    for case, readings in items:
        rank = combined_rank(case.rules, _scored(case, readings), limits)
        raised += case.rules <= case.right and rank > case.right and rank >= at_least
    return raised / len(items) if items else 0.0


def calibrate(by_set: Dict[str, List[Tuple["Case", List[Tuple[float, float]]]]]) -> Tuple[float, float]:
    """(review, urgent): the lowest thresholds at which the reader adds at most the allowed false alarms to every set."""
    def allowed(name: str, budget: float) -> float:
        if name in (DISTRESS, SUPPORTIVE):
            return FORUM_FALSE_ALARMS
        return PSYCHEDELIC_FALSE_ALARMS if name == "psychedelic imagery" else budget

    urgent = next(
        (u for u in GRID
         if all(_added_alarms(items, Thresholds(1.0, u), 2) <= allowed(n, URGENT_FALSE_ALARMS)
                for n, items in by_set.items())),
        1.0,
    )
    review = next(
        (r for r in GRID if r <= urgent
         and all(_added_alarms(items, Thresholds(r, urgent), 1) <= allowed(n, REVIEW_FALSE_ALARMS)
                 for n, items in by_set.items())),
        urgent,
    )
    return review, urgent


def calibrate_imminence(risky: List[Tuple["Case", List[Tuple[float, float]]]]) -> float:
    """The imminence threshold that best separates the own emergency messages from the urgent ones
    (Youden's J over out-of-fold imminence of each message's likeliest sentence)."""
    near, imminent = [], []
    for case, readings in risky:
        if readings:
            near.append(max(readings)[1])
            imminent.append(case.right == 3)
    near_arr, imminent_arr = np.array(near), np.array(imminent)
    if not imminent_arr.any() or imminent_arr.all():
        return 2.0

    def youden(t: float) -> float:
        return float(np.mean(near_arr[imminent_arr] >= t) - np.mean(near_arr[~imminent_arr] >= t))

    return max(GRID, key=lambda t: (youden(t), t))


def train(out_dir: Path = MODEL_DIR) -> dict:
    """Calibrate on out-of-fold scores, fit on everything, write the reader; return its record."""
    import sklearn

    everything, sources = load_data()
    rows = [r for r in everything if r.label != INDICATOR]
    distress = [r for r in everything if r.label == INDICATOR]
    record = {
        "model": "logistic regressions (risk against none; the risk category; emergency against urgent)"
                 " over word 1-3-grams and character 2-5-grams (tf-idf)",
        "classes": list(CLASSES),
        "seed": SEED,
        "folds": f"{FOLDS}, by writer (own messages), by user (Reddit), by id (the rest); the encoder's"
                 f" {ENCODER_FOLDS}, each without {FOLDS // ENCODER_FOLDS} of them (so fine-tuned on about half"
                 " the rows, where the encoder shipped saw all)",
        "scikit_learn": sklearn.__version__,
        "sources": sources,
        "thresholds": {"review": 1.0, "urgent": 1.0},
    }
    # Scored out of fold: the own texts, and the posts of Reddit users labelled Supportive
    # (people answering others in crisis: the negatives that look most like risk).
    own = [i for i, r in enumerate(rows)
           if r.source == "cssrs_reddit" and r.label == NONE
           or r.source not in ("cssrs_reddit", "cssrs_reddit_sentences")]
    own_rows = [rows[i] for i in own]
    cases = screen_cases(own_rows)
    readings = _own_readings(rows, own, cases, record)
    benign: Dict[str, List[Tuple[Case, List[Tuple[float, float]]]]] = {}
    risky: List[Tuple[Case, List[Tuple[float, float]]]] = []
    for row, case, read in zip(own_rows, cases, readings):
        if row.label == NONE and row.source == "nlu":
            # The assistant's own commands and chit-chat are trained on, but are too easy to
            # calibrate on: they would dilute the false-alarm budget of real disclosures.
            continue
        if row.label == NONE:
            name = ("psychedelic imagery" if row.psychedelic else "other benign") if row.source != "cssrs_reddit" \
                else SUPPORTIVE
            benign.setdefault(name, []).append((case, read))
        elif row.source == "own_train":
            risky.append((case, read))
    # Distress without ideation (Reddit Indicator users, never trained on): their right level
    # is review, so the reader may not page for more of them than for the benign sets.
    arrays = fit(rows)
    encoder_path = fit_encoder(rows, "final")
    record["encoder"] = train_encoder.record(encoder_path)
    final = LinearReader(arrays, record, load_encoder(encoder_path))
    distress_cases = screen_cases(distress)
    benign[DISTRESS] = list(zip(distress_cases, read_cases(final, distress_cases)))
    review, urgent = calibrate(benign)
    emergency = calibrate_imminence(risky)
    limits = Thresholds(review, urgent, emergency)
    record["thresholds"] = limits._asdict()

    def right_share(with_reader: bool) -> float:
        hits = [(combined_rank(c.rules, _scored(c, r), limits) if with_reader else c.rules) >= c.right
                for c, r in risky]
        return round(float(np.mean(hits)), 4) if hits else 0.0

    record["calibration"] = {
        "on": "out-of-fold scores (folds by writer), rules in place",
        "benign_sets": {name: len(items) for name, items in benign.items()},
        "reader_added_false_alarms_at_most": {"review": REVIEW_FALSE_ALARMS, "urgent": URGENT_FALSE_ALARMS,
                                              "psychedelic imagery": PSYCHEDELIC_FALSE_ALARMS,
                                              DISTRESS: FORUM_FALSE_ALARMS, SUPPORTIVE: FORUM_FALSE_ALARMS},
        "reader_added_false_alarms": {
            name: {"review+": round(_added_alarms(items, limits, 1), 4),
                   "urgent+": round(_added_alarms(items, limits, 2), 4)}
            for name, items in benign.items()
        },
        "own_risk_rows": len(risky),
        "own_risk_at_right_level_rules_alone": right_share(False),
        "own_risk_at_right_level_with_reader": right_share(True),
    }
    write_reader(out_dir, arrays, encoder_path, record)
    return record


def write_reader(out_dir: Path, arrays: Dict[str, np.ndarray], encoder_path: Path, record: dict) -> None:
    """Write the linear model, the encoder and the record, each whole, the record last.

    The record names both models by sha256, and loading checks them: a run cut
    short between files leaves a record that names other models, and the
    reader is refused (the rules screen alone) rather than half used.
    """
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    weights = buffer.getvalue()
    record["weights_sha256"] = hashlib.sha256(weights).hexdigest()
    out_dir.mkdir(parents=True, exist_ok=True)
    staged = []
    for name, data in ((WEIGHTS_FILE.name, weights), (ENCODER_FILE.name, encoder_path.read_bytes()),
                       (RECORD_FILE.name, (json.dumps(record, indent=2) + "\n").encode("utf-8"))):
        partial = out_dir / f"{name}.partial"
        partial.write_bytes(data)
        staged.append((partial, out_dir / name))
    for partial, final_path in staged:
        partial.replace(final_path)


def _own_readings(rows: List[Row], own: List[int], cases: List[Case], record: dict) -> List[List[Tuple[float, float]]]:
    """Out-of-fold (score, imminence) of the open sentences of the non-Reddit rows (in `own` order).

    Each fold's texts are read by a linear model trained without that fold, and by an encoder
    trained without that fold and its pair (a fine-tune takes half an hour, a linear fit seconds).
    """
    folds = [r.fold if r.fold is not None else _fold(r.key) for r in rows]
    readings: List[List[Tuple[float, float]]] = [[] for _ in own]
    encoders = {}
    for fold in range(FOLDS):
        kept = [r for r, f in zip(rows, folds) if f != fold]
        pair = fold * ENCODER_FOLDS // FOLDS
        if pair not in encoders:
            encoders[pair] = load_encoder(fit_encoder(
                [r for r, f in zip(rows, folds) if f * ENCODER_FOLDS // FOLDS != pair], f"pair{pair}"))
        model = LinearReader(fit(kept), record, encoders[pair])
        members = [j for j, i in enumerate(own) if folds[i] == fold]
        for j, read in zip(members, read_cases(model, [cases[j] for j in members])):
            readings[j] = read
    return readings


def read_cases(model: LinearReader, cases: List[Case]) -> List[List[Tuple[float, float]]]:
    """(score, imminence) of each open sentence of each case, every sentence read by both models, in one batch."""
    readings = iter(model.read([text for case in cases for text, _ in case.sentences], every=True))
    return [[(r.score, r.imminence) for r in (next(readings) for _ in case.sentences)] for case in cases]


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
