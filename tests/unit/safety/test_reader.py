"""The learned second reader: how it combines with the rules, what its findings say, how it was made."""
import copy
import hashlib
import json

import pytest

from bot.safety.learned.model import MODEL_DIR, RECORD_FILE, load_reader
from bot.safety.model import level_rank
from tests.unit.safety.test_examples import CASES


@pytest.fixture(scope="module")
def eager_nlp():
    """The pipeline with a reader that flags every sentence (thresholds 0 and 0): the combination rules alone decide."""
    from bot.safety.pipeline import build_nlp
    from bot.safety.rules import load_rules

    reader = copy.copy(load_reader())
    reader.review_threshold = 0.0
    reader.urgent_threshold = 0.0
    reader.emergency_threshold = 2.0  # never: the imminence head has tests of its own
    return build_nlp(load_rules(), reader)


@pytest.fixture(scope="module")
def imminent_nlp():
    """The pipeline with a reader that flags every sentence and reads every one as imminent."""
    from bot.safety.pipeline import build_nlp
    from bot.safety.rules import load_rules

    reader = copy.copy(load_reader())
    reader.review_threshold = reader.urgent_threshold = reader.emergency_threshold = 0.0
    return build_nlp(load_rules(), reader)


def _assessment(nlp, text):
    return nlp(text.lower())._.safety_assessment


def test_a_learned_finding_is_a_finding_like_any_other(eager_nlp):
    assessment = _assessment(eager_nlp, "the bottle is next to the bed. i counted them twice")
    learned = [f for f in assessment.findings if f.rule.startswith("learned.")]
    assert len(learned) == 1
    finding = learned[0]
    assert finding.level == "urgent" and assessment.level == "urgent"
    assert finding.category in assessment.categories
    assert finding.rule == f"learned.{finding.category}"
    assert finding.text == "the bottle is next to the bed. i counted them twice"[finding.start : finding.end]
    assert finding.modifiers == ("learned",)
    assert finding.explanation.startswith("learned reader: score")
    assert set(finding.to_dict()) == {"rule", "category", "level", "start", "end", "text", "modifiers", "explanation"}


def test_a_sentence_the_rules_explained_gets_nothing_from_the_reader(eager_nlp):
    assessment = _assessment(eager_nlp, "i'm not going to kill myself")
    assert assessment.level == "none"
    assert not [f for f in assessment.findings if f.rule.startswith("learned.")]


def test_the_clause_after_a_denial_is_read(eager_nlp):
    # A denial explains itself, not what the sentence goes on to say.
    assessment = _assessment(eager_nlp, "i dont have a plan to hurt myself, i have pills and a date")
    learned = [f for f in assessment.findings if f.rule.startswith("learned.")]
    assert [f.text for f in learned] == ["i have pills and a date"]
    # Fewer words than REST_WORDS after it: the sentence stays explained.
    assessment = _assessment(eager_nlp, "i'm not suicidal, just tired")
    assert assessment.level == "none"


@pytest.mark.parametrize("text", ["i dont have a plan", "i don't have a plan", "i dont have a plan to hurt myself"])
def test_a_plan_denied_as_an_answer_is_explained_by_the_rules(eager_nlp, text):
    # The C-SSRS plan question answered "no": the reader alone scores "plan" high.
    assessment = _assessment(eager_nlp, text)
    assert assessment.level == "none"
    assert any("negated" in f.modifiers for f in assessment.findings)


@pytest.mark.parametrize(
    "text",
    ["my brother says he wants to disappear", "what if the pills were all gone", "years ago everything felt pointless",
     "during the infusion i wanted it all to end", "honestly my sister has been cutting again",
     "a guy from my old job messaged that he took all his pills"],
)
def test_context_keeps_the_reader_at_review(eager_nlp, text):
    assert _assessment(eager_nlp, text).level in ("none", "review")


