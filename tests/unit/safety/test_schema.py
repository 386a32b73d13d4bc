"""The rule files' schema is checked at load time, with the file and line in the error."""
import json
import shutil
from pathlib import Path

import pytest

from bot.safety import build_screen
from bot.safety.rules import DEFAULT_RULES_DIR, load_rules

GOOD_TARGET = {
    "id": "test.rule.one",
    "category": "suicidal_ideation",
    "level": "urgent",
    "patterns": ["want to die"],
    "examples": {"fire": ["i want to die"], "near_miss": ["i want to dine"]},
}
GOOD_CONTEXT = {
    "id": "ctx.test.not",
    "literal": "not",
    "category": "NEGATED_EXISTENCE",
    "direction": "FORWARD",
    "examples": {"fire": ["i do not want to die"]},
}


def _rules_dir(tmp_path: Path, targets, context=(GOOD_CONTEXT,)) -> Path:
    directory = tmp_path / "rules"
    directory.mkdir()
    (directory / "VERSION").write_text("test-1\n")
    lines = [json.dumps(record) if isinstance(record, dict) else record for record in targets]
    (directory / "targets_test.jsonl").write_text("# a comment line\n" + "\n".join(lines) + "\n")
    (directory / "context.jsonl").write_text("\n".join(json.dumps(r) for r in context) + "\n")
    return directory


def _with(**changes):
    record = dict(GOOD_TARGET, id="test.rule.two")
    record.update(changes)
    return {k: v for k, v in record.items() if v is not None}


def test_a_minimal_rule_set_loads_and_screens(tmp_path):
    screen = build_screen(_rules_dir(tmp_path, [GOOD_TARGET]))
    assert screen("i want to die").level == "urgent"
    assert screen("i do not want to die").level == "none"


@pytest.mark.parametrize(
    "record, problem",
    [
        (_with(colour="red"), "unknown key(s) colour"),
        (_with(level=None), "missing key(s) level"),
        (_with(patterns=None), "missing key(s) patterns"),
        (_with(level="critical"), "bad level 'critical'"),
        (_with(category="sadness"), "bad category 'sadness'"),
        (_with(id="Not An Id"), "bad id"),
        (dict(GOOD_TARGET), "duplicate id 'test.rule.one'"),
        (_with(examples={"fire": ["x"]}), "missing key(s) near_miss"),
        (_with(examples={"fire": [], "near_miss": ["x"]}), "examples.fire must not be empty"),
        (_with(patterns=[]), "patterns must be a non-empty list"),
        (_with(caps={"HISTORICAL": "sometimes"}), "bad caps level"),
        (_with(escalate_with={"rules": ["nothing."], "level": "emergency"}), "matches no rule id"),
        ("{not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
    ],
    ids=["unknown-key", "missing-level", "missing-patterns", "bad-level", "bad-category", "bad-id", "duplicate-id",
         "missing-near-miss", "empty-fire", "empty-patterns", "bad-cap", "bad-escalation", "not-json", "not-object"],
)
def test_schema_errors_name_file_line_and_problem(tmp_path, record, problem):
    directory = _rules_dir(tmp_path, [GOOD_TARGET, record])
    with pytest.raises(ValueError) as error:
        load_rules(directory)
    message = str(error.value)
    assert "targets_test.jsonl:3" in message  # line 1 is a comment, line 2 the good rule
    assert problem in message


def test_duplicate_id_names_both_places(tmp_path):
    directory = _rules_dir(tmp_path, [GOOD_TARGET, GOOD_TARGET])
    with pytest.raises(ValueError, match=r"targets_test.jsonl:3: duplicate id 'test.rule.one' \(first defined at .*targets_test.jsonl:2\)"):
        load_rules(directory)


@pytest.mark.parametrize(
    "record, problem",
    [
        (dict(GOOD_CONTEXT, id="ctx.test.x", scope=3), "unknown key(s) scope"),
        ({k: v for k, v in GOOD_CONTEXT.items() if k != "direction"}, "missing key(s) direction"),
        (dict(GOOD_CONTEXT, id="ctx.test.x", direction="SIDEWAYS"), "bad direction"),
        (dict(GOOD_CONTEXT, id="ctx.test.x", category="MAYBE"), "bad category"),
        (dict(GOOD_CONTEXT), "duplicate id 'ctx.test.not'"),
    ],
    ids=["unknown-key", "missing-key", "bad-direction", "bad-category", "duplicate-id"],
)
def test_context_schema_errors(tmp_path, record, problem):
    directory = _rules_dir(tmp_path, [GOOD_TARGET], context=[GOOD_CONTEXT, record])
    with pytest.raises(ValueError) as error:
        load_rules(directory)
    assert "context.jsonl:2" in str(error.value)
    assert problem in str(error.value)


def test_missing_version_file_is_an_error(tmp_path):
    directory = _rules_dir(tmp_path, [GOOD_TARGET])
    (directory / "VERSION").unlink()
    with pytest.raises(ValueError, match="VERSION"):
        load_rules(directory)


def test_a_pattern_word_with_a_contraction_is_rejected_at_build(tmp_path):
    directory = _rules_dir(tmp_path, [dict(GOOD_TARGET, patterns=["i don't want to live"])])
    with pytest.raises(ValueError, match=r"targets_test.jsonl:2: .*\"don't\" is several tokens"):
        build_screen(directory)


def test_the_packaged_rules_directory_can_be_copied_and_loaded(tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(DEFAULT_RULES_DIR, copy)
    assert load_rules(copy).version == load_rules().version


@pytest.mark.parametrize(
    "record, problem",
    [
        ({"kind": "split", "from": "dnt", "parts": ["d", "n"], "norms": ["do", "not"]}, "spell 'from' exactly"),
        ({"kind": "split", "from": "dnt", "parts": ["dnt"], "norms": ["do"]}, "two or more parts"),
        ({"kind": "split", "from": "dnt", "parts": ["d", "nt"], "norms": ["do"]}, "one norm per part"),
        ({"kind": "split", "from": "dnt", "parts": ["d", "nt"], "norms": ["do", "not"], "to": "x"}, "unknown key"),
    ],
)
def test_split_entries_are_checked(tmp_path, record, problem):
    from bot.safety.rules import load_rules

    directory = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES_DIR, directory)
    with (directory / "normalise.jsonl").open("a") as handle:
        handle.write(json.dumps(record) + "\n")
    with pytest.raises(ValueError, match=problem):
        load_rules(directory)


def test_a_split_makes_two_tokens_with_their_norms(safety_screen):
    doc = safety_screen.nlp("i dnt wanna live")
    assert [(t.text, t.norm_) for t in doc][:3] == [("i", "i"), ("d", "do"), ("nt", "not")]


def test_a_token_pattern_spacy_rejects_is_an_error_at_build(tmp_path):
    bad = [{"LOWER": "want"}, {"LOWER": "to", "OP": "%"}, {"LOWER": "die"}]
    directory = _rules_dir(tmp_path, [dict(GOOD_TARGET, patterns=[bad])])
    with pytest.raises(ValueError, match=r"targets_test.jsonl:2: spaCy rejected a pattern of test.rule.one"):
        build_screen(directory)
