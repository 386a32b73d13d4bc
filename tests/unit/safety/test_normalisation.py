"""Text-speak, typos, stretched letters and contractions reach the same rules."""
import pytest


@pytest.mark.parametrize(
    "text, rule",
    [
        ("i want to die", "si.passive.wish_dead"),
        ("i wanna die", "si.passive.wish_dead"),
        ("i want 2 die", "si.passive.wish_dead"),
        ("i want to diiiie", "si.passive.wish_dead"),
        ("i wnat to die", "si.passive.wish_dead"),
        ("i want to kil myself", "si.active.kill_self"),
        ("kms", "si.active.kill_self"),
        ("i want to kill my self", "si.active.kill_self"),
        ("feeling suicidel", "si.explicit.suicidal"),
        ("feeling sooo suicidal", "si.explicit.suicidal"),
        ("i dont want to be alive", "si.passive.not_alive"),
        ("i don’t want to be alive", "si.passive.not_alive"),
        ("I DON'T WANT TO BE ALIVE", "si.passive.not_alive"),
        ("im not ok and i cant go on", "si.passive.not_alive"),
        ("relapsed on sh", "sh.act"),
        ("i want to unalive myself", "si.active.kill_self"),
    ],
)
def test_variants_reach_the_rule(safety_screen, text, rule):
    findings = safety_screen(text).findings
    assert any(f.rule == rule and f.level != "none" for f in findings), findings


def test_a_real_word_is_not_treated_as_a_typo(safety_screen):
    assert safety_screen("i want to dye my hair").level == "none"
    assert safety_screen("i've been putting myself down lately").level == "none"


@pytest.mark.parametrize(
    "text",
    ["i want to die\nthat's all", "had a nice walk\n\ni want to die"],
    ids=["first-line", "after-blank-line"],
)
def test_line_breaks_split_sentences(safety_screen, text):
    assert safety_screen(text).level == "urgent"


def test_a_line_break_stops_a_negation_on_the_previous_line(safety_screen):
    assert safety_screen("i'm not sure\ni want to die").level == "urgent"