@pytest.mark.parametrize(
    "text",
    ["once the kids are asleep tonight thats it for me", "no one would even notice if i was gone",
     "my sister gets the dog and i wont need anything after friday",
     # Another person who is not the sentence's subject: the writer acts, with "I" dropped.
     "wrote letters for mum and jonah, theyre in the top drawer for after",
     "taking all my pills once my wife leaves for night shift"],
)
def test_another_person_or_a_not_beside_the_writer_does_not_hold_the_reader_back(eager_nlp, text):
    assert _assessment(eager_nlp, text).level in ("urgent", "emergency")


def test_an_emergency_from_the_rules_is_left_alone(imminent_nlp, safety_screen):
    text = "i want to die and i have a gun in the closet"
    assert safety_screen(text).level == "emergency"
    learned = [f for f in _assessment(imminent_nlp, text).findings if f.rule.startswith("learned.")]
    assert learned == []


def test_an_imminent_reading_raises_to_emergency_and_says_why(imminent_nlp):
    assessment = _assessment(imminent_nlp, "the bottle is next to the bed")
    finding = next(f for f in assessment.findings if f.rule.startswith("learned."))
    assert assessment.level == finding.level == "emergency"
    assert "imminence" in finding.explanation


def test_at_urgent_from_the_rules_only_imminence_adds_anything(eager_nlp, imminent_nlp, safety_screen):
    text = "i want to kill myself"
    assert safety_screen(text).level == "urgent"
    assert not [f for f in _assessment(eager_nlp, text).findings if f.rule.startswith("learned.")]
    assert _assessment(imminent_nlp, text).level == "emergency"


def test_several_sentences_are_also_read_together(eager_nlp):
    nlp = eager_nlp
    doc = nlp("sorted the will. the dog goes to mum.")
    units = [span.text for span, _ in nlp.get_pipe("safety_reader").open_sentences(doc)]
    assert units == ["sorted the will.", "the dog goes to mum.", "sorted the will. the dog goes to mum."]
    single = nlp("sorted the will")
    assert len(nlp.get_pipe("safety_reader").open_sentences(single)) == 1


def test_the_reader_never_lowers_a_level(full_screen, safety_screen):
    lowered = [
        row.values[0]["text"]
        for row in CASES
        if level_rank(full_screen(row.values[0]["text"]).level) < level_rank(safety_screen(row.values[0]["text"]).level)
    ]
    assert lowered == []


