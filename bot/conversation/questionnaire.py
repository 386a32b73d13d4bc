"""PHQ-9 and GAD-7 in the chat: one item at a time, resumable, scored when complete.

Every answer is written as a full snapshot of the run (through the durable
writer: to the database now, or spooled until it is back), so an interrupted
questionnaire carries on where it stopped and a retried write changes nothing.
An answer above 0 to a crisis item (PHQ-9 item 9) raises an `urgent`
suicidal-ideation alert in the same transaction, whatever the total; the
conversation starts the crisis protocol at once, without waiting for the write.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Mapping, Optional

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.conversation.snapshot import SpoolRecord
from bot.content.questionnaires import Instrument, questionnaires
from bot.escalation.alerts import raise_patient_alert
from bot.storage.models import QuestionnaireResponse, utcnow
from bot.storage.patients import find_patient_by_sender

CRISIS_LEVEL = "urgent"
CRISIS_CATEGORIES = ["suicidal_ideation"]


@dataclass(frozen=True)
class QuestionnaireSnapshot(SpoolRecord):
    """Everything known about one questionnaire run at one step."""

    KIND = "questionnaire"

    key: str
    sender_id: str
    instrument: str
    answers: dict = field(default_factory=dict)
    started_at: Optional[str] = None


def crisis_answer(instrument: Instrument, answers: Mapping[str, int]) -> bool:
    """True if a crisis item (PHQ-9 item 9) is answered above 0."""
    return any(int(answers.get(item, 0)) > 0 for item in instrument.crisis_items)


def apply_questionnaire(session: Session, snapshot: QuestionnaireSnapshot,
                        now: Optional[datetime] = None) -> QuestionnaireResponse:
    """Create or update the response for `snapshot.key`; raise the alert for a crisis answer once."""
    now = now or utcnow()
    instrument = questionnaires().get(snapshot.instrument)
    patient = find_patient_by_sender(session, snapshot.sender_id)
    if patient is None:
        raise LookupError("the questionnaire's sender is not an enrolled patient")
    known = {item.id for item in instrument.items}
    answers = {k: int(v) for k, v in snapshot.answers.items() if k in known and int(v) in (0, 1, 2, 3)}
    row = session.scalar(select(QuestionnaireResponse).where(QuestionnaireResponse.key == snapshot.key))
    if row is None:
        row = QuestionnaireResponse(key=snapshot.key, patient_id=patient.id, instrument=instrument.id,
                                    answers={}, status="in_progress",
                                    started_at=datetime.fromisoformat(snapshot.started_at)
                                    if snapshot.started_at else now)
        session.add(row)
    elif row.patient_id != patient.id or row.instrument != instrument.id:
        raise LookupError("questionnaire key belongs to another patient or instrument")
    merged = {**answers, **(row.answers or {})}  # a stored answer is never changed
    row.answers = merged
    row.updated_at = now
    if row.crisis_at is None and crisis_answer(instrument, merged):
        row.crisis_at = now
        raise_patient_alert(session, patient.id, CRISIS_LEVEL, CRISIS_CATEGORIES, now)
    if row.status == "in_progress" and instrument.next_item(merged) is None:
        row.score = instrument.score(merged)
        row.band = instrument.band(row.score)
        row.status = "completed"
        row.completed_at = now
    session.flush()
    return row


def in_progress(session: Session, sender_id: str, instrument_id: str) -> Optional[QuestionnaireResponse]:
    """The patient's unfinished run of this instrument, newest first, to carry on with."""
    patient = find_patient_by_sender(session, sender_id)
    if patient is None:
        return None
    return session.scalar(
        select(QuestionnaireResponse).where(
            QuestionnaireResponse.patient_id == patient.id, QuestionnaireResponse.instrument == instrument_id,
            QuestionnaireResponse.status == "in_progress")
        .order_by(QuestionnaireResponse.started_at.desc()).limit(1))


def completed(session: Session, patient_id: int) -> list[QuestionnaireResponse]:
    """The patient's completed questionnaires, oldest first."""
    return list(session.scalars(
        select(QuestionnaireResponse).where(QuestionnaireResponse.patient_id == patient_id,
                                            QuestionnaireResponse.status == "completed")
        .order_by(QuestionnaireResponse.completed_at, QuestionnaireResponse.id)).all())


def last_completed(session: Session, patient_id: int) -> dict[str, datetime]:
    """When the patient last completed each instrument."""
    return dict(session.execute(
        select(QuestionnaireResponse.instrument, func.max(QuestionnaireResponse.completed_at))
        .where(QuestionnaireResponse.patient_id == patient_id, QuestionnaireResponse.status == "completed")
        .group_by(QuestionnaireResponse.instrument)).all())
