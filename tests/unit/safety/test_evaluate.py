"""The evaluation script runs without the shared data and meets the project's own targets."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.safety.evaluate import check_targets, evaluate_own, render_markdown

REPO_ROOT = Path(__file__).resolve().parents[3]


def test_own_sets_meet_their_targets(safety_screen):
    own = evaluate_own(safety_screen)
    targets = check_targets(None, own)
    assert all(row["met"] in (True, None) for row in targets.values()), targets
    markdown = render_markdown(
        {"rules_version": "x", "shared_dir": "/nowhere", "public": None, "own": own, "targets": targets}
    )
    assert "Shared evaluation directory not found" in markdown


# The command-line tests measure a few lines of each kind (`few_examples`): a whole evaluation reads
# eleven thousand texts with the sentence encoder (`make eval-safety`). The timeout only catches a hang.
EVALUATE_TIMEOUT = 600
EXAMPLES = REPO_ROOT / "tests" / "safety_examples"


@pytest.fixture()
def few_examples(tmp_path):
    """A directory with the first lines of two own sets and of one blind round."""
    directory = tmp_path / "examples"
    directory.mkdir()
    for name in ("idioms.jsonl", "medical_red_flags.jsonl", "blind_r1_risk.jsonl", "blind_r1_benign.jsonl"):
        lines = (EXAMPLES / name).read_text(encoding="utf-8").splitlines()[:6]
        (directory / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return directory


def test_missing_shared_dir_is_one_line_and_reports_are_written(tmp_path, few_examples):
    env = dict(os.environ, SAFETY_EVAL_DIR=str(tmp_path / "missing"))
    result = subprocess.run(
        [sys.executable, "-m", "bot.safety.evaluate", "--out", str(tmp_path / "out"),
         "--examples-dir", str(few_examples)],
        capture_output=True, text=True, cwd=REPO_ROOT, env=env, timeout=EVALUATE_TIMEOUT,
    )
    # 0 or 1: the blind rounds and the own sets are still measured against their targets.
    assert result.returncode in (0, 1), result.stdout + result.stderr
    assert result.stdout.splitlines()[0].startswith("Shared evaluation directory not found")
    report = json.loads((tmp_path / "out" / "safety_eval.json").read_text())
    assert report["public"] is None
    assert report["own"]["n"] == 12
    assert report["blind"]["r1"]["risk"]["n"] == 6 and report["blind"]["r1"]["benign"]["n"] == 6
    assert set(report["ablation"]) == {"rules alone", "reader alone", "both"}
    assert "blind r1 risk recall" in report["ablation"]["reader alone"]
    assert set(report["blind_alarms"]) == {"all", "by_group"}
    assert (tmp_path / "out" / "safety_eval.md").is_file()


def test_a_missing_examples_dir_is_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "bot.safety.evaluate", "--out", str(tmp_path / "out"),
         "--shared-dir", str(tmp_path), "--examples-dir", str(tmp_path / "nowhere")],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=EVALUATE_TIMEOUT,
    )
    assert result.returncode == 2
    assert result.stdout.strip() == f"Examples directory not found (or not a directory): {tmp_path / 'nowhere'}"
    assert not (tmp_path / "out").exists()


def test_the_ablation_views_are_the_screens_they_stand_for(full_screen, safety_screen):
    from bot.safety.ablation import Remembered, readers
    from bot.safety.screen import _lowered

    encoder = full_screen.nlp.get_pipe("safety_reader").reader.encoder
    bounded = encoder.memo_size
    reader = full_screen.nlp.get_pipe("safety_reader")
    lines = (EXAMPLES / "blind_r1_risk.jsonl").read_text(encoding="utf-8").splitlines()[:10]
    lines += (EXAMPLES / "blind_r1_benign.jsonl").read_text(encoding="utf-8").splitlines()[:10]
    with Remembered(full_screen) as remembered:
        assert encoder.memo_size is None
        views = readers(remembered)
        for line in lines:
            text = json.loads(line)["text"]
            assert views["both"](text) == full_screen(text).level
            assert remembered(text) is remembered(text)
            assert views["rules alone"](text) == safety_screen(text).level
            with full_screen.nlp.select_pipes(disable=["safety_reader"]):
                alone = reader.level_alone(full_screen.nlp(_lowered(text)))
            assert views["reader alone"](text) == alone
    assert encoder.memo_size == bounded


def test_a_screen_error_is_not_remembered(safety_screen):
    from bot.safety.ablation import Remembered
    from bot.safety.screen import SCREEN_ERROR

    answers = iter([SCREEN_ERROR, safety_screen("i want to die")])

    class Flaky:
        nlp, version = safety_screen.nlp, safety_screen.version

        def __call__(self, text):
            return next(answers)

    with Remembered(Flaky()) as remembered:
        assert remembered("i want to die") is SCREEN_ERROR
        screened = remembered("i want to die")
        assert "screen_error" not in screened.categories and screened.level == "urgent"
        assert remembered("i want to die") is screened  # kept: the flaky screen has no third answer


def test_an_examples_dir_without_example_sets_is_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "bot.safety.evaluate", "--out", str(tmp_path / "out"),
         "--shared-dir", str(tmp_path), "--examples-dir", str(tmp_path)],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=EVALUATE_TIMEOUT,
    )
    assert result.returncode == 2
    assert result.stdout.strip() == f"No example sets (*.jsonl) in {tmp_path}"


def test_the_shared_dir_comes_from_the_setting(tmp_path):
    from bot.safety.evaluate import default_shared_dir
    from bot.config.settings import load_settings

    settings = load_settings(environ={"SAFETY_EVAL_DIR": str(tmp_path / "eval")}, env_file=tmp_path / "no.env")
    assert settings.safety_eval_dir == tmp_path / "eval"
    assert default_shared_dir(settings) == tmp_path / "eval"
    unset = load_settings(environ={}, env_file=tmp_path / "no.env")
    assert unset.safety_eval_dir is None
    assert default_shared_dir(unset) == (REPO_ROOT.parent / "shared" / "eval").resolve()


def test_the_evaluator_reads_no_environment_variable_itself():
    source = (REPO_ROOT / "bot" / "safety" / "evaluate.py").read_text(encoding="utf-8")
    assert "os.environ" not in source and "getenv" not in source


def test_shared_dir_argument_wins_and_reports_rules_of_missed_lines(tmp_path, few_examples):
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "public_crisis.jsonl").write_text(
        json.dumps({"text": "i want to die", "sub": "ideation"}) + "\n"
        + json.dumps({"text": "i think about death", "sub": "ideation"}) + "\n"
    )
    env = dict(os.environ, SAFETY_EVAL_DIR=str(tmp_path / "missing"))
    result = subprocess.run(
        [sys.executable, "-m", "bot.safety.evaluate", "--shared-dir", str(shared), "--out", str(tmp_path / "out"),
         "--examples-dir", str(few_examples)],
        capture_output=True, text=True, cwd=REPO_ROOT, env=env, timeout=EVALUATE_TIMEOUT,
    )
    report = json.loads((tmp_path / "out" / "safety_eval.json").read_text())
    assert report["shared_dir"] == str(shared.resolve()), result.stdout + result.stderr
    crisis = report["public"]["crisis"]
    assert crisis["recall_urgent_plus"] == 0.5
    assert crisis["below_urgent_by_top_rule"] == {"si.mention.death": 1}
    # The what-if policies are measured on rewritten copies of the rules, never in force.
    alternatives = {row["name"]: row for row in report["alternatives"]}
    assert alternatives["bare mentions of death, suicide or self-harm at urgent"]["crisis_recall_urgent_plus"] == 1.0
    assert alternatives["past attempts and self-harm not capped at review"]["crisis_recall_urgent_plus"] == 0.5
    assert "Policy alternatives (measured, not in force)" in (tmp_path / "out" / "safety_eval.md").read_text()


def test_policy_alternatives_leave_the_packaged_rules_alone(tmp_path):
    from bot.safety.evaluate import POLICY_ALTERNATIVES, _rewritten_rules
    from bot.safety.rules import DEFAULT_RULES_DIR, load_rules

    before = {p.name: p.read_text() for p in DEFAULT_RULES_DIR.iterdir()}
    copy = _rewritten_rules(DEFAULT_RULES_DIR, tmp_path / "rules", POLICY_ALTERNATIVES["bare mentions of death, suicide or self-harm at urgent"])
    assert {p.name: p.read_text() for p in DEFAULT_RULES_DIR.iterdir()} == before
    rewritten = load_rules(copy)
    assert rewritten.target("sh.mention").level == "urgent"
    assert rewritten.target("sh.mention").current_level is None
    assert load_rules().target("sh.mention").level == "review"


def test_blind_false_alarms_are_counted_by_the_rule_that_raised_them(safety_screen):
    from bot.safety.evaluate import blind_alarms_by_rule, render_blind_alarms

    rounds = {"x": {"risk": [], "benign": [
        {"text": "i want to die", "level": "none", "sign": "suicide_talk"},
        {"text": "i want to die", "level": "urgent", "sign": "experience_wish"},
        {"text": "the session was lovely", "level": "none", "sign": "everyday_kap"},
    ]}}
    rule = safety_screen("i want to die").findings[0].rule
    alarms = blind_alarms_by_rule(safety_screen, rounds)
    assert alarms == {"all": {rule: 1}, "by_group": {"suicide_talk": {rule: 1}}}
    assert f"| `{rule}` | 1 |" in "\n".join(render_blind_alarms(alarms))