def test_the_record_names_the_data_it_was_trained_on():
    record = json.loads(RECORD_FILE.read_text(encoding="utf-8"))
    for source in record["sources"].values():
        if "sha256" in source:
            data = (MODEL_DIR / source["file"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == source["sha256"], source["file"]
    assert 0.5 <= record["thresholds"]["review"] <= record["thresholds"]["urgent"] < 1.0
    assert 0.0 < record["thresholds"]["emergency"] < 1.0
    assert record["classes"][0] == "none"


def test_training_folds_hold_out_whole_writers():
    from bot.safety.learned.train import FOLDS, load_data, writer_of

    rows, _ = load_data()
    own = [r for r in rows if r.source == "own_train"]
    by_writer = {}
    for row in own:
        by_writer.setdefault(writer_of(row.key), set()).add(row.fold)
    assert all(len(folds) == 1 for folds in by_writer.values())
    assert {f for folds in by_writer.values() for f in folds} == set(range(FOLDS))


def test_supportive_posts_are_cut_into_sentences_of_the_same_user():
    from bot.safety.learned.train import NONE, Row, supportive_sentences

    post = Row("i know. please dont do it!\nwe are here for you", NONE, NONE, "cssrs_reddit", "user-7", 0.1)
    ideation = Row("i want to die. tonight", "suicidal_ideation", "urgent", "cssrs_reddit", "user-8", 0.1)
    out = supportive_sentences([post, ideation])
    assert [r.text for r in out] == ["i know.", "please dont do it!", "we are here for you"]
    assert {r.key for r in out} == {"user-7"} and {r.label for r in out} == {NONE}


def test_the_cli_contract_holds_with_the_reader_in_place():
    import subprocess
    import sys

    from bot.safety.__main__ import FINDING_KEYS
    from tests.unit.safety.test_evaluate import REPO_ROOT

    result = subprocess.run(
        [sys.executable, "-m", "bot.safety"],
        input='{"text": "i want to kil myself"}\n', capture_output=True, text=True, cwd=REPO_ROOT, timeout=120,
    )
    line = json.loads(result.stdout.splitlines()[0])
    assert line["level"] == "urgent" and "suicidal_ideation" in line["categories"]
    assert [f["rule"] for f in line["findings"]] == ["si.active.kill_self"]
    assert all(set(f) == set(FINDING_KEYS) for f in line["findings"])


def test_a_learned_finding_goes_through_the_cli_contract(eager_nlp):
    from bot.safety.__main__ import FINDING_KEYS

    finding = next(f for f in _assessment(eager_nlp, "i counted them twice").findings if f.rule.startswith("learned."))
    assert set(FINDING_KEYS) <= set(finding.to_dict())


def test_a_broken_reader_leaves_the_rules_screening(tmp_path, caplog):
    from bot.safety.pipeline import build_pipeline

    (tmp_path / "reader.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "reader.npz").write_bytes(b"not an archive")
    nlp, _ = build_pipeline(reader_dir=tmp_path)
    assert "safety_reader" not in nlp.pipe_names
    assert "screening with the rules alone" in caplog.text
    assert nlp("i have a gun to my head right now")._.safety_assessment.level == "emergency"
    assert nlp("had a calm walk after the session")._.safety_assessment.level == "none"


def test_cases_are_read_and_split_back_per_case():
    from bot.safety.learned.train import Case, read_cases

    reader = load_reader()
    cases = [
        Case(0, 2, [("i want to die tonight", False), ("i have the pills here", True)]),
        Case(0, 0, []),
        Case(1, 1, [("the session was lovely", False)]),
    ]
    read = read_cases(reader, cases)
    alone = [(r.score, r.imminence) for r in reader.read(
        ["i want to die tonight", "i have the pills here", "the session was lovely"], every=True)]
    assert read == [alone[:2], [], alone[2:]]
    assert all(r.encoder is not None for r in reader.read(["the session was lovely"], every=True))


def test_the_three_heads_read_together_are_each_head_alone():
    import numpy as np

    reader = load_reader()
    reader.encoder = None
    texts = ["i want to die tonight", "the session was lovely", "my chest hurts and my bp is 190/120"]
    features = reader._features(texts)
    risk = 1 / (1 + np.exp(-(features @ reader._risk_coef.astype(np.float64) + reader._risk_intercept)))
    imminence = 1 / (1 + np.exp(-(features @ reader._imminence_coef.astype(np.float64) + reader._imminence_intercept)))
    categories = features @ reader._category_coef.T.astype(np.float64) + reader._category_intercept
    for reading, r, near, row in zip(reader.read(texts), risk, imminence, categories):
        assert reading.score == r and reading.imminence == near
        assert reading.category == reader.categories[int(np.argmax(row))]


@pytest.mark.parametrize(
    "held, scores, expected",
    [
        # The whole text is held as the sentence the reader scores highest is.
        ([True, False], [0.2, 0.9], False),  # "my wife's away this weekend. that's when i'll do it"
        ([True, False], [0.9, 0.3], True),  # "my sister tried to kill herself. i'm so scared"
        ([False, True], [0.5, 0.5], False),  # equals: the first
        ([], [], False),
    ],
)
def test_a_text_read_whole_is_held_as_its_likeliest_sentence(held, scores, expected):
    from bot.safety.components.reader import whole_text_held

    assert whole_text_held(held, scores) is expected


def test_calibration_holds_the_whole_text_as_the_screen_does():
    from bot.safety.learned.train import Case, _scored

    case = Case(rules=0, right=2, sentences=[("a", True), ("b", False), ("a b", None)])
    assert [blocked for _, _, blocked in _scored(case, [(0.2, 0.0), (0.95, 0.0), (0.97, 0.0)])] == [True, False, False]
    assert [blocked for _, _, blocked in _scored(case, [(0.95, 0.0), (0.2, 0.0), (0.97, 0.0)])] == [True, False, True]
