"""Check-ins: four quick answers stored as a MoodCheckin; distress leads to a grounding offer."""
from datetime import timedelta

import pytest
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import delete, select

from actions.checkin import ActionSaveCheckin, ActionStopCheckin, ValidateCheckinForm
from bot.storage.models import InfusionSession, MoodCheckin, Patient, utcnow
from tests.actions.conftest import make_tracker, responses, run, slots_of

SENDER = "demo-jonah"


def _say(slots, text, intent, entities=None):
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(SENDER, text, intent, slots=slots, entities=entities, form="checkin_form")
    return {**slots, **slots_of(run(ValidateCheckinForm(), tracker, dispatcher))}, dispatcher


def _checkin(runtime_db, answers):
    slots = {}
    slots, _ = _say(slots, "check in", "check_in")
    for text, intent, entities in answers:
        slots, _ = _say(slots, text, intent, entities)
    return slots


def _rows(sessions):
    with sessions() as session:
        return session.scalars(select(MoodCheckin)).all()


def _days_after(sessions):
    with sessions.begin() as session:
        patient = session.scalar(select(Patient).where(Patient.sender_id == SENDER))
        session.execute(delete(InfusionSession).where(InfusionSession.patient_id == patient.id))
        session.add(InfusionSession(patient_id=patient.id, occurred_at=utcnow() - timedelta(days=2), route="IM"))


def test_a_check_in_with_high_anxiety_is_stored_and_leads_to_grounding(runtime_db, dispatcher):
    _days_after(runtime_db)
    slots = _checkin(runtime_db, [
        ("/inform_rating", "inform_rating", [{"entity": "rating", "value": 5}]),
        ("about an 8", "inform_rating", None),
        ("barely slept", "inform_sleep", None),
        ("a little spacey", "inform_dissociation", None),
    ])
    assert slots["requested_slot"] is None
    events = run(ActionSaveCheckin(), make_tracker(SENDER, slots=slots), dispatcher)
    assert SlotSet("distress_high", True) in events
    assert responses(dispatcher) == ["utter_checkin_saved", "utter_checkin_dissociation_note"]
    assert "nurse line" in dispatcher.messages[1]["contact"]
    [row] = _rows(runtime_db)
    assert (row.mood, row.anxiety, row.sleep, row.dissociation) == (5, 8, "barely", "mild")


@pytest.mark.parametrize(
    "mood, anxiety, distressed",
    [("7", "3", False), ("3", "2", True), ("6", "7", True), ("4", "6", False)],
)
def test_grounding_follows_low_mood_or_high_anxiety(runtime_db, dispatcher, mood, anxiety, distressed):
    slots = _checkin(runtime_db, [
        (mood, "inform_rating", None), (anxiety, "inform_rating", None),
        ("slept well", "inform_sleep", None), ("no", "deny", None),
    ])
    events = run(ActionSaveCheckin(), make_tracker(SENDER, slots=slots), dispatcher)
    assert SlotSet("distress_high", distressed) in events
    assert _rows(runtime_db)[0].dissociation == "none"


def test_an_answer_that_does_not_fit_is_not_taken(runtime_db):
    slots, _ = _say({}, "check in", "check_in")
    slots, said = _say(slots, "eleven out of ten... no, 11", "inform_rating")
    assert responses(said) == ["utter_rating_invalid"] and slots["checkin_mood"] is None
    slots, _ = _say(slots, "slept well", "inform_sleep")  # not a number: the form rejects it
    assert slots.get("checkin_mood") is None


def test_a_stopped_check_in_keeps_what_was_answered(runtime_db, dispatcher):
    slots = _checkin(runtime_db, [("6", "inform_rating", None)])
    run(ActionStopCheckin(), make_tracker(SENDER, "stop", "stop", slots=slots), dispatcher)
    [row] = _rows(runtime_db)
    assert (row.mood, row.anxiety, row.sleep) == (6, None, None)
