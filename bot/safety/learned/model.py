"""The learned reader: a linear classifier over word and character n-grams, and a sentence encoder.

Three logistic regressions share the features: one scores risk against none,
one says which risk category a risky text leans to, and one how imminent it
reads (`emergency` against `urgent`: a plan, an intent, means at hand, an act
under way). They are stored
without pickle, as plain arrays (`reader.npz`: the two n-gram vocabularies
with their idf weights, the coefficients, the intercepts) and a
JSON record (`reader.json`: classes, thresholds, settings and the data it was
trained on). Loading rebuilds scikit-learn's vectorizers from those arrays, so
the same scikit-learn code turns text into features at training and at run
time.

With a fine-tuned sentence encoder beside it (`encoder.npz`, see
encoder.py), the risk score is the mean of the two models' scores; the
category and the imminence stay the linear model's. The encoder costs about
ten milliseconds a sentence, so it reads only a text whose linear score is at
least 2 x review - 1: below that the mean cannot reach the review threshold
whatever the encoder says, and the linear score, lower still, stands in for it.
"""
from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from bot.safety.learned.encoder import ENCODER_FILE, Encoder, load_arrays

MODEL_DIR = Path(__file__).resolve().parent
WEIGHTS_FILE = MODEL_DIR / "reader.npz"
RECORD_FILE = MODEL_DIR / "reader.json"
NONE = "none"

# Shared by training and loading: the vectorizers' settings.
WORD_SETTINGS = dict(analyzer="word", ngram_range=(1, 3), lowercase=True, sublinear_tf=True,
                     token_pattern=r"(?u)\b\w+\b")
CHAR_SETTINGS = dict(analyzer="char_wb", ngram_range=(2, 5), lowercase=True, sublinear_tf=True)


def make_vectorizers(word_vocab=None, char_vocab=None):
    """The word and character TfidfVectorizers (fitted later, or given their vocabularies)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    word = TfidfVectorizer(vocabulary=word_vocab, **WORD_SETTINGS)
    char = TfidfVectorizer(vocabulary=char_vocab, **CHAR_SETTINGS)
    return word, char


@dataclass(frozen=True)
class Reading:
    """The reader's view of one text: the risk score, the class it leans to, and how imminent it reads."""

    score: float
    category: str
    imminence: float = 0.0
    linear: Optional[float] = None  # the two models' scores, where the encoder read the text
    encoder: Optional[float] = None


