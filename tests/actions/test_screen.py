"""A review-level message sets screen_review, so a grounding offer follows the normal reply."""
from rasa_sdk.events import SlotSet

from actions.screen import ActionTrackScreen
from tests.actions.conftest import make_tracker, run

REVIEW = {"level": "review", "categories": ["suicidal_ideation"], "findings": []}


def test_a_review_level_message_sets_the_slot(dispatcher):
    tracker = make_tracker(text="during the session i wanted to die just to make it stop",
                           intent="share_experience", safety=REVIEW)
    assert run(ActionTrackScreen(), tracker, dispatcher) == [SlotSet("screen_review", True)]


def test_the_next_message_clears_it(dispatcher):
    tracker = make_tracker(text="thanks", intent="thanks", slots={"screen_review": True})
    assert run(ActionTrackScreen(), tracker, dispatcher) == [SlotSet("screen_review", None)]


def test_an_ordinary_message_sets_nothing(dispatcher):
    assert run(ActionTrackScreen(), make_tracker(text="hi"), dispatcher) == []
