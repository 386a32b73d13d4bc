"""Warning signs said in other words: a goodbye, an act under way, a child hurt, other substances."""
import pytest


def _level(screen, text):
    return screen(text).level


@pytest.mark.parametrize(
    "text, level",
    [
        # The writer's own funeral made ready is a final arrangement; another person's is not.
        ("chose the hymns for my funeral and wrote them down for my son", "emergency"),
        ("my memorial playlist is finished", "emergency"),
        ("helped my aunt choose the songs for my uncle's funeral", "none"),
        # A pet handed over for good, with words that say it is final.
        ("handed my dog over to the rescue today. no loose ends now", "emergency"),
        ("the cat is at the shelter now. she deserves someone who'll be around", "emergency"),
        ("we adopted our dog from the shelter in may", "none"),
    ],
)
def test_goodbyes_in_other_words(safety_screen, text, level):
    assert _level(safety_screen, text) == level


@pytest.mark.parametrize(
    "text, level",
    [
        # An act the text says is happening as the writer types: under way.
        ("burning my arm with a lighter as we speak", "emergency"),
        ("scratched my legs open and im still going", "emergency"),
        ("overdosed on my sleeping pills about 20 minutes ago", "emergency"),
        # A dated act with "right now" about something else: recent, not under way.
        ("i burned my arm on saturday. right now im calmer", "urgent"),
    ],
)
def test_an_act_under_way(safety_screen, text, level):
    assert _level(safety_screen, text) == level


@pytest.mark.parametrize(
    "text, level",
    [
        ("my ex shook our 10 month old when she would not stop crying", "urgent"),
        ("the man next door leaves bruises on his little girl, i see them every week", "urgent"),
        ("her stepdad touches her at night. she is eight", "urgent"),
        ("my dad used to hit my little brother when we were kids, he's a different man now", "review"),
        ("my son beat his dad at chess again", "none"),
    ],
)
def test_a_child_hurt_by_an_adult(safety_screen, text, level):
    assert _level(safety_screen, text) == level


@pytest.mark.parametrize(
    "text, level",
    [
        ("been drinking again, a bottle of wine every night", "urgent"),
        ("went back to using heroin last week", "urgent"),
        ("did a couple of lines before my session", "urgent"),
        ("drinking a bit more than usual since the move", "review"),
        ("back in 2016 i went back to using for a while", "review"),
        ("had a glass of wine with dinner", "none"),
        ("started running again after my knee healed", "none"),
    ],
)
def test_other_substances(safety_screen, text, level):
    assert _level(safety_screen, text) == level
