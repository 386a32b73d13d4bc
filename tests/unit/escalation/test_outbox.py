"""The outbox: an alert is written with the assessment that caused it, one per episode."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.escalation.alerts import acknowledge, raise_alert
from bot.conversation.journal import save_entry, start_draft
from bot.storage.models import (
    AuditEvent, ChatMessage, Clinic, Clinician, CrisisAlert, Patient, SafetyAssessment, utcnow,
)
from bot.service.turns import record_turn, turn_record
from tests.unit.escalation.conftest import THERAPIST, add_patient, crisis, reload


def _count(sessions, model, *where):
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def _actions(sessions, alert):
    with sessions() as session:
        return list(session.scalars(
            select(AuditEvent.action).where(AuditEvent.object_id == alert.public_id)
            .order_by(AuditEvent.id)))


def test_an_urgent_turn_writes_its_alert_in_the_same_transaction(demo):
    t0 = utcnow()
    alert = crisis(demo, at=t0)
    assert alert.level == "urgent" and alert.categories == ["suicidal_ideation"]
    assert alert.status == "open" and alert.stage == "therapist" and alert.revision == 1
    assert alert.delivery_due_at is not None and alert.created_at == t0
    assert _actions(demo, alert) == ["alert.created"]


def test_a_failed_transaction_leaves_neither_assessment_nor_alert(demo):
    record = turn_record("demo-ava", "patient", "x", "boom", safety={
        "level": "emergency", "categories": ["suicidal_behavior"], "findings": []})
    with pytest.raises(RuntimeError):
        with demo.begin() as session:
            record_turn(session, record)
            assert session.scalar(select(func.count()).select_from(CrisisAlert)) == 1
            raise RuntimeError("the database went away before commit")
    assert _count(demo, SafetyAssessment) == 0 and _count(demo, CrisisAlert) == 0


@pytest.mark.parametrize("level", ["none", "review"])
def test_none_and_review_page_no_one(demo, level):
    assert crisis(demo, level=level, categories=[]) is None
    assert _count(demo, CrisisAlert) == 0


def test_repeated_crisis_messages_join_the_open_alert(demo):
    t0 = utcnow()
    first = crisis(demo, at=t0)
    second = crisis(demo, at=t0 + timedelta(minutes=20))
    third = crisis(demo, at=t0 + timedelta(minutes=75))  # 55 min after the second: same episode
    assert first.id == second.id == third.id
    alert = reload(demo, first)
    assert alert.revision == 1, "same level and categories: no new page"
    assert alert.last_activity_at == t0 + timedelta(minutes=75)
    assert _count(demo, SafetyAssessment, SafetyAssessment.alert_id == alert.id) == 3
    assert _actions(demo, alert) == ["alert.created", "alert.extended", "alert.extended"]


def test_a_worse_level_or_new_category_renotifies(demo):
    t0 = utcnow()
    alert = crisis(demo, at=t0)
    crisis(demo, level="emergency", categories=["suicidal_behavior"], at=t0 + timedelta(minutes=2))
    raised = reload(demo, alert)
    assert raised.level == "emergency" and raised.revision == 2
    assert raised.categories == ["suicidal_ideation", "suicidal_behavior"]
    crisis(demo, level="urgent", categories=["medical"], at=t0 + timedelta(minutes=3))
    widened = reload(demo, alert)
    assert widened.level == "emergency" and widened.revision == 3
    assert "medical" in widened.categories
    assert _actions(demo, alert) == ["alert.created", "alert.updated", "alert.updated"]


def test_after_the_episode_window_a_new_alert_opens(demo):
    t0 = utcnow()
    first = crisis(demo, at=t0)
    later = crisis(demo, at=t0 + timedelta(minutes=61))
    assert later.id != first.id


def test_the_episode_window_is_configurable(demo):
    with demo.begin() as session:
        patient = session.scalar(select(Patient).where(Patient.sender_id == "demo-ava"))
        t0 = utcnow()
        ids = []
        for minutes, window in ((0, 5), (4, 5), (10, 5), (11, 0)):
            message = ChatMessage(patient_id=patient.id, direction="patient", text="x",
                                  created_at=t0 + timedelta(minutes=minutes))
            session.add(message)
            session.flush()
            assessment = SafetyAssessment(patient_id=patient.id, chat_message_id=message.id,
                                          level="urgent", categories=["self_harm"], findings=[],
                                          created_at=message.created_at)
            session.add(assessment)
            ids.append(raise_alert(session, assessment, episode_minutes=window).id)
    assert ids[0] == ids[1] and len(set(ids)) == 3


def test_patients_never_share_an_alert(demo):
    add_patient(demo, "demo-extra", "P-EXT1")
    assert crisis(demo, "demo-ava").id != crisis(demo, "demo-extra").id


def test_a_worse_level_reopens_an_acknowledged_alert(demo):
    t0 = utcnow()
    alert = crisis(demo, at=t0)
    with demo.begin() as session:
        therapist = session.scalar(select(Clinician).where(Clinician.email == THERAPIST))
        assert acknowledge(session, session.get(CrisisAlert, alert.id), therapist, "called", t0)
    crisis(demo, at=t0 + timedelta(minutes=1))
    assert reload(demo, alert).status == "acknowledged", "the same level stays acknowledged"
    crisis(demo, level="emergency", categories=["suicidal_behavior"], at=t0 + timedelta(minutes=2))
    reopened = reload(demo, alert)
    assert reopened.status == "open" and reopened.acknowledged_by_id is None
    assert reopened.stage_started_at == t0 + timedelta(minutes=2)
    assert "alert.reopened" in _actions(demo, alert)


def test_a_journal_entry_in_crisis_writes_its_alert(demo):
    class Screen:
        def __call__(self, text):
            return self

        def to_dict(self):
            return {"level": "emergency", "categories": ["suicidal_behavior"], "findings": []}

    with demo.begin() as session:
        patient = session.scalar(select(Patient).where(Patient.sender_id == "demo-jonah"))
        entry, _prompt = start_draft(session, patient)
        entry.text = "journal words"
        assessment = save_entry(session, patient.id, entry.id, Screen())
        session.flush()
        alert_id = assessment.alert_id
    with demo() as session:
        alert = session.get(CrisisAlert, alert_id)
        assert alert.level == "emergency" and alert.patient_id == patient.id


def test_the_demo_clinic_has_a_medical_contact_email(demo):
    with demo() as session:
        assert session.scalar(select(Clinic.medical_contact_email)) == "nurses@cedargrove.example"


def test_a_cssrs_answer_that_raises_the_risk_raises_the_alert(settings, demo):
    from bot.conversation.screener import Q1, Q2, Q4, ScreeningSnapshot, YES, apply_screening

    alert = crisis(demo, level="urgent", categories=["suicidal_ideation"])
    assert alert.level == "urgent"
    answers = {Q1: YES, Q2: YES}
    snapshot = ScreeningSnapshot(key="run-1", sender_id="demo-ava", trigger_level="urgent", answers=answers)
    with demo.begin() as session:
        assert apply_screening(session, snapshot).level == "urgent"
    assert reload(demo, alert).level == "urgent", "no new risk, no change"

    snapshot = ScreeningSnapshot(key="run-1", sender_id="demo-ava", trigger_level="urgent",
                                 answers={**answers, Q4: YES})
    with demo.begin() as session:
        assert apply_screening(session, snapshot).level == "emergency"
    raised = reload(demo, alert)
    assert raised.level == "emergency" and raised.revision == 2, "re-sent at the worse level"
    with demo() as session:
        assert session.scalar(select(func.count()).select_from(CrisisAlert)) == 1
