"""The learned reader's sentence encoder, run in numpy: no TensorFlow, no download at run time.

A fine-tuned all-MiniLM-L6-v2 (a 6-layer BERT, 384 wide; Apache-2.0, see
NOTICE): BERT's uncased WordPiece pieces, the transformer, the mean of the
last layer over the pieces, and a logistic head that scores risk against
none. `train_encoder.py` fine-tunes it in TensorFlow and stores it here as
`encoder.npz`: the vocabulary and float16 weights, no pickle. The weights are
widened to float32 once, at load.
"""
from __future__ import annotations

import math
import unicodedata
import zipfile
import zlib
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

ENCODER_FILE = Path(__file__).resolve().parent / "encoder.npz"
MAX_TOKENS = 64  # pieces read per text, [CLS] and [SEP] included
MAX_WORD_CHARS = 100  # BERT's: a longer word is one [UNK]
MEMO_SIZE = 4096  # recent texts whose scores are kept
HEADS = 12
LAYER_NORM_EPS = 1e-12
PAD, UNK, CLS, SEP = "[PAD]", "[UNK]", "[CLS]", "[SEP]"
# Per layer, stacked on a first axis of the layer count; matrices as (in, out).
LAYER_ARRAYS = ("q_w", "q_b", "k_w", "k_b", "v_w", "v_b", "o_w", "o_b", "ln1_g", "ln1_b",
                "i_w", "i_b", "f_w", "f_b", "ln2_g", "ln2_b")
EMBEDDING_ARRAYS = ("word", "position", "token_type", "emb_ln_g", "emb_ln_b")
HEAD_ARRAYS = ("head_w", "head_b")


def _is_punctuation(char: str) -> bool:
    code = ord(char)
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def _is_dropped(char: str) -> bool:
    """NUL, the replacement character and every other kind of control character (a zero-width space,
    a lone surrogate), as BERT drops them; not tab and newlines, which are spaces."""
    if char in "\t\n\r":
        return False
    return char in "\x00\ufffd" or unicodedata.category(char).startswith("C")


def _is_cjk(code: int) -> bool:
    return (0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0x20000 <= code <= 0x2A6DF
            or 0x2A700 <= code <= 0x2B73F or 0x2B740 <= code <= 0x2B81F or 0x2B820 <= code <= 0x2CEAF
            or 0xF900 <= code <= 0xFAFF or 0x2F800 <= code <= 0x2FA1F)


class WordPiece:
    """BERT's uncased tokenizer: clean, lowercase, strip accents, split on punctuation, then WordPiece."""

    def __init__(self, vocab: Sequence[str]):
        self.vocab: Dict[str, int] = {piece: i for i, piece in enumerate(vocab)}
        self.pad, self.unk = self.vocab[PAD], self.vocab[UNK]
        self.cls, self.sep = self.vocab[CLS], self.vocab[SEP]
        self._cache: Dict[str, List[int]] = {}

    def words(self, text: str) -> List[str]:
        """The words BERT's basic tokenizer makes of `text`, before WordPiece."""
        chars = []
        for char in text:
            if _is_dropped(char):
                continue
            if char.isspace():
                chars.append(" ")
            elif _is_cjk(ord(char)):
                chars.append(f" {char} ")
            else:
                chars.append(char)
        text = unicodedata.normalize("NFD", "".join(chars).lower())
        text = "".join(c for c in text if unicodedata.category(c) != "Mn")
        words: List[str] = []
        for chunk in text.split():
            current = ""
            for char in chunk:
                if _is_punctuation(char):
                    if current:
                        words.append(current)
                        current = ""
                    words.append(char)
                else:
                    current += char
            if current:
                words.append(current)
        return words

    def _pieces(self, word: str) -> List[int]:
        if word in self._cache:
            return self._cache[word]
        if len(word) > MAX_WORD_CHARS:
            return [self.unk]
        pieces, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.vocab:
                    pieces.append(self.vocab[piece])
                    break
                end -= 1
            if end == start:
                pieces = [self.unk]
                break
            start = end
        if len(self._cache) < 50000:
            self._cache[word] = pieces
        return pieces

    def ids(self, text: str, limit: int = MAX_TOKENS) -> List[int]:
        """[CLS], the first pieces of `text` (at most `limit` in all), [SEP]."""
        ids = [self.cls]
        for word in self.words(text):
            ids += self._pieces(word)
            if len(ids) >= limit - 1:
                break
        return ids[: limit - 1] + [self.sep]


def _layer_norm(x: np.ndarray, gain: np.ndarray, bias: np.ndarray) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + LAYER_NORM_EPS) * gain + bias


def _gelu(x: np.ndarray) -> np.ndarray:
    """BERT's exact GELU, x·Φ(x)."""
    from scipy.special import erf

    return 0.5 * x * (1.0 + erf(x / np.float32(math.sqrt(2.0))))