class LinearReader:
    """Scores texts for risk; `read(texts)` gives one Reading per text."""

    def __init__(self, weights: Dict[str, np.ndarray], record: dict, encoder: Optional[Encoder] = None):
        self.record = record
        self.encoder = encoder
        self.classes: Tuple[str, ...] = tuple(record["classes"])
        self.review_threshold: float = float(record["thresholds"]["review"])
        self.urgent_threshold: float = float(record["thresholds"]["urgent"])
        # A reader trained before the imminence head existed never says emergency.
        self.emergency_threshold: float = float(record["thresholds"].get("emergency", 2.0))
        word_vocab = {w: i for i, w in enumerate(weights["word_vocab"].tolist())}
        char_vocab = {w: i for i, w in enumerate(weights["char_vocab"].tolist())}
        self._word, self._char = make_vectorizers(word_vocab, char_vocab)
        self._word.idf_ = weights["word_idf"]
        self._char.idf_ = weights["char_idf"]
        self._n_word = len(word_vocab)
        self._risk_coef = weights["risk_coef"]  # features
        self._risk_intercept = float(weights["risk_intercept"])
        self._category_coef = weights["category_coef"]  # categories x features
        self._category_intercept = weights["category_intercept"]
        self._imminence_coef = weights.get("imminence_coef")
        self._imminence_intercept = float(weights["imminence_intercept"]) if "imminence_intercept" in weights else 0.0
        self.categories: Tuple[str, ...] = tuple(c for c in self.classes if c != NONE)
        # The three heads as one contiguous float64 matrix (features x [risk, imminence, categories...]):
        # one sparse product a read, with no per-call copy or cast of a 100,000-row array.
        imminence_coef = self._imminence_coef if self._imminence_coef is not None else np.zeros_like(self._risk_coef)
        self._heads = np.ascontiguousarray(
            np.column_stack([self._risk_coef, imminence_coef, self._category_coef.T]), dtype=np.float64)
        self._word_names = weights["word_vocab"]
        self._char_names = weights["char_vocab"]

    def _features(self, texts: Sequence[str]):
        from scipy.sparse import hstack

        return hstack([self._word.transform(texts), self._char.transform(texts)]).tocsr()

    def read(self, texts: Sequence[str], every: bool = False) -> List[Reading]:
        """One Reading per text: the probability of risk, the likeliest risk category, and imminence.

        With an encoder, the score is the mean of both models' for a text the
        encoder reads: every text if `every`, else those that could reach the
        review threshold (see the module's docstring).
        """
        if not texts:
            return []
        heads = np.asarray(self._features(texts) @ self._heads)
        risk = _sigmoid(heads[:, 0] + self._risk_intercept)
        if not np.isfinite(risk).all():
            raise ValueError("the learned reader gave a score that is not a number")
        categories = heads[:, 2:] + self._category_intercept
        if self._imminence_coef is None:
            imminence = np.zeros(len(texts))
        else:
            imminence = _sigmoid(heads[:, 1] + self._imminence_intercept)
        encoded: Dict[int, float] = {}
        if self.encoder is not None:
            # Less a hair, so that rounding can never put a skipped text on the threshold.
            floor = -1.0 if every else 2 * self.review_threshold - 1 - 1e-9
            chosen = [i for i, score in enumerate(risk) if score >= floor]
            if chosen:
                encoded = dict(zip(chosen, self.encoder.score([texts[i] for i in chosen]).tolist()))
        readings = []
        for i, (score, row, near) in enumerate(zip(risk, categories, imminence)):
            category = self.categories[int(np.argmax(row))]
            if i in encoded:
                readings.append(Reading((float(score) + encoded[i]) / 2, category, float(near),
                                        linear=float(score), encoder=encoded[i]))
            else:
                readings.append(Reading(float(score), category, float(near)))
        return readings

    def explain(self, text: str, top: int = 5) -> List[str]:
        """The n-grams of `text` that weighed most towards risk."""
        contributions = self._features([text]).multiply(self._risk_coef).tocsr()
        order = np.argsort(contributions.data)[::-1][:top]
        names = []
        for k in order:
            if contributions.data[k] <= 0:
                break
            index = contributions.indices[k]
            if index < self._n_word:
                names.append(str(self._word_names[index]))
            else:
                names.append(repr(str(self._char_names[index - self._n_word]).strip() or " "))
        return names


def _sigmoid(values) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(values, dtype=np.float64)))


def load_reader(directory: Path = MODEL_DIR) -> LinearReader:
    """Load the committed reader; raises OSError or ValueError if it is missing or broken.

    The linear model and the encoder named in the record must be the ones beside
    it, byte for byte (their sha256): thresholds calibrated for one model mean
    nothing for another, and a retrain cut short between files leaves a mismatch.
    """
    record = json.loads((directory / RECORD_FILE.name).read_text(encoding="utf-8"))
    data = (directory / WEIGHTS_FILE.name).read_bytes()
    if record.get("weights_sha256") and hashlib.sha256(data).hexdigest() != record["weights_sha256"]:
        raise ValueError(f"{directory / WEIGHTS_FILE.name} is not the model the record was written for (sha256 differs)")
    with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
        weights = {name: arrays[name] for name in arrays.files}
    encoder = None
    if record.get("encoder"):
        path = directory / ENCODER_FILE.name
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != record["encoder"]["sha256"]:
            raise ValueError(f"{path} is not the encoder the reader was calibrated with (sha256 differs)")
        encoder = Encoder(load_arrays(io.BytesIO(data)))
    return LinearReader(weights, record, encoder)
