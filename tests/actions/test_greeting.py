"""action_greet: the patient's name, a journaling offer for their phase, and a refusal for strangers."""
from datetime import timedelta

from rasa_sdk.events import SlotSet
from sqlalchemy import delete, select

from actions.greeting import ActionGreet
from bot.storage.models import InfusionSession, Patient, utcnow
from tests.actions.conftest import DOMAIN, make_tracker


def test_greets_an_enrolled_patient_by_name(runtime_db, dispatcher):
    events = ActionGreet().run(dispatcher, make_tracker("demo-ava"), DOMAIN)
    assert dispatcher.messages[0]["response"].startswith("utter_greet_")
    assert dispatcher.messages[0]["name"] == "Ava"
    assert SlotSet("crisis_resource_set", "us") in events


def test_the_greeting_offers_journaling_for_the_patients_phase(runtime_db, dispatcher):
    with runtime_db.begin() as session:
        patient = session.scalar(select(Patient).where(Patient.sender_id == "demo-jonah"))
        session.execute(delete(InfusionSession).where(InfusionSession.patient_id == patient.id))
        session.add(InfusionSession(patient_id=patient.id, occurred_at=utcnow() - timedelta(days=2), route="IM"))
    events = ActionGreet().run(dispatcher, make_tracker("demo-jonah"), DOMAIN)
    assert [m["response"] for m in dispatcher.messages] == ["utter_greet_days_after"]
    assert SlotSet("journal_phase", "days_after") in events


def test_a_stranger_is_told_the_assistant_is_for_patients(runtime_db, dispatcher):
    events = ActionGreet().run(dispatcher, make_tracker("not-a-patient"), DOMAIN)
    assert [m["response"] for m in dispatcher.messages] == ["utter_not_enrolled"]
    assert events == []


def test_the_day_after_an_infusion_the_greeting_offers_a_check_in_first(runtime_db, dispatcher):
    with runtime_db.begin() as session:
        patient = session.scalar(select(Patient).where(Patient.sender_id == "demo-jonah"))
        session.execute(delete(InfusionSession).where(InfusionSession.patient_id == patient.id))
        session.add(InfusionSession(patient_id=patient.id, occurred_at=utcnow() - timedelta(days=1), route="IM"))
    events = ActionGreet().run(dispatcher, make_tracker("demo-jonah"), DOMAIN)
    assert [m["response"] for m in dispatcher.messages] == ["utter_greet_day_after"]
    assert SlotSet("journal_phase", "days_after") in events
    payloads = [b["payload"] for b in DOMAIN["responses"]["utter_greet_day_after"][0]["buttons"]]
    assert payloads[0] == "/check_in" and "/start_journal" in payloads


def test_a_cancelled_infusion_does_not_count(runtime_db, dispatcher):
    with runtime_db.begin() as session:
        patient = session.scalar(select(Patient).where(Patient.sender_id == "demo-jonah"))
        session.execute(delete(InfusionSession).where(InfusionSession.patient_id == patient.id))
        session.add(InfusionSession(patient_id=patient.id, occurred_at=utcnow() - timedelta(days=1), route="IM",
                                    status="cancelled"))
    ActionGreet().run(dispatcher, make_tracker("demo-jonah"), DOMAIN)
    assert dispatcher.messages[0]["response"] != "utter_greet_day_after"
