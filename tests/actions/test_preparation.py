"""The preparation actions: the greeting before an infusion, setting an intention, the checklist."""
from datetime import timedelta

from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import delete, select

import actions.preparation
from actions.greeting import ActionGreet
from actions.preparation import (
    ActionAskChecklistAnswer, ActionAskIntentionAnswer, ActionChecklistDone, ActionSaveIntention,
    ActionShowIntention, ActionStartChecklist, ActionStartIntention, ValidateChecklistForm, ValidateIntentionForm,
)
from bot.conversation.questionnaire import QuestionnaireSnapshot, apply_questionnaire
from bot.storage.models import Clinic, InfusionSession, Intention, Patient, PreparationAnswer, utcnow
from tests.actions.conftest import DOMAIN, make_tracker, responses, run, slots_of
from tests.servers import wait_for


def _schedule(runtime_db, sender="demo-jonah", hours=30.0, clear=True) -> int:
    with runtime_db.begin() as session:
        patient = session.scalar(select(Patient).where(Patient.sender_id == sender))
        if clear:
            session.execute(delete(InfusionSession).where(InfusionSession.patient_id == patient.id))
        row = InfusionSession(patient_id=patient.id, occurred_at=utcnow() + timedelta(hours=hours), route="IV",
                              status="scheduled")
        session.add(row)
        session.flush()
        return row.id


def test_an_infusion_within_72_hours_makes_the_greeting_offer_preparation(runtime_db, dispatcher):
    _schedule(runtime_db, hours=30)
    ActionGreet().run(dispatcher, make_tracker("demo-jonah"), DOMAIN)
    message = dispatcher.messages[0]
    assert message["response"] == "utter_greet_preparation"
    assert message["when"].startswith(("tomorrow at", "on "))
    payloads = [b["payload"] for b in DOMAIN["responses"]["utter_greet_preparation"][0]["buttons"]]
    assert payloads[:2] == ["/set_intention", "/start_checklist"]


def test_further_ahead_the_journaling_phase_decides_the_greeting(runtime_db, dispatcher):
    _schedule(runtime_db, hours=80)  # Jonah's integration session is in 20 hours
    ActionGreet().run(dispatcher, make_tracker("demo-jonah"), DOMAIN)
    assert dispatcher.messages[0]["response"] == "utter_greet_before_session"


def test_the_day_of_an_infusion_keeps_the_same_day_greeting_even_with_the_next_one_near(runtime_db, dispatcher):
    _schedule(runtime_db, hours=-0.02)  # a minute ago: the same day in any zone but at midnight
    _schedule(runtime_db, hours=48, clear=False)
    ActionGreet().run(dispatcher, make_tracker("demo-jonah"), DOMAIN)
    assert dispatcher.messages[0]["response"] == "utter_greet_same_day"


def test_the_greeting_adds_the_questionnaire_the_clinic_wants_now(runtime_db, dispatcher):
    _schedule(runtime_db, hours=30)
    ActionGreet().run(dispatcher, make_tracker("demo-jonah"), DOMAIN)
    assert dispatcher.messages[0]["buttons"] == [
        {"title": "Depression questionnaire (PHQ-9)", "payload": '/start_questionnaire{"instrument": "phq9"}'}]
    with runtime_db.begin() as session:  # a PHQ-9 done today: the GAD-7 is the one due weekly
        apply_questionnaire(session, QuestionnaireSnapshot(
            "done", "demo-jonah", "phq9", {f"phq9_{n}": 0 for n in range(1, 10)}, utcnow().isoformat()))
    again = CollectingDispatcher()
    ActionGreet().run(again, make_tracker("demo-jonah"), DOMAIN)
    assert [b["payload"] for b in again.messages[0]["buttons"]] == ['/start_questionnaire{"instrument": "gad7"}']
    with runtime_db.begin() as session:
        session.scalar(select(Clinic)).questionnaire_offers = {"phq9": [], "gad7": []}
    none = CollectingDispatcher()
    ActionGreet().run(none, make_tracker("demo-jonah"), DOMAIN)
    assert none.messages[0]["buttons"] == []


def _intention_tracker(text, answers, intent="share_experience", **slots):
    return make_tracker("demo-jonah", text, intent, form="intention_form",
                        slots={"requested_slot": "intention_answer", "intention_answers": answers,
                               "intention_key": "k-jonah", **slots})


async def _extract(validator, tracker, dispatcher, slot):
    return await getattr(validator, f"extract_{slot}")(dispatcher, tracker, DOMAIN)


