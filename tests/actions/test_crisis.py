"""The crisis protocol: the clinic's resources at once, the C-SSRS screener to its end, the plan."""
import threading

import pytest
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select, update

from actions.crisis import ActionCrisisClose, ActionCrisisProtocol, ActionMedicalProtocol, ValidateCssrsForm
from bot.storage import runtime
from bot.conversation.screener import QUESTIONS
from bot.storage.models import Clinic, CrisisScreening, MoodCheckin, Patient, SafetyPlan
from tests.actions.conftest import make_tracker, responses, run, slots_of
from tests.helpers import free_port

URGENT = {"level": "urgent", "categories": ["suicidal_ideation"], "findings": []}
EMERGENCY = {"level": "emergency", "categories": ["suicidal_behavior"], "findings": []}
MEDICAL = {"level": "urgent", "categories": ["medical"], "findings": []}
NONE = {"level": "none", "categories": [], "findings": []}
OPENING = ["utter_crisis_opening", "utter_crisis_resources", "utter_crisis_therapist_notified"]


def _texts(dispatcher):
    return responses(dispatcher)


def _start(safety=URGENT, sender="demo-ava", slots=None):
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(sender, "...", "crisis", safety=safety, slots=slots)
    slots = {**(slots or {}), **slots_of(run(ActionCrisisProtocol(), tracker, dispatcher))}
    # Rasa then activates cssrs_form, whose validation picks the first question.
    activation = make_tracker(sender, "...", "crisis", safety=safety, slots=slots, form="cssrs_form")
    slots.update(slots_of(run(ValidateCssrsForm(), activation, CollectingDispatcher())))
    return slots, dispatcher


def _answer(slots, text, intent, safety=NONE, sender="demo-ava"):
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(sender, text, intent, safety=safety, slots=slots, form="cssrs_form")
    events = run(ValidateCssrsForm(), tracker, dispatcher)
    return {**slots, **slots_of(events)}, dispatcher


def _screening(sessions):
    with sessions() as session:
        return session.scalars(select(CrisisScreening).order_by(CrisisScreening.id)).all()


def test_the_protocol_opens_with_resources_and_the_care_team_then_the_screener(runtime_db, dispatcher):
    tracker = make_tracker(text="...", intent="crisis", safety=URGENT)
    events = run(ActionCrisisProtocol(), tracker, dispatcher)
    assert _texts(dispatcher) == OPENING + ["utter_cssrs_intro"]
    resources = dispatcher.messages[1]["resources"]
    assert "988" in resources and "741741" in resources
    slots = slots_of(events)
    assert slots["crisis_level"] == "urgent" and slots["crisis_screening_key"]
    # Any form in progress is left behind: its slots are cleared.
    assert slots["journal_entry_id"] is None and slots["grounding_exercise"] is None
    [screening] = _screening(runtime_db)
    assert (screening.status, screening.level, screening.answers) == ("in_progress", "urgent", {})


def test_a_south_african_clinic_gets_sadag_not_988(runtime_db, dispatcher):
    with runtime_db.begin() as session:
        session.execute(update(Clinic).values(country="ZA", crisis_resource_set="za"))
    run(ActionCrisisProtocol(), make_tracker(intent="crisis", safety=EMERGENCY), dispatcher)
    resources = dispatcher.messages[1]["resources"]
    assert "0800 567 567" in resources and "988" not in resources
    call_now = next(m for m in dispatcher.messages if m["response"] == "utter_crisis_emergency")
    assert call_now["emergency"] == "10111, or 112 from a mobile phone"


def test_crisis_resources_still_arrive_when_the_database_is_down(runtime_db, dispatcher, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"postgresql://kap@127.0.0.1:{free_port()}/kap")
    runtime.settings.cache_clear()
    runtime.session_factory.cache_clear()
    tracker = make_tracker(intent="crisis", safety=URGENT, slots={"crisis_resource_set": "gb"})
    run(ActionCrisisProtocol(), tracker, dispatcher)
    assert _texts(dispatcher)[:3] == OPENING
    assert "116 123" in dispatcher.messages[1]["resources"]


