"""Grounding: each exercise runs step by step between two distress ratings, stored as a GroundingSession."""
import pytest
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.grounding import (
    ActionAskGroundingDistressAfter,
    ActionAskGroundingExercise,
    ActionAskGroundingProgress,
    ActionSaveGrounding,
    ActionStopGrounding,
    ValidateGroundingForm,
)
from bot.content.exercises import exercise_by_id, exercise_library
from bot.storage.models import GroundingSession
from tests.actions.conftest import make_tracker, responses, run, slots_of

SENDER = "demo-ava"


def _say(slots, text, intent, entities=None):
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(SENDER, text, intent, slots=slots, entities=entities, form="grounding_form")
    return {**slots, **slots_of(run(ValidateGroundingForm(), tracker, dispatcher))}, dispatcher


def _ask(action, slots):
    dispatcher = CollectingDispatcher()
    events = run(action, make_tracker(SENDER, slots=slots, active_loop="grounding_form"), dispatcher)
    return {**slots, **slots_of(events)}, dispatcher


def _rows(sessions):
    with sessions() as session:
        return session.scalars(select(GroundingSession).order_by(GroundingSession.id)).all()


@pytest.mark.parametrize(
    "text, exercise_id",
    [
        ("5 4 3 2 1", "five_senses"),
        ("can u walk me thru box breathing", "box_breathing"),
        ("4-7-8 pls", "breathing_478"),
        ("lets do a body scan", "body_scan"),
        ("take me to my safe place", "safe_place"),
    ],
)
def test_each_exercise_runs_from_rating_to_rating_and_is_stored(runtime_db, text, exercise_id):
    exercise = exercise_by_id(exercise_id)
    slots, _ = _say({}, text, "start_grounding")  # activation: the exercise is named
    assert slots["grounding_exercise"] == exercise_id
    assert slots["requested_slot"] == "grounding_distress_before"

    slots, _ = _say(slots, "7", "inform_rating")
    assert slots["grounding_distress_before"] == 7 and slots["requested_slot"] == "grounding_progress"
    [row] = _rows(runtime_db)
    assert (row.exercise_id, row.distress_before, row.completed) == (exercise_id, 7, False)

    slots, shown = _ask(ActionAskGroundingProgress(), slots)
    assert responses(shown) == ["utter_grounding_intro", "utter_grounding_step"]
    assert shown.messages[1]["step"] == exercise.steps[0]
    for index in range(1, len(exercise.steps)):
        slots, _ = _say(slots, "next", "next_step")
        assert slots["requested_slot"] == "grounding_progress"
        slots, shown = _ask(ActionAskGroundingProgress(), slots)
        assert shown.messages[-1]["step"] == exercise.steps[index]
    assert responses(shown) == ["utter_grounding_last_step"]  # no "Next" button on the last step
    slots, _ = _say(slots, "next", "next_step")
    assert slots["requested_slot"] == "grounding_distress_after"

    _, closing = _ask(ActionAskGroundingDistressAfter(), slots)
    assert responses(closing) == ["utter_grounding_closing", "utter_ask_grounding_distress_after"]
    slots, _ = _say(slots, "/inform_rating", "inform_rating", entities=[{"entity": "rating", "value": 3}])
    assert slots["grounding_distress_after"] == 3 and slots["requested_slot"] is None

    dispatcher = CollectingDispatcher()
    events = run(ActionSaveGrounding(), make_tracker(SENDER, slots=slots), dispatcher)
    assert responses(dispatcher) == ["utter_grounding_result_lower"]
    assert (dispatcher.messages[0]["before"], dispatcher.messages[0]["after"]) == (7, 3)
    assert all(value is None for value in slots_of(events).values())
    [row] = _rows(runtime_db)
    assert (row.distress_before, row.distress_after, row.completed) == (7, 3, True)
    assert row.ended_at is not None


def test_the_choice_is_offered_from_the_exercise_files(runtime_db, dispatcher):
    run(ActionAskGroundingExercise(), make_tracker(SENDER), dispatcher)
    payloads = [b["payload"] for b in dispatcher.messages[0]["buttons"]]
    assert payloads == [f'/start_grounding{{"exercise": "{e.id}"}}' for e in exercise_library()]


def test_a_button_or_you_choose_picks_the_exercise(runtime_db):
    asked = {"requested_slot": "grounding_exercise"}
    slots, _ = _say(asked, '/start_grounding{"exercise": "safe_place"}', "start_grounding",
                    entities=[{"entity": "exercise", "value": "safe_place"}])
    assert slots["grounding_exercise"] == "safe_place"
    slots, _ = _say(asked, "you choose", "nlu_fallback")
    assert slots["grounding_exercise"] == "five_senses"


def test_done_ends_the_steps_early_and_a_rating_out_of_range_is_asked_again(runtime_db):
    slots, _ = _say({}, "box breathing", "start_grounding")
    slots, said = _say(slots, "12", "inform_rating")
    assert responses(said) == ["utter_rating_invalid"]
    assert slots["grounding_distress_before"] is None
    slots, _ = _say(slots, "9", "inform_rating")
    slots, _ = _ask(ActionAskGroundingProgress(), slots)
    slots, _ = _say(slots, "done", "done")
    assert slots["requested_slot"] == "grounding_distress_after"


def test_a_rating_still_high_afterwards_gets_the_crisis_lines(runtime_db, dispatcher):
    slots, _ = _say({}, "box breathing", "start_grounding")
    slots, _ = _say(slots, "8", "inform_rating")
    slots = {**slots, "grounding_progress": "done", "grounding_distress_after": 9.0}
    run(ActionSaveGrounding(), make_tracker(SENDER, slots=slots), dispatcher)
    assert responses(dispatcher) == ["utter_grounding_result_higher", "utter_grounding_still_high"]
    assert "988" in dispatcher.messages[1]["resources"]


def test_stopping_an_exercise_is_stored_as_not_completed(runtime_db, dispatcher):
    slots, _ = _say({}, "body scan", "start_grounding")
    slots, _ = _say(slots, "6", "inform_rating")
    slots, _ = _ask(ActionAskGroundingProgress(), slots)
    slots, _ = _say(slots, "stop", "stop")
    assert slots.get("grounding_progress") is None  # not a step: the form rejects it, a rule stops it
    events = run(ActionStopGrounding(), make_tracker(SENDER, "stop", "stop", slots=slots), dispatcher)
    assert all(value is None for value in slots_of(events).values())
    [row] = _rows(runtime_db)
    assert (row.completed, row.distress_after) == (False, None) and row.ended_at is not None