def _reply(tracker, dispatcher=None):
    """The intention form's extraction then validation of one message, as the action server runs them."""
    import asyncio
    validator, dispatcher = ValidateIntentionForm(), dispatcher or CollectingDispatcher()
    extracted = asyncio.run(_extract(validator, tracker, dispatcher, "intention_answer"))
    return validator.validate_intention_answer(extracted["intention_answer"], dispatcher, tracker, DOMAIN)


def test_setting_an_intention_step_by_step_then_storing_it(runtime_db, dispatcher):
    infusion = _schedule(runtime_db, hours=30)
    started = run(ActionStartIntention(), make_tracker("demo-jonah", "/set_intention", "set_intention"), dispatcher)
    assert responses(dispatcher) == ["utter_intention_intro_again"]
    assert "reaching out to my brother" in dispatcher.messages[0]["intention"]
    assert slots_of(started)["intention_infusion_id"] == infusion

    answers = {}
    steps = [("how scared i am", "on_mind"), ("/skip_prompt", "different"),
             ("to stop hiding from my brother", "intention")]
    for text, step in steps:
        asked = CollectingDispatcher()
        run(ActionAskIntentionAnswer(), _intention_tracker("", answers), asked)
        intent = "skip_prompt" if text.startswith("/") else "share_experience"
        answers = _reply(_intention_tracker(text, answers, intent))["intention_answers"]
        assert step in answers
    assert answers == {"on_mind": "how scared i am", "different": "", "intention": "to stop hiding from my brother"}

    confirm = CollectingDispatcher()
    run(ActionAskIntentionAnswer(), _intention_tracker("", answers), confirm)
    assert responses(confirm) == ["utter_intention_confirm"]
    assert confirm.messages[0]["intention"] == "to stop hiding from my brother"
    done = _reply(_intention_tracker("/affirm", answers, "affirm"))
    assert done["intention_answer"] == "done"

    saved = CollectingDispatcher()
    events = run(ActionSaveIntention(), _intention_tracker("", done["intention_answers"],
                                                            intention_infusion_id=infusion), saved)
    assert responses(saved) == ["utter_intention_saved", "utter_offer_checklist"]
    assert slots_of(events)["intention_answers"] is None

    def stored():
        with runtime_db() as session:
            return session.scalar(select(Intention).where(Intention.key == "k-jonah"))
    row = wait_for(stored)
    assert row.text == "to stop hiding from my brother" and row.infusion_id == infusion
    assert [r["answer"] for r in row.reflections] == ["how scared i am", ""]
    with runtime_db() as session:
        assert session.scalar(select(Patient.intention).where(Patient.sender_id == "demo-jonah")) == row.text
    shown = CollectingDispatcher()
    run(ActionShowIntention(), make_tracker("demo-jonah", "whats my intention", "show_intention"), shown)
    assert responses(shown) == ["utter_intention_current_and_earlier"]
    assert shown.messages[0]["intention"] == row.text and "brother" in shown.messages[0]["earlier"]


def test_let_me_rephrase_asks_for_the_sentence_again_and_an_empty_one_is_refused(runtime_db):
    answers = {"on_mind": "a", "different": "b", "intention": "to be braver"}
    dispatcher = CollectingDispatcher()
    result = _reply(_intention_tracker("/deny", answers, "deny"), dispatcher)
    assert result == {"intention_answer": None, "intention_answers": {"on_mind": "a", "different": "b"}}
    assert responses(dispatcher) == ["utter_intention_rephrase"]
    unclear = CollectingDispatcher()
    assert _reply(_intention_tracker("hmm", answers), unclear) == {"intention_answer": None}
    assert responses(unclear) == ["utter_intention_confirm_unclear"]
    refused = CollectingDispatcher()
    result = _reply(_intention_tracker("skip", result["intention_answers"]), refused)
    assert result == {"intention_answer": None} and responses(refused) == ["utter_intention_needed"]
    long = CollectingDispatcher()
    result = _reply(_intention_tracker("x " * 400, {"on_mind": "", "different": ""}), long)
    assert result == {"intention_answer": None} and responses(long) == ["utter_intention_too_long"]


def _checklist_tracker(text, slots, entities=None):
    return make_tracker("demo-jonah", text, "inform_readiness", form="checklist_form", entities=entities,
                        slots={"requested_slot": "checklist_answer", **slots})