def test_an_emergency_says_call_now_and_asks_whether_the_patient_is_safe_first(runtime_db):
    slots, dispatcher = _start(EMERGENCY)
    assert _texts(dispatcher) == OPENING + ["utter_crisis_emergency", "utter_cssrs_intro"]
    assert dispatcher.messages[3]["emergency"] == "911"
    slots, said = _answer(slots, "no", "deny")
    assert slots["crisis_safe_now"] == "no"
    assert _texts(said) == ["utter_crisis_not_safe"] and said.messages[0]["emergency"] == "911"
    assert slots["requested_slot"] == "cssrs_q1"


def test_no_to_every_question_still_runs_the_screener_to_its_end(runtime_db):
    slots, _ = _start()
    slots, _ = _answer(slots, "no", "deny")
    assert slots["cssrs_q1"] == "no" and slots["requested_slot"] == "cssrs_q2"
    slots, _ = _answer(slots, "nope", "deny")
    # Q2 "no" skips Q3-Q5 (C-SSRS), but Q6 is still asked: one no does not close the path.
    assert slots["requested_slot"] == "cssrs_q6"
    slots, _ = _answer(slots, "no", "deny")
    assert slots["requested_slot"] is None  # now, and only now, the screener is complete
    [screening] = _screening(runtime_db)
    assert screening.answers == {"cssrs_q1": "no", "cssrs_q2": "no", "cssrs_q6": "no"}
    assert screening.level == "urgent"


def test_yes_to_thoughts_asks_about_method_intent_and_plan(runtime_db):
    slots, _ = _start()
    slots, _ = _answer(slots, "yes", "affirm")
    slots, _ = _answer(slots, "yes", "affirm")
    assert slots["requested_slot"] == "cssrs_q3"
    slots, _ = _answer(slots, "no", "deny")
    assert slots["requested_slot"] == "cssrs_q4"


@pytest.mark.parametrize("question", ["cssrs_q4", "cssrs_q5", "cssrs_q6_recent"])
def test_a_yes_to_q4_q5_or_recent_q6_is_recorded_as_emergency_and_says_call_now(runtime_db, question):
    slots, _ = _start()
    answers = {"cssrs_q1": "yes", "cssrs_q2": "yes", "cssrs_q3": "yes", "cssrs_q4": "no",
               "cssrs_q5": "no", "cssrs_q6": "yes"}
    earlier = {q: a for q, a in answers.items() if QUESTIONS.index(q) < QUESTIONS.index(question)}
    slots = {**slots, **earlier, "requested_slot": question}
    slots, said = _answer(slots, "yes", "affirm")
    assert slots[question] == "yes"
    assert "utter_crisis_emergency" in _texts(said)
    assert slots["crisis_level"] == "emergency"
    # At emergency level the screener asks whether the patient is safe right now.
    assert slots["requested_slot"] == "crisis_safe_now"
    assert _screening(runtime_db)[0].level == "emergency"


def test_a_crisis_message_while_answering_counts_as_yes(runtime_db):
    slots, _ = _start()
    slots, _ = _answer(slots, "every day i want to die", "crisis", safety=URGENT)
    assert slots["cssrs_q1"] == "yes"


def test_rather_not_say_is_kept_as_declined_not_as_no(runtime_db):
    slots, _ = _start()
    slots, _ = _answer(slots, "/skip_prompt", "skip_prompt")
    assert slots["cssrs_q1"] == "declined"


