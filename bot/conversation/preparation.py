"""Preparation before an infusion in the chat: the intention and the readiness checklist.

Both are written through the durable writer (to the database now, or spooled
until it is back) as snapshots with an idempotent handler: an intention under
its key is stored once, and a checklist answer keeps the newest answer for its
item and infusion.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Mapping, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.conversation.snapshot import SpoolRecord
from bot.content.preparation import CONFIRMED, ChecklistItem, checklist_from_stored, default_checklist
from bot.content.schema import ContentError
from bot.storage.models import Clinic, InfusionSession, Intention, Patient, PreparationAnswer, utcnow
from bot.storage.patients import find_patient_by_sender

logger = logging.getLogger(__name__)

MAX_INTENTION_CHARS = 500
# How far ahead the checklist can be walked for an infusion; the greeting offers
# preparation within bot.course.phase.PREPARATION_WINDOW.
CHECKLIST_HORIZON = timedelta(days=14)


@dataclass(frozen=True)
class IntentionSnapshot(SpoolRecord):
    """A confirmed intention, with the reflections that led to it."""

    KIND = "intention"

    key: str
    sender_id: str
    text: str
    reflections: list = field(default_factory=list)
    infusion_id: Optional[int] = None
    created_at: Optional[str] = None


@dataclass(frozen=True)
class PreparationSnapshot(SpoolRecord):
    """The patient's answer to one checklist item for one infusion."""

    KIND = "preparation"

    sender_id: str
    infusion_id: int
    item_id: str
    status: str
    answered_at: str


def _patient(session: Session, sender_id: str) -> Patient:
    patient = find_patient_by_sender(session, sender_id)
    if patient is None:
        raise LookupError("the sender is not an enrolled patient")
    return patient


def _own_infusion(session: Session, patient: Patient, infusion_id: Optional[int]) -> Optional[int]:
    if infusion_id is None:
        return None
    infusion = session.get(InfusionSession, int(infusion_id))
    return infusion.id if infusion is not None and infusion.patient_id == patient.id else None


def apply_intention(session: Session, snapshot: IntentionSnapshot) -> Intention:
    """Store the intention under its key once; it becomes the patient's current intention."""
    patient = _patient(session, snapshot.sender_id)
    row = session.scalar(select(Intention).where(Intention.key == snapshot.key))
    if row is not None:
        if row.patient_id != patient.id:
            raise LookupError("intention key belongs to another patient")
        return row
    text = " ".join(snapshot.text.split())[:MAX_INTENTION_CHARS]
    if not text:
        raise ValueError("an intention cannot be empty")
    created = datetime.fromisoformat(snapshot.created_at) if snapshot.created_at else utcnow()
    row = Intention(key=snapshot.key, patient_id=patient.id, text=text, source="chat",
                    reflections=[dict(r) for r in snapshot.reflections],
                    infusion_id=_own_infusion(session, patient, snapshot.infusion_id), created_at=created)
    session.add(row)
    newest = session.scalar(select(Intention.created_at).where(Intention.patient_id == patient.id)
                            .order_by(Intention.created_at.desc()).limit(1))
    if newest is None or created >= newest:
        patient.intention = text
    session.flush()
    return row


def apply_preparation(session: Session, snapshot: PreparationSnapshot) -> PreparationAnswer:
    """Keep the newest answer for the item and infusion; an older one arriving late changes nothing."""
    patient = _patient(session, snapshot.sender_id)
    infusion_id = _own_infusion(session, patient, snapshot.infusion_id)
    if infusion_id is None:
        raise LookupError("the checklist's infusion is not the patient's")
    answered = datetime.fromisoformat(snapshot.answered_at)
    row = session.scalar(select(PreparationAnswer).where(PreparationAnswer.infusion_id == infusion_id,
                                                         PreparationAnswer.item_id == snapshot.item_id))
    if row is None:
        row = PreparationAnswer(patient_id=patient.id, infusion_id=infusion_id, item_id=snapshot.item_id,
                                status=snapshot.status, answered_at=answered)
        session.add(row)
    elif answered >= row.answered_at:
        row.status, row.answered_at = snapshot.status, answered
    session.flush()
    return row


def next_infusion(session: Session, patient_id: int, now: Optional[datetime] = None,
                  horizon: timedelta = CHECKLIST_HORIZON) -> Optional[InfusionSession]:
    """The patient's next scheduled infusion within `horizon`."""
    now = now or utcnow()
    return session.scalar(
        select(InfusionSession).where(InfusionSession.patient_id == patient_id,
                                      InfusionSession.status == "scheduled",
                                      InfusionSession.occurred_at > now,
                                      InfusionSession.occurred_at <= now + horizon)
        .order_by(InfusionSession.occurred_at).limit(1))


def clinic_checklist(clinic: Clinic) -> tuple[ChecklistItem, ...]:
    """The clinic's checklist: its own if its admin edited one, the default otherwise.

    A stored list that fails the schema check (edited outside the web app) is
    logged and replaced by the default, so a patient is never left without one.
    """
    try:
        return checklist_from_stored(clinic.preparation_checklist)
    except ContentError as exc:
        logger.error("clinic %s has a malformed preparation checklist (%s); using the default", clinic.id, exc)
        return default_checklist()


def answers_for(session: Session, infusion_id: int) -> dict[str, str]:
    """The latest answer to each checklist item for one infusion."""
    return dict(session.execute(select(PreparationAnswer.item_id, PreparationAnswer.status)
                                .where(PreparationAnswer.infusion_id == infusion_id)).all())


def open_items(items: tuple[ChecklistItem, ...], answers: Mapping[str, str]) -> list[ChecklistItem]:
    """The items not confirmed yet (answered "not yet", or not answered)."""
    return [item for item in items if answers.get(item.id) != CONFIRMED]


def intention_history(session: Session, patient_id: int) -> list[Intention]:
    """Every intention the patient has set, newest first."""
    return list(session.scalars(select(Intention).where(Intention.patient_id == patient_id)
                                .order_by(Intention.created_at.desc(), Intention.id.desc())).all())


def intention_for(session: Session, infusion_id: int) -> Optional[Intention]:
    """The newest intention set for an infusion."""
    return session.scalar(select(Intention).where(Intention.infusion_id == infusion_id)
                          .order_by(Intention.created_at.desc()).limit(1))