def test_the_checklist_walks_each_item_and_stores_each_answer_at_once(runtime_db):
    import asyncio
    infusion = _schedule(runtime_db, hours=20)
    started = CollectingDispatcher()
    slots = slots_of(run(ActionStartChecklist(), make_tracker("demo-jonah", "checklist", "start_checklist"), started))
    assert responses(started) == ["utter_checklist_intro"] and started.messages[0]["count"] == 5
    assert slots["checklist_open"] is True and slots["checklist_infusion_id"] == infusion
    typed = ["yes", "not yet", "yep sorted", "what?", "/inform_readiness", "ok"]
    entities = {4: [{"entity": "readiness", "value": "not_yet"}]}
    for index, text in enumerate(typed):
        asked = CollectingDispatcher()
        run(ActionAskChecklistAnswer(), _checklist_tracker("", slots), asked)
        assert asked.messages[0]["text"].startswith(f"{len(slots['checklist_answers']) + 1} of 5: ")
        assert [b["title"] for b in asked.messages[0]["buttons"]] == ["Ready", "Not yet"]
        tracker = _checklist_tracker(text, slots, entities.get(index))
        validator = ValidateChecklistForm()
        extracted = asyncio.run(_extract(validator, tracker, CollectingDispatcher(), "checklist_answer"))
        said = CollectingDispatcher()
        result = validator.validate_checklist_answer(extracted["checklist_answer"], said, tracker, DOMAIN)
        if text == "what?":
            assert result == {"checklist_answer": None} and responses(said) == ["utter_checklist_unclear"]
            continue
        slots.update(result)
    assert slots["checklist_answer"] == "done"
    assert slots["checklist_answers"] == {"fasting": "confirmed", "ride_home": "not_yet", "medicines": "confirmed",
                                          "no_alcohol": "not_yet", "comfort": "confirmed"}
    summary = CollectingDispatcher()
    run(ActionChecklistDone(), _checklist_tracker("", slots), summary)
    assert responses(summary) == ["utter_checklist_left"]
    assert summary.messages[0]["left"].count("•") == 2 and "drive" in summary.messages[0]["left"]

    def stored():
        with runtime_db() as session:
            rows = session.scalars(select(PreparationAnswer).where(PreparationAnswer.infusion_id == infusion)).all()
            return {row.item_id: row.status for row in rows} if len(rows) == 5 else None
    assert wait_for(stored) == slots["checklist_answers"]

    again = CollectingDispatcher()
    resumed = slots_of(run(ActionStartChecklist(), make_tracker("demo-jonah", "checklist", "start_checklist"), again))
    assert responses(again) == ["utter_checklist_resume"] and again.messages[0]["ready"] == 3
    assert [item["id"] for item in resumed["checklist_items"]] == ["ride_home", "no_alcohol"]


def test_without_a_booked_infusion_there_is_no_checklist(runtime_db, dispatcher):
    with runtime_db.begin() as session:
        session.execute(delete(InfusionSession))
    events = run(ActionStartChecklist(), make_tracker("demo-jonah", "checklist", "start_checklist"), dispatcher)
    assert responses(dispatcher) == ["utter_checklist_no_infusion"]
    assert slots_of(events)["checklist_open"] is False


def test_an_answer_that_cannot_be_written_does_not_stop_the_checklist(runtime_db, monkeypatch):
    class BrokenWriter:
        def write(self, record):
            raise OSError("disk full")

    monkeypatch.setattr(actions.preparation, "durable_writer", lambda: BrokenWriter())
    slots = {"checklist_infusion_id": 1, "checklist_answers": {},
             "checklist_items": [{"id": "fasting", "text": "x"}, {"id": "ride_home", "text": "y"}]}
    result = ValidateChecklistForm().validate_checklist_answer(
        "confirmed", CollectingDispatcher(), _checklist_tracker("yes", slots), DOMAIN)
    assert result == {"checklist_answer": None, "checklist_answers": {"fasting": "confirmed"}}


def test_a_clinic_setting_broken_outside_the_web_app_never_breaks_the_conversation(runtime_db, dispatcher):
    infusion = _schedule(runtime_db, hours=20)
    with runtime_db.begin() as session:
        clinic = session.scalar(select(Clinic))
        clinic.questionnaire_offers = {"phq9": "sometimes"}
        clinic.preparation_checklist = [{"id": "Not An Id", "text": ""}]
    ActionGreet().run(dispatcher, make_tracker("demo-jonah"), DOMAIN)
    assert dispatcher.messages[0]["response"] == "utter_greet_preparation" and dispatcher.messages[0]["buttons"] == []
    started = CollectingDispatcher()
    slots = slots_of(run(ActionStartChecklist(), make_tracker("demo-jonah", "checklist", "start_checklist"), started))
    assert slots["checklist_infusion_id"] == infusion and slots["checklist_items"][0]["id"] == "fasting"
