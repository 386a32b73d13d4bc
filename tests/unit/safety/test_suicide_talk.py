"""Talk about suicide is not risk: topics, things, titles; and the writer's present still counts."""
import pytest


def _level(screen, text):
    return screen(text).level


@pytest.mark.parametrize(
    "text",
    [
        "we talked about suicide in group today",
        "today's group topic was suicide and how to ask directly",
        "i read a study on ketamine for suicidal depression",
        "the paper ran a story on the suicide rate in rural areas",
        "apparently men are three times more likely to die by suicide than women",
        "going out in this storm is suicide",
        "the squirrel that ran across the road looked suicidal",
        "coach made us do suicide sprints until we nearly threw up",
        'the song "i want to die" by that band is so catchy',
        "the bbc piece on male suicide was really good",
        # The first half of a name for a thing.
        "the diner's suicide burger challenge is undefeated",
        "suicide squats at the gym are brutal",
        "parking a van on that hill takes suicidal confidence",
    ],
)
def test_talk_about_suicide_is_none(safety_screen, text):
    assert _level(safety_screen, text) == "none"


@pytest.mark.parametrize(
    "text, level",
    [
        # A topic the writer ties to their present is not mere talk.
        ("i read an article about suicide and i keep thinking about it", "urgent"),
        ("we talked about suicide in group and i realised i still think about it", "review"),
        # A method searched for, or suicide weighed as easy, is the writer's own ideation.
        ("suicide would be so easy", "urgent"),
        ("best suicide method for a quick death", "urgent"),
        ("looking for suicide methods", "urgent"),
        # No thing to attach it to: a bare mention stays review.
        ("reading about suicide all night again", "review"),
        ("suicidal thoughts are common after loss", "review"),
        ("suicide runs in my family", "review"),
        ("i need the suicide hotline number", "review"),
        # A name's first half only when nothing ties it to the writer and it is not a question.
        ("suicide haunts me every night", "review"),
        ("is suicide painful?", "review"),
        ("i wrote a suicide note", "emergency"),
        ("lost my dad to suicide last spring", "review"),
        ("suicidal most days", "review"),
        # A person anywhere, a time, a typo of a risk word: not a name for a thing.
        ("im in a suicidal headspace", "review"),
        ("suicidal thots tonight", "review"),
        ("suicidal after the infusion yesterday", "review"),
    ],
)
def test_a_mention_tied_to_the_writer_or_a_method_stays(safety_screen, text, level):
    assert _level(safety_screen, text) == level


def test_a_mention_said_of_a_thing_rises_with_company(safety_screen):
    assert _level(safety_screen, "going out in this storm is suicide") == "none"
    assert _level(safety_screen, "i feel hopeless. going out in this storm is suicide") == "urgent"


@pytest.mark.parametrize(
    "text",
    [
        "i'm suicidal",
        "feeling suicidal again",
        "suicidal af rn",
        "the only way out left is suicide",
        "my friend is suicidal and honestly so am i",
        "suicidal thoughts are common after loss, and i've been having them every night",
        "after watching that documentary about suicide i want to die",
        "i used to want to die, it passed, but now it's back",
        "i want to kill myself to make it stop",
        "i tried to kill myself at 19 and i want to try again",
    ],
)
def test_the_writers_present_risk_stays_urgent(safety_screen, text):
    assert _level(safety_screen, text) == "urgent"


@pytest.mark.parametrize(
    "text, level",
    [
        ("the infusion didn't make me suicidal at all", "none"),
        ("zero suicidal thoughts this week, which feels like a win", "none"),
        ("suicide is not on my mind at all", "none"),
        ("my therapist asked if i was suicidal and honestly no, i'm not", "none"),
        ("i don't feel like dying, i feel like sleeping for a week", "none"),
        ("i was suicidal in my twenties but that's long behind me", "review"),
        ("it's been three years since my attempt", "review"),
        ("in the middle of the infusion i wished i was dead, it faded fast", "review"),
        ("the infusion was rough, i wanted to die at one point", "review"),
        ("the infusion was a week ago and i've wanted to die every day since", "urgent"),
        ("my dad keeps saying everyone would be better off without him", "review"),
    ],
)
def test_denials_the_past_the_experience_and_others(safety_screen, text, level):
    assert _level(safety_screen, text) == level
