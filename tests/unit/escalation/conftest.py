"""Fixtures for alert tests: real SMTP and HTTP receivers, settings that point at
them, and helpers that write crisis turns the way the Rasa process does."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Optional

import pytest
from sqlalchemy import select

from bot.storage import runtime
from bot.storage.models import Clinician, CrisisAlert, Patient, SafetyAssessment, utcnow
from bot.service.turns import record_turn, turn_record
from tests.helpers import make_settings
from tests.unit.escalation.harness import HookReceiver, Mailbox

WEBHOOK_SECRET = "whsec-test-only"
SECRET_KEY = "ack-links-test-key"
BASE_URL = "https://kap.example"
THERAPIST = "rowan.hale@cedargrove.example"
ON_CALL = "oncall@cedargrove.example"
ADMIN = "admin@cedargrove.example"
MEDICAL = "nurses@cedargrove.example"


@pytest.fixture(autouse=True)
def episode_window(monkeypatch):
    """record_turn reads the episode window from the process settings: pin it to 60 min."""
    monkeypatch.setenv("ALERT_EPISODE_MINUTES", "60")
    runtime.settings.cache_clear()
    yield 60
    runtime.settings.cache_clear()


@pytest.fixture
def mailbox():
    """A running SMTP server."""
    box = Mailbox().start()
    yield box
    box.stop()


@pytest.fixture
def hooks():
    """A running webhook receiver."""
    receiver = HookReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def settings(tmp_path, mailbox, hooks):
    """Settings with both channels pointing at the test receivers (overrides the root fixture)."""
    return make_settings(
        tmp_path,
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(mailbox.port),
        SMTP_SENDER="kap-alerts@cedargrove.example",
        WEBHOOK_URL=hooks.url,
        WEBHOOK_SECRET=WEBHOOK_SECRET,
        SECRET_KEY=SECRET_KEY,
        PUBLIC_BASE_URL=BASE_URL,
        DELIVERY_BACKOFF_BASE_MS="1000",
        DELIVERY_BACKOFF_MAX_SECONDS="60",
    )


def crisis(sessions, sender: str = "demo-ava", level: str = "urgent",
           categories=("suicidal_ideation",), *, at: Optional[datetime] = None,
           text: str = "a crisis message") -> Optional[CrisisAlert]:
    """Record a patient's turn with this assessment; return the alert it is linked to."""
    external_id = uuid.uuid4().hex
    at = at or utcnow()
    record = turn_record(sender, "patient", text, external_id, timestamp=at.timestamp(),
                         intent="crisis",
                         safety={"level": level, "categories": list(categories), "findings": []})
    with sessions.begin() as session:
        message = record_turn(session, record)
        assessment = session.scalar(
            select(SafetyAssessment).where(SafetyAssessment.chat_message_id == message.id))
        if assessment.alert_id is None:
            return None
        return session.get(CrisisAlert, assessment.alert_id)


def add_patient(sessions, sender: str, pseudonym: str, therapist_email: str = THERAPIST) -> int:
    """Enrol one more fictional patient of the demo clinic."""
    with sessions.begin() as session:
        therapist = session.scalar(select(Clinician).where(Clinician.email == therapist_email))
        patient = Patient(clinic_id=therapist.clinic_id, therapist_id=therapist.id,
                          sender_id=sender, display_name=pseudonym, pseudonym=pseudonym)
        session.add(patient)
        session.flush()
        return patient.id


def reload(sessions, alert: CrisisAlert) -> CrisisAlert:
    """The alert as the database has it now."""
    with sessions() as session:
        return session.get(CrisisAlert, alert.id)