class Encoder:
    """Scores texts for risk; `score(texts)` gives one probability per text."""

    def __init__(self, arrays: Dict[str, np.ndarray]):
        missing = [n for n in ("vocab",) + EMBEDDING_ARRAYS + LAYER_ARRAYS + HEAD_ARRAYS if n not in arrays]
        if missing:
            raise ValueError(f"encoder arrays missing: {', '.join(missing)}")
        self.tokenizer = WordPiece(arrays["vocab"].tolist())
        # Widened once, except the word embeddings (a third of the memory), of which a pass reads a few rows.
        self.w = {name: np.asarray(arrays[name], dtype=np.float16 if name == "word" else np.float32)
                  for name in EMBEDDING_ARRAYS + LAYER_ARRAYS + HEAD_ARRAYS}
        bad = [name for name, value in self.w.items() if not np.isfinite(value).all()]
        if bad:
            raise ValueError(f"encoder weights not finite: {', '.join(bad)}")
        self.layers = self.w["q_w"].shape[0]
        # The screen often reads a sentence twice (alone, then for the reader-alone view), and a
        # patient often repeats one: a small memo of recent scores. A plain dict, cleared when full,
        # so that threads sharing the screen cannot corrupt it.
        self._memo: Dict[str, float] = {}
        self.memo_size: Optional[int] = MEMO_SIZE  # None: keep every score (an evaluation, not a server)
        # Query, key and value in one product: one pass over the text instead of three.
        self._qkv_w = np.concatenate([self.w.pop(f"{n}_w") for n in "qkv"], axis=-1)
        self._qkv_b = np.concatenate([self.w.pop(f"{n}_b") for n in "qkv"], axis=-1)
        if self.w["word"].shape[0] != len(self.tokenizer.vocab):
            raise ValueError("encoder vocabulary and embeddings differ in size")
        if self.w["position"].shape[0] < MAX_TOKENS or self.w["word"].shape[1] % HEADS:
            raise ValueError("encoder shapes do not fit its settings")

    def forget(self) -> None:
        """Drop the remembered scores."""
        self._memo = {}

    def pooled(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """The mean of the last layer over the real pieces: (batch, 384)."""
        w = self.w
        batch, length = ids.shape
        x = w["word"][ids].astype(np.float32) + w["position"][:length] + w["token_type"][0]
        x = _layer_norm(x, w["emb_ln_g"], w["emb_ln_b"])
        width = x.shape[-1]
        size = width // HEADS
        bias = ((1.0 - mask[:, None, None, :]) * np.float32(-1e9)).astype(np.float32)
        for n in range(self.layers):
            qkv = (x @ self._qkv_w[n] + self._qkv_b[n]).reshape(batch, length, 3, HEADS, size)
            q, k, v = qkv.transpose(2, 0, 3, 1, 4)
            scores = q @ k.transpose(0, 1, 3, 2) / np.float32(math.sqrt(size)) + bias
            scores -= scores.max(-1, keepdims=True)
            probs = np.exp(scores)
            probs /= probs.sum(-1, keepdims=True)
            context = (probs @ v).transpose(0, 2, 1, 3).reshape(batch, length, width)
            x = _layer_norm(x + context @ w["o_w"][n] + w["o_b"][n], w["ln1_g"][n], w["ln1_b"][n])
            hidden = _gelu(x @ w["i_w"][n] + w["i_b"][n])
            x = _layer_norm(x + hidden @ w["f_w"][n] + w["f_b"][n], w["ln2_g"][n], w["ln2_b"][n])
        weights = mask[:, :, None]
        return (x * weights).sum(1) / np.maximum(weights.sum(1), 1.0)

    def batch(self, texts: Sequence[str]):
        """(ids, mask) for `texts`, padded to the longest."""
        rows = [self.tokenizer.ids(t) for t in texts]
        length = max(len(r) for r in rows)
        ids = np.full((len(rows), length), self.tokenizer.pad, dtype=np.int64)
        mask = np.zeros((len(rows), length), dtype=np.float32)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = row
            mask[i, : len(row)] = 1.0
        return ids, mask

    def score(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """The probability of risk of each text (texts of like length are read together)."""
        out = np.zeros(len(texts), dtype=np.float64)
        if not texts:
            return out
        known = [self._memo.get(text) for text in texts]
        order = sorted((i for i, value in enumerate(known) if value is None), key=lambda i: len(texts[i]))
        for start in range(0, len(order), batch_size):
            chunk = order[start:start + batch_size]
            ids, mask = self.batch([texts[i] for i in chunk])
            logits = self.pooled(ids, mask) @ self.w["head_w"] + self.w["head_b"]
            out[chunk] = 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))
        if not np.isfinite(out).all():
            raise ValueError("the encoder gave a score that is not a number")
        if self.memo_size is not None and len(self._memo) > self.memo_size:
            self._memo = {}
        for i, value in enumerate(known):
            if value is None:
                self._memo[texts[i]] = float(out[i])
            else:
                out[i] = value
        return out


def save_encoder(path: Path, arrays: Dict[str, np.ndarray]) -> None:
    """Write an encoder's arrays as float16 (the vocabulary as text), atomically."""
    stored = {name: (value if name == "vocab" else np.asarray(value, dtype=np.float16))
              for name, value in arrays.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with partial.open("wb") as handle:
        np.savez_compressed(handle, **stored)
    partial.replace(path)


def load_arrays(path=ENCODER_FILE) -> Dict[str, np.ndarray]:
    """The arrays stored at `path` (a path or an open binary file); raises OSError or ValueError if missing or broken."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            return {name: stored[name] for name in stored.files}
    except (zipfile.BadZipFile, zlib.error, EOFError, KeyError) as error:
        raise ValueError(f"the encoder's file is broken: {error}") from error


def load_encoder(path: Path = ENCODER_FILE) -> Encoder:
    """The encoder stored at `path`; raises OSError or ValueError if it is missing or broken."""
    return Encoder(load_arrays(path))
