"""The reader's sentence encoder: its numpy pass is the training network's, and a broken one is refused."""
import hashlib
import json
import shutil

import numpy as np
import pytest

from bot.safety.learned.encoder import (
    ENCODER_FILE, EMBEDDING_ARRAYS, HEAD_ARRAYS, LAYER_ARRAYS, Encoder, load_arrays, load_encoder,
    save_encoder,
)
from bot.safety.learned.model import MODEL_DIR, RECORD_FILE, WEIGHTS_FILE, load_reader
from tests.unit.safety.test_examples import CASES

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "i", "want", "to", "sleep", "for", "ever", "##ever", "!", ".", "ok",
         "the", "pill", "##s", "are", "here", "walk", "dog"]


def _synthetic(layers: int = 2, width: int = 24, inner: int = 48, seed: int = 7) -> dict:
    """A small random BERT in the encoder's layout (12 heads of 2)."""
    rng = np.random.default_rng(seed)

    def r(*shape, scale=0.3):
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    # The word embeddings are held as float16 at run time: these are exact in it.
    arrays = {"vocab": np.array(VOCAB), "word": r(len(VOCAB), width).astype(np.float16).astype(np.float32),
              "position": r(64, width),
              "token_type": r(2, width), "emb_ln_g": 1 + r(width, scale=0.1), "emb_ln_b": r(width, scale=0.1)}
    for name in ("q", "k", "v", "o"):
        arrays[f"{name}_w"], arrays[f"{name}_b"] = r(layers, width, width), r(layers, width, scale=0.1)
    arrays.update(i_w=r(layers, width, inner), i_b=r(layers, inner, scale=0.1),
                  f_w=r(layers, inner, width), f_b=r(layers, width, scale=0.1),
                  ln1_g=1 + r(layers, width, scale=0.1), ln1_b=r(layers, width, scale=0.1),
                  ln2_g=1 + r(layers, width, scale=0.1), ln2_b=r(layers, width, scale=0.1),
                  head_w=r(width, scale=1.0), head_b=np.float32(0.2))
    return arrays


TEXTS = ["i want to sleep forever!", "ok", "the pills are here. i want to sleep", "walk the dog"]


def test_the_numpy_pass_is_the_training_network():
    from bot.safety.learned.train_encoder import network, tensorflow

    tf = tensorflow()
    arrays = _synthetic()
    encoder = Encoder(arrays)
    ids, mask = encoder.batch(TEXTS)  # padded: the texts differ in length
    assert mask.min() == 0.0
    params = {k: tf.constant(v) for k, v in arrays.items() if k != "vocab"}
    trained = network(tf, params, tf.constant(ids, tf.int32), tf.constant(mask)).numpy()
    ours = encoder.pooled(ids, mask) @ encoder.w["head_w"] + encoder.w["head_b"]
    np.testing.assert_allclose(ours, trained, atol=1e-4)
    assert len(set(np.round(ours, 3))) == len(TEXTS)


def test_float16_storage_barely_moves_a_score(tmp_path):
    arrays = _synthetic()
    save_encoder(tmp_path / "e.npz", arrays)
    stored = load_arrays(tmp_path / "e.npz")
    assert all(stored[n].dtype == np.float16 for n in EMBEDDING_ARRAYS + LAYER_ARRAYS + HEAD_ARRAYS)
    assert not list(tmp_path.glob("*.partial"))
    np.testing.assert_allclose(Encoder(stored).score(TEXTS), Encoder(arrays).score(TEXTS), atol=0.005)


def test_a_text_scores_the_same_alone_and_in_a_batch():
    encoder = Encoder(_synthetic())
    together = encoder.score(TEXTS)
    alone = [Encoder(_synthetic()).score([t])[0] for t in TEXTS]
    np.testing.assert_allclose(together, alone, atol=1e-6)


def test_a_remembered_score_is_the_score():
    encoder = Encoder(_synthetic())
    first = encoder.score(TEXTS)
    assert set(encoder._memo) == set(TEXTS)
    np.testing.assert_array_equal(encoder.score(list(reversed(TEXTS)) + ["ok ok"])[:-1], first[::-1])
    assert encoder.score(["ok ok"])[0] == Encoder(_synthetic()).score(["ok ok"])[0]


@pytest.fixture(scope="module")
def shipped():
    return load_encoder()


@pytest.mark.parametrize("text, pieces", [
    # BERT's own pieces for these (checked against the reference tokenizer when this was written).
    ("cant stop thinkin bout the pills tbh", ["can", "##t", "stop", "think", "##in", "bout", "the", "pills", "tb", "##h"]),
    ("im ok \U0001f642 just tired", ["im", "ok", "[UNK]", "just", "tired"]),
    ("Café naïve RÉSUMÉ", ["cafe", "naive", "resume"]),
    ("zero\u200bwidth", ["zero", "##wi", "##dt", "##h"]),
    ("dont.wanna.be.here!!!", ["don", "##t", ".", "wanna", ".", "be", ".", "here", "!", "!", "!"]),
    ("日本 ok", ["日", "本", "ok"]),
])
def test_wordpiece_cuts_text_as_bert_does(shipped, text, pieces):
    inverse = {i: p for p, i in shipped.tokenizer.vocab.items()}
    ids = shipped.tokenizer.ids(text)
    assert [inverse[i] for i in ids] == ["[CLS]"] + pieces + ["[SEP]"]


