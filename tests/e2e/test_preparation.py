"""Preparation over REST with the running assistant: a patient whose infusion is tomorrow is
offered preparation, sets an intention and walks the clinic's checklist; both are stored, and
what is left shows for the therapist."""
import json
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.clinic.enrolment import enrol_patient
from bot.clinic.preparation import preparation_gaps
from bot.safety.answers import AS_ANSWER
from bot.storage.models import (
    Clinic, Clinician, CrisisAlert, InfusionSession, Intention, Patient, PreparationAnswer, SafetyAssessment, utcnow,
)
from tests.servers import wait_for

pytestmark = pytest.mark.e2e


def _texts(replies):
    return " ".join(r.get("text") or "" for r in replies)


def _buttons(replies):
    return [b["title"] for r in replies for b in r.get("buttons") or []]


def _patient_with_infusion_tomorrow(servers, code):
    with servers.sessions.begin() as session:
        clinic = session.scalar(select(Clinic))
        therapist = session.scalar(select(Clinician).where(Clinician.role == "therapist"))
        patient = enrol_patient(session, clinic, display_name="Rowan", code=code, therapist_id=therapist.id)
        # Tomorrow at 10:00 on the patient's clock, whatever the hour of the run ("tomorrow" in the greeting).
        zone = ZoneInfo(patient.timezone)
        tomorrow = utcnow().astimezone(zone).date() + timedelta(days=1)
        infusion = InfusionSession(patient_id=patient.id, occurred_at=datetime.combine(tomorrow, time(10, 0), zone),
                                   route="IM", status="scheduled")
        session.add(infusion)
        session.flush()
        return patient.sender_id, patient.id, infusion.id


def test_an_infusion_tomorrow_brings_preparation_an_intention_and_the_checklist(servers):
    sender, patient_id, infusion_id = _patient_with_infusion_tomorrow(servers, "E2E-PREP")
    greeting = servers.say(sender, "hi")
    assert "Hi Rowan" in _texts(greeting) and "Your next ketamine session is tomorrow at" in _texts(greeting)
    assert _buttons(greeting)[:2] == ["Set my intention", "Go through the checklist"]
    assert "Depression questionnaire (PHQ-9)" in _buttons(greeting)  # before each infusion, by default

    assert "a couple of questions to reflect on first" in _texts(servers.say(sender, "/set_intention")).lower()
    servers.say(sender, "mostly the fear of letting go")
    assert "In one sentence, what would you like to explore or heal?" in _texts(
        servers.say(sender, "i would laugh more with my kids"))
    confirm = servers.say(sender, "to meet the fear instead of running from it")
    assert '"to meet the fear instead of running from it"' in _texts(confirm)
    assert _buttons(confirm) == ["Yes, keep it", "Let me rephrase"]
    saved = servers.say(sender, "yes")
    assert "Your intention is saved" in _texts(saved) and "go through the clinic's checklist" in _texts(saved)

    first = servers.say(sender, "/start_checklist")
    assert "5 things" in _texts(first) and "1 of 5: I know when to stop eating" in _texts(first)
    assert _buttons(first) == ["Ready", "Not yet"]
    servers.say(sender, "yes")
    assert "3 of 5" in _texts(servers.say(sender, "not yet, need to ask my sister"))
    servers.say(sender, '/inform_readiness{"readiness": "confirmed"}')
    servers.say(sender, "yep")
    summary = _texts(servers.say(sender, "👍"))
    assert "Still to sort out before your session" in summary and "Someone will take me home" in summary

    def stored():
        with servers.sessions() as session:
            answers = session.scalars(select(PreparationAnswer).where(
                PreparationAnswer.infusion_id == infusion_id)).all()
            intention = session.scalar(select(Intention).where(Intention.patient_id == patient_id))
            return (intention, {a.item_id: a.status for a in answers}) if len(answers) == 5 and intention else None
    intention, answers = wait_for(stored)
    assert intention.text == "to meet the fear instead of running from it" and intention.infusion_id == infusion_id
    assert [r["answer"] for r in intention.reflections] == ["mostly the fear of letting go",
                                                            "i would laugh more with my kids"]
    assert answers == {"fasting": "confirmed", "ride_home": "not_yet", "medicines": "confirmed",
                       "no_alcohol": "confirmed", "comfort": "confirmed"}
    with servers.sessions() as session:
        patient = session.get(Patient, patient_id)
        assert patient.intention == intention.text
        admin = session.scalar(select(Clinician).where(Clinician.role == "admin"))
        gaps = [g for g in preparation_gaps(session, admin, session.scalar(select(Clinic)))
                if g.patient.id == patient_id]
        assert [[i.id for i in g.not_yet] for g in gaps] == [["ride_home"]] and gaps[0].intention_set

    again = _texts(servers.say(sender, "what's my intention"))
    assert "to meet the fear instead of running from it" in again


def test_a_crisis_while_setting_an_intention_gets_the_crisis_lines_at_once(servers):
    sender, patient_id, _ = _patient_with_infusion_tomorrow(servers, "E2E-PREP2")
    servers.say(sender, "set my intention")
    crisis = _texts(servers.say(sender, "i dont want to be alive anymore, i have the pills here"))
    assert "988" in crisis
    with servers.sessions() as session:
        assert session.scalar(select(Intention).where(Intention.patient_id == patient_id)) is None


def test_a_typed_checklist_answer_is_read_as_an_answer_not_a_goodbye(servers):
    """"ive arranged it" answers "Someone will take me home ...": the checklist goes on and nobody is paged.

    On its own, with no question before it, the learned reader reads the same words as a goodbye.
    """
    from bot.safety import screen

    answer = "ive arranged it"
    assert screen(answer).is_crisis, "the reader no longer pages on these words alone; pick others"
    sender, patient_id, infusion_id = _patient_with_infusion_tomorrow(servers, "E2E-PREP3")
    servers.say(sender, "hi")
    assert "1 of 5" in _texts(servers.say(sender, "/start_checklist"))
    assert "2 of 5: Someone will take me home" in _texts(servers.say(sender, "ready"))
    reply = _texts(servers.say(sender, answer))
    assert "3 of 5" in reply and "988" not in reply

    def recorded():
        with servers.sessions() as session:
            answered = session.scalar(select(PreparationAnswer).where(
                PreparationAnswer.infusion_id == infusion_id, PreparationAnswer.item_id == "ride_home"))
            flagged = session.scalars(select(SafetyAssessment).where(
                SafetyAssessment.patient_id == patient_id, SafetyAssessment.level != "none")).all()
            return (answered, flagged) if answered is not None and flagged else None
    answered, flagged = wait_for(recorded)
    assert answered.status == "confirmed"
    assert [a.level for a in flagged] == ["review"]
    assert any(AS_ANSWER in f["modifiers"] for f in flagged[0].findings)
    with servers.sessions() as session:
        assert session.scalar(select(CrisisAlert).where(CrisisAlert.patient_id == patient_id)) is None
