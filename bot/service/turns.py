"""Recording conversation turns and their safety assessments in the database."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import List, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.escalation.alerts import raise_alert
from bot.storage.models import ChatMessage, Patient, SafetyAssessment
from bot.storage.patients import find_patient_by_sender


def turn_record(
    sender_id: str,
    direction: str,
    text: str,
    external_id: str,
    *,
    timestamp: Optional[float] = None,
    intent: Optional[str] = None,
    safety: Optional[dict] = None,
) -> dict:
    """The spool record of one message, patient's or assistant's."""
    return {
        "kind": "turn",
        "sender_id": sender_id,
        "direction": direction,
        "text": text,
        "external_id": external_id,
        "timestamp": timestamp,
        "intent": intent,
        "safety": safety,
    }


def record_turn(session: Session, record: dict) -> Optional[ChatMessage]:
    """Store one turn and, for a patient's message, its SafetyAssessment.

    A sender who is not an enrolled patient is stored nowhere. A record seen
    before (same external id) is not stored twice.
    """
    patient = find_patient_by_sender(session, record["sender_id"])
    if patient is None:
        return None
    duplicate = session.scalar(
        select(ChatMessage.id).where(ChatMessage.external_id == record["external_id"])
    )
    if duplicate is not None:
        return None
    return _store(session, patient, record)


def record_turns(session: Session, records: List[dict]) -> int:
    """Store many turns in one transaction, as `record_turn` would one after another; how many were new.

    The senders and the turns already stored are looked up once for all of them.
    """
    senders = {record["sender_id"] for record in records if record["sender_id"]}
    patients = {patient.sender_id: patient for patient in session.scalars(
        select(Patient).where(Patient.sender_id.in_(senders), Patient.is_active.is_(True)))}
    seen = set(session.scalars(select(ChatMessage.external_id).where(
        ChatMessage.external_id.in_([record["external_id"] for record in records]))))
    stored = 0
    for record in records:
        patient = patients.get(record["sender_id"])
        if patient is None or record["external_id"] in seen:
            continue
        seen.add(record["external_id"])
        _store(session, patient, record)
        stored += 1
    return stored


def _store(session: Session, patient: Patient, record: dict) -> ChatMessage:
    created_at = _from_epoch(record.get("timestamp"))
    message = ChatMessage(
        patient_id=patient.id,
        external_id=record["external_id"],
        direction=record["direction"],
        text=record["text"],
        intent=record.get("intent"),
        created_at=created_at,
    )
    session.add(message)
    safety = record.get("safety")
    if record["direction"] == "patient" and safety is not None:
        session.flush()
        assessment = SafetyAssessment(
            patient_id=patient.id,
            chat_message_id=message.id,
            level=safety["level"],
            categories=list(safety["categories"]),
            findings=list(safety["findings"]),
            created_at=created_at,
        )
        session.add(assessment)
        raise_alert(session, assessment)  # same transaction: no crisis without its alert
    return message


def _from_epoch(timestamp: Optional[float]) -> datetime:
    if timestamp is None:
        return datetime.now(timezone.utc)
    return datetime.fromtimestamp(timestamp, tz=timezone.utc)