def test_the_calm_close_shows_the_patients_own_safety_plan(runtime_db, dispatcher):
    with runtime_db.begin() as session:
        patient = session.scalar(select(Patient).where(Patient.sender_id == "demo-ava"))
        session.add(SafetyPlan(clinic_id=patient.clinic_id, patient_id=patient.id,
                               internal_coping=["Listen to the lake recording"],
                               people_to_ask=["My sister Mia"], professionals=["Dr. Hale"]))
    slots, _ = _start()
    slots = {**slots, "cssrs_q1": "no", "cssrs_q2": "no", "cssrs_q6": "no"}
    run(ActionCrisisClose(), make_tracker(text="no", intent="deny", slots=slots), dispatcher)
    assert _texts(dispatcher) == ["utter_cssrs_thanks", "utter_crisis_safety_plan"]
    plan = dispatcher.messages[1]["plan"]
    assert "Listen to the lake recording" in plan and "My sister Mia" in plan
    assert "Ask someone you trust to hold medications" not in plan  # not the clinic default
    assert _screening(runtime_db)[0].status == "completed"


def test_stopping_the_screener_still_ends_with_the_clinic_default_plan(runtime_db, dispatcher):
    slots, _ = _start()
    slots = {**slots, "cssrs_q1": "declined"}
    run(ActionCrisisClose(), make_tracker(text="stop", intent="stop", slots=slots), dispatcher)
    assert _texts(dispatcher) == ["utter_cssrs_stopped", "utter_crisis_safety_plan"]
    assert "Ask someone you trust to hold medications" in dispatcher.messages[1]["plan"]
    [screening] = _screening(runtime_db)
    assert screening.status == "stopped" and screening.answers == {"cssrs_q1": "declined"}


def test_medical_red_flag_gets_the_clinic_medical_contact(runtime_db, dispatcher):
    run(ActionMedicalProtocol(), make_tracker(intent="medical_red_flag", safety=MEDICAL), dispatcher)
    assert _texts(dispatcher) == [
        "utter_medical_opening",
        "utter_medical_contact",
        "utter_medical_team_notified",
    ]
    with runtime_db() as session:
        contact = session.scalar(select(Clinic.medical_contact))
    assert dispatcher.messages[1]["contact"] == contact


def test_a_medical_emergency_says_call_now_and_leaves_the_screener_running(runtime_db, dispatcher):
    slots = {"cssrs_q1": "yes", "crisis_level": "urgent"}
    medical = {"level": "emergency", "categories": ["medical"], "findings": []}
    events = run(ActionMedicalProtocol(), make_tracker(intent="medical_red_flag", safety=medical, slots=slots), dispatcher)
    assert "utter_medical_emergency" in _texts(dispatcher)
    assert not any(name.startswith("crisis") or "_sui" in name for name in _texts(dispatcher))
    assert "cssrs_q1" not in slots_of(events)


def _join_background_writes():
    for thread in threading.enumerate():
        if thread.name == "interrupted-checkin":
            thread.join(10)


@pytest.mark.parametrize("action, safety", [(ActionCrisisProtocol, URGENT), (ActionMedicalProtocol, MEDICAL)])
def test_a_check_in_interrupted_by_a_crisis_keeps_the_answers_given(runtime_db, dispatcher, action, safety):
    tracker = make_tracker(
        text="...", intent="crisis", safety=safety, slots={"checkin_mood": 2.0, "checkin_anxiety": 9.0}
    )
    events = run(action(), tracker, dispatcher)
    first = "utter_crisis_opening" if action is ActionCrisisProtocol else "utter_medical_opening"
    assert responses(dispatcher)[0] == first
    assert slots_of(events)["checkin_mood"] is None  # the form is left behind
    _join_background_writes()
    with runtime_db() as session:
        [checkin] = session.scalars(select(MoodCheckin)).all()
    assert (checkin.mood, checkin.anxiety, checkin.sleep) == (2, 9, None)


def test_a_crisis_outside_a_check_in_stores_no_check_in(runtime_db, dispatcher):
    run(ActionCrisisProtocol(), make_tracker(text="...", intent="crisis", safety=URGENT), dispatcher)
    _join_background_writes()
    with runtime_db() as session:
        assert session.scalars(select(MoodCheckin)).all() == []
