"""A short typed reply is read as an answer to the closed question the assistant asked before it."""
import pytest

from bot.conversation.routing import closed_question
from bot.safety.answers import AS_ANSWER, is_plain_answer, read_as_answer, screen_reply

RIDE_HOME = "2 of 5: Someone will take me home afterwards, and I won't drive until the next day, after a night's sleep."
READINESS = [{"title": "Ready", "payload": '/inform_readiness{"readiness": "confirmed"}'},
             {"title": "Not yet", "payload": '/inform_readiness{"readiness": "not_yet"}'}]


@pytest.fixture(scope="module")
def covert(full_screen):
    """Short replies that the learned reader alone reads as a goodbye when they stand alone."""
    texts = ["ive arranged it", "ive sorted everything", "its all taken care of"]
    found = [t for t in texts if full_screen(t).is_crisis and all(
        f.rule.startswith("learned.") for f in full_screen(t).findings if f.level in ("urgent", "emergency"))]
    assert found, "none of these reads as a crisis alone any more; pick replies the reader pages on"
    return found


def test_a_short_answer_to_a_closed_question_is_not_paged(full_screen, covert):
    for text in covert:
        assessment = screen_reply(full_screen, text, question=RIDE_HOME)
        assert assessment.level == "review", text
        assert all(AS_ANSWER in f.modifiers for f in assessment.findings if f.rule.startswith("learned."))


def test_the_same_words_with_no_question_still_page(full_screen, covert):
    for text in covert:
        assert screen_reply(full_screen, text).is_crisis


def test_a_phrase_rule_is_never_lowered_by_the_question(full_screen):
    text = "i want to kill myself"
    assert screen_reply(full_screen, text, question=RIDE_HOME).level == full_screen(text).level == "urgent"


@pytest.mark.parametrize("text", [
    "wont need a ride where im going",
    "ready. ive taken all my pills",
])
def test_a_reply_with_more_than_an_answer_is_read_as_it_stands(full_screen, text):
    assert not is_plain_answer(text)
    assert screen_reply(full_screen, text, question=RIDE_HOME) == full_screen(text)


@pytest.mark.parametrize("text, plain", [
    ("ive arranged it", True),
    ("Yes, it's all taken care of 👍", True),
    ("not yet", True),
    ("", False),
    ("👍", False),
    ("ive said my goodbyes", False),
    ("yes " * 9, False),
    # Small words alone are no answer, and "done" is not an answer word: "ive done it", "its done now".
    ("ive done it", False),
    ("its done now", False),
    ("it is", False),
    # An emoji or another script says something the words do not.
    ("ive arranged it \u26b0\ufe0f", False),
    ("ready \U0001F48A\U0001F48A", False),
    ("ready. \u518d\u89c1", False),
])
def test_a_plain_answer_is_made_of_answer_words_only(text, plain):
    assert is_plain_answer(text) is plain


def test_the_question_is_needed(full_screen, covert):
    assessment = full_screen(covert[0])
    assert read_as_answer(assessment, None, covert[0]) == assessment


def test_a_closed_question_has_only_readiness_buttons():
    assert closed_question({"text": RIDE_HOME, "buttons": READINESS}) == RIDE_HOME


def test_a_finding_read_across_the_previous_message_is_never_lowered(full_screen, covert):
    previous = "i cant do this anymore"
    assert screen_reply(full_screen, covert[0], previous, RIDE_HOME) == screen_reply(full_screen, covert[0], previous)


def test_an_answer_after_a_message_that_spoke_of_risk_is_read_as_it_stands(full_screen, covert):
    previous = "theres no point anymore"
    assert full_screen(previous).level != "none"
    assert screen_reply(full_screen, covert[0], previous, RIDE_HOME).is_crisis


def test_an_answer_after_an_everyday_message_is_still_an_answer(full_screen, covert):
    previous = "the traffic on the way home was awful today"
    assert full_screen(previous).level == "none"
    assert screen_reply(full_screen, covert[0], previous, RIDE_HOME).level == "review"


@pytest.mark.parametrize("reply", [
    {"text": "How are you doing today?"},
    # A rating is asked to find risk: PHQ-9 item 9, a distress rating.
    {"text": "Thoughts that you would be better off dead or of hurting yourself in some way",
     "buttons": [{"title": "Not at all", "payload": '/inform_rating{"rating": 0}'}]},
    {"text": "How are you doing today?", "buttons": [{"title": "PHQ-9", "payload": "/start_questionnaire"}]},
    {"text": RIDE_HOME, "buttons": READINESS + [{"title": "Stop", "payload": "/stop"}]},
    {"text": "", "buttons": READINESS},
])
def test_an_open_question_is_not_closed(reply):
    assert closed_question(reply) is None


def test_two_answers_in_a_row_are_still_answers(full_screen, covert):
    assert screen_reply(full_screen, covert[0], "ready", RIDE_HOME).level == "review"
