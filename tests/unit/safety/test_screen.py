"""Behaviour of the Screen: offsets, long and odd input, the worst sentence, fail-safe."""
import logging
import subprocess
import sys

import pytest
import spacy
from spacy.language import Language

from bot.safety import CATEGORIES, LEVELS, Assessment, Finding, Screen

CRISIS = "i dont want to be alive anymore"


def test_levels_and_categories_are_the_documented_tuples():
    assert LEVELS == ("none", "review", "urgent", "emergency")
    assert CATEGORIES == (
        "suicidal_ideation", "suicidal_behavior", "self_harm", "harm_to_others",
        "abuse", "medical", "substance_misuse", "screen_error",
    )


def test_spans_point_into_the_original_text(safety_screen):
    text = "Good session.\n\nBut honestly?? I DON’T want to be alive anymore 😭 and my chest hurts"
    assessment = safety_screen(text)
    assert {f.rule for f in assessment.findings} >= {"si.passive.not_alive", "med.chest_pain"}
    for finding in assessment.findings:
        assert text[finding.start : finding.end] == finding.text
    assert any(f.text == "N’T want to be alive" for f in assessment.findings)


def test_to_dict_and_is_crisis(safety_screen):
    assessment = safety_screen("i want to die")
    data = assessment.to_dict()
    assert set(data) == {"level", "categories", "findings"}
    assert set(data["findings"][0]) == {"rule", "category", "level", "start", "end", "text", "modifiers"}
    assert isinstance(data["findings"][0]["modifiers"], list)
    assert assessment.is_crisis
    assert not safety_screen("lovely walk today").is_crisis


@pytest.mark.parametrize("text", ["", " ", "\n\t  \n", None])
def test_empty_input_is_none(safety_screen, text):
    assert safety_screen(text) == Assessment(level="none", categories=(), findings=())


@pytest.mark.parametrize(
    "text",
    ["😭😭😭", "💀", "🙂 good day 🌞", "...", "???!!!", "a", "\u200b\u200d", "ok\r\nok\r\n", "0" * 500],
    ids=["crying", "skull", "sunny", "dots", "punct", "letter", "zero-width", "crlf", "digits"],
)
def test_odd_input_does_not_raise(safety_screen, text):
    assert safety_screen(text).level in LEVELS


def test_emoji_and_caps_do_not_hide_a_crisis(safety_screen):
    assert safety_screen("😭😭I WANT TO DIE😭😭").level == "urgent"
    assert safety_screen("I'M GOING TO KILL MYSELF").level == "emergency"


def test_long_text_with_a_crisis_near_the_end(safety_screen):
    filler = "Today I walked by the river and noticed the light on the water. " * 320
    text = filler + "I keep thinking everyone would be better off without me. " + "The tea was nice. " * 5
    assert len(text) >= 20_000
    assessment = safety_screen(text)
    assert assessment.level == "urgent"
    finding = next(f for f in assessment.findings if f.rule == "si.passive.burden")
    assert text[finding.start : finding.end] == finding.text
    assert finding.start > 20_000 - 200


def test_very_long_text_is_screened_in_pieces_with_true_offsets(safety_screen):
    text = "calm day, nothing to report.\n" * 9000 + "i just took a whole bottle of pills\n"
    assert len(text) > 200_000
    assessment = safety_screen(text)
    assert assessment.level == "emergency"
    finding = assessment.findings[-1]
    assert text[finding.start : finding.end] == finding.text


def test_the_worst_sentence_decides(safety_screen):
    text = "I used to cut, not for years. My friend is suicidal. I want to die. My chest feels tight."
    assessment = safety_screen(text)
    assert assessment.level == "urgent"
    levels = {f.rule: f.level for f in assessment.findings}
    assert levels["sh.act"] == "review"
    assert levels["si.passive.wish_dead"] == "urgent"
    assert assessment.categories == ("suicidal_ideation", "medical")