def test_a_long_text_keeps_its_first_pieces(shipped):
    ids = shipped.tokenizer.ids("i want to sleep " * 100)
    assert len(ids) == 64 and ids[0] == shipped.tokenizer.cls and ids[-1] == shipped.tokenizer.sep
    assert ids[1:5] == shipped.tokenizer.ids("i want to sleep")[1:5]


def test_the_shipped_encoder_scores_a_batch_as_alone(shipped):
    texts = ["had a calm walk after my session", "i have the pills counted out for tonight", "ok"]
    together = shipped.score(texts)
    shipped._memo.clear()
    np.testing.assert_allclose(together, [shipped.score([t])[0] for t in texts], atol=1e-6)


def test_skipping_the_encoder_never_changes_a_level():
    # The encoder reads a text only where the mean could reach review: the skip must be exact.
    reader = load_reader()
    assert reader.encoder is not None
    texts = [case.values[0]["text"].lower() for case in CASES]
    quick, every = reader.read(texts), reader.read(texts, every=True)
    skipped = 0
    for fast, full in zip(quick, every):
        skipped += fast.encoder is None
        for threshold in (reader.review_threshold, reader.urgent_threshold):
            assert (fast.score >= threshold) == (full.score >= threshold)
        assert fast.category == full.category and fast.imminence == full.imminence
    assert 0 < skipped < len(texts)


def _reader_copy(tmp_path):
    for path in (WEIGHTS_FILE, RECORD_FILE, ENCODER_FILE):
        shutil.copy(path, tmp_path / path.name)
    return tmp_path


@pytest.mark.parametrize("damage", ["missing", "truncated", "foreign", "other linear model"])
def test_a_missing_broken_or_foreign_model_leaves_the_rules_screening(tmp_path, caplog, damage):
    from bot.safety.pipeline import build_pipeline

    directory = _reader_copy(tmp_path)
    encoder = directory / ENCODER_FILE.name
    if damage == "missing":
        encoder.unlink()
    elif damage == "truncated":
        encoder.write_bytes(encoder.read_bytes()[:1000])
    elif damage == "foreign":
        save_encoder(encoder, _synthetic())  # a well-formed encoder, but not the one calibrated
    else:  # a retrain cut short: a new linear model beside the old record
        weights = dict(np.load(directory / WEIGHTS_FILE.name))
        weights["risk_intercept"] = weights["risk_intercept"] + 1
        np.savez_compressed(directory / WEIGHTS_FILE.name, **weights)
    with pytest.raises((OSError, ValueError)):
        load_reader(directory)
    nlp, _ = build_pipeline(reader_dir=directory)
    assert "safety_reader" not in nlp.pipe_names
    assert "screening with the rules alone" in caplog.text
    assert nlp("i have a gun to my head right now")._.safety_assessment.level == "emergency"


def test_weights_that_are_not_numbers_are_refused():
    arrays = _synthetic()
    arrays["f_w"][1, 2, 3] = np.nan
    with pytest.raises(ValueError, match="not finite"):
        Encoder(arrays)


def test_a_truncated_file_is_a_clear_error(tmp_path):
    save_encoder(tmp_path / "e.npz", _synthetic())
    (tmp_path / "e.npz").write_bytes((tmp_path / "e.npz").read_bytes()[:200])
    with pytest.raises(ValueError, match="broken"):
        load_arrays(tmp_path / "e.npz")


def test_the_record_names_the_encoder():
    from bot.safety.learned.train_encoder import BASE_SHA256, ENCODER_VERSION, SETTINGS

    record = json.loads(RECORD_FILE.read_text(encoding="utf-8"))["encoder"]
    assert record["sha256"] == hashlib.sha256(ENCODER_FILE.read_bytes()).hexdigest()
    assert record["base_sha256"] == BASE_SHA256
    assert record["version"] == ENCODER_VERSION and record["settings"] == SETTINGS
    assert (MODEL_DIR / "LICENSE-Apache-2.0.txt").is_file()


def test_an_epoch_reads_every_row_once_in_batches_of_like_length():
    from bot.safety.learned.train_encoder import BATCH, _batches

    lengths = list(np.random.default_rng(3).integers(3, 64, 5000))
    batches = _batches(lengths, np.random.default_rng(0))
    assert sorted(int(i) for b in batches for i in b) == list(range(5000))
    assert all(len(b) <= BATCH for b in batches)
    padding = sum(len(b) * max(lengths[i] for i in b) - sum(lengths[i] for i in b) for b in batches)
    assert padding < 0.1 * sum(lengths)


def test_the_cache_key_follows_the_rows():
    from bot.safety.learned.train_encoder import cache_key

    key = cache_key(["a", "b"], [True, False], [1.0, 1.0])
    assert key == cache_key(["a", "b"], [True, False], [1.0, 1.0])
    assert key != cache_key(["a", "b"], [False, False], [1.0, 1.0])
    assert key != cache_key(["a", "c"], [True, False], [1.0, 1.0])
    assert key != cache_key(["a", "b"], [True, False], [1.0, 2.0])