def test_negated_findings_stay_visible_but_raise_nothing(safety_screen):
    assessment = safety_screen("I'm not suicidal at all")
    assert assessment.level == "none"
    assert assessment.categories == ()
    assert [(f.rule, f.level, f.modifiers) for f in assessment.findings] == [
        ("si.mention.suicidal", "none", ("negated",))
    ]


@pytest.mark.parametrize(
    "text, level",
    [
        ("bp 179/109 after the session", "none"),
        ("bp 180/90 after the session", "urgent"),
        ("blood pressure 150 over 112", "urgent"),
        ("bp:190/115", "urgent"),
        ("bp 190/115 and my chest hurts", "emergency"),
        ("bp 190/115 and i can't breathe", "emergency"),
        ("bp 128/80, chest pain", "urgent"),
    ],
)
def test_blood_pressure_readings(safety_screen, text, level):
    assert safety_screen(text).level == level


def test_method_at_hand_with_current_ideation_is_an_emergency(safety_screen):
    assert safety_screen("i have a gun in the house").level == "review"
    assessment = safety_screen("i want to die. i have a gun in the house")
    assert assessment.level == "emergency"
    assert "escalated" in next(f for f in assessment.findings if f.rule == "sb.means.access").modifiers


def test_a_denial_does_not_make_a_means_emergency(safety_screen):
    assert safety_screen("i'm not suicidal. i have a gun for hunting").level == "review"


def test_non_text_input_fails_safe(safety_screen, caplog):
    with caplog.at_level(logging.ERROR, logger="bot.safety.screen"):
        assessment = safety_screen(12345)
    assert assessment.level == "urgent"
    assert assessment.categories == ("screen_error",)
    assert any(record.exc_info for record in caplog.records)


@Language.component("safety_test_failure")
def _failing_component(doc):
    raise RuntimeError("injected failure")


def test_a_failing_pipeline_reports_screen_error_and_logs_it(caplog):
    nlp = spacy.blank("en")
    nlp.add_pipe("safety_test_failure")
    screen = Screen(nlp, version="test")
    with caplog.at_level(logging.ERROR, logger="bot.safety.screen"):
        assessment = screen("i had a nice day")
    assert assessment == Assessment(
        level="urgent",
        categories=("screen_error",),
        findings=(Finding("screen_error", "screen_error", "urgent", 0, 0, "", ()),),
    )
    assert assessment.is_crisis
    record = next(r for r in caplog.records if r.name == "bot.safety.screen")
    assert record.exc_info and "injected failure" in str(record.exc_info[1])


def test_a_pipeline_without_the_decision_step_fails_safe(caplog):
    screen = Screen(spacy.blank("en"), version="test")
    with caplog.at_level(logging.ERROR, logger="bot.safety.screen"):
        assert screen("hello").categories == ("screen_error",)


def test_importing_the_package_does_not_load_spacy_or_build_anything():
    code = "import sys, bot.safety; print('spacy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split()[0] == "False"


def test_module_level_screen_builds_lazily_once(monkeypatch, safety_screen):
    screen_module = sys.modules["bot.safety.screen"]  # the module, not the screen() function
    calls = []
    monkeypatch.setattr(screen_module, "_default", None)
    monkeypatch.setattr(screen_module, "build_screen", lambda: calls.append(1) or safety_screen)
    assert screen_module.screen("i want to die").level == "urgent"
    assert screen_module.screen("nice day").level == "none"
    assert calls == [1]


def test_matchers_built_on_first_use_find_what_matchers_built_at_start_find(safety_rules):
    from bot.safety import build_screen

    texts = [text for rule in safety_rules.targets for text in rule.fire + rule.near_miss]
    lazy = build_screen(reader=False)
    eager = build_screen(reader=False)
    assert lazy.nlp.get_pipe("safety_target_matcher").unbuilt_groups > 100
    matcher = eager.nlp.get_pipe("safety_target_matcher")
    matcher.build_all()
    assert matcher.unbuilt_groups == 0
    assert [lazy.explain(t)["targets"] for t in texts] == [eager.explain(t)["targets"] for t in texts]
