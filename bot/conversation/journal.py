"""Journaling: choose a prompt, keep a draft at every step, save and screen."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.conversation.snapshot import SpoolRecord
from bot.content.prompts import RECENT_ENTRIES, Prompt, choose_prompt
from bot.escalation.alerts import raise_alert
from bot.course.phase import integration_phase
from bot.storage.models import (
    AuditEvent,
    InfusionSession,
    IntegrationSession,
    JournalEntry,
    Patient,
    SafetyAssessment,
    utcnow,
)
from bot.storage.patients import find_patient_by_sender


def last_infusion_at(session: Session, patient: Patient, now: datetime) -> Optional[datetime]:
    """When the last infusion that has taken place and was not cancelled began."""
    return session.scalar(
        select(InfusionSession.occurred_at)
        .where(
            InfusionSession.patient_id == patient.id,
            InfusionSession.status != "cancelled",
            InfusionSession.occurred_at <= now,
        )
        .order_by(InfusionSession.occurred_at.desc())
        .limit(1)
    )


def current_phase(session: Session, patient: Patient, now: Optional[datetime] = None) -> str:
    """The patient's journaling phase from their course.

    It reads the last infusion that has taken place and was not cancelled (one
    still marked scheduled counts once its time has passed: the clinic may not
    have updated it yet), and the next scheduled integration session.
    """
    now = now or utcnow()
    return integration_phase(now, last_infusion_at(session, patient, now),
                             next_integration_at(session, patient.id, now), patient.timezone)


def next_integration_at(session: Session, patient_id: int, now: datetime) -> Optional[datetime]:
    """When the patient's next scheduled integration session begins."""
    return session.scalar(
        select(IntegrationSession.scheduled_at)
        .where(
            IntegrationSession.patient_id == patient_id,
            IntegrationSession.status == "scheduled",
            IntegrationSession.scheduled_at >= now,
        )
        .order_by(IntegrationSession.scheduled_at)
        .limit(1)
    )


def recent_prompt_ids(session: Session, patient_id: int, limit: int = RECENT_ENTRIES) -> list[str]:
    """Prompt ids of the patient's last saved entries, newest first."""
    return list(
        session.scalars(
            select(JournalEntry.prompt_id)
            .where(
                JournalEntry.patient_id == patient_id,
                JournalEntry.status == "saved",
                JournalEntry.prompt_id.is_not(None),
            )
            .order_by(JournalEntry.created_at.desc(), JournalEntry.id.desc())
            .limit(limit)
        )
    )


def start_draft(
    session: Session, patient: Patient, skip: tuple[str, ...] = ()
) -> tuple[JournalEntry, Prompt]:
    """Open a draft entry with a prompt that fits the patient's phase."""
    phase = current_phase(session, patient)
    prompt = choose_prompt(phase, recent_prompt_ids(session, patient.id), patient.intention, skip)
    entry = JournalEntry(patient_id=patient.id, prompt_id=prompt.id, phase=phase, status="draft")
    session.add(entry)
    session.flush()
    return entry, prompt


def add_text(session: Session, patient_id: int, entry_id: int, text: str) -> JournalEntry:
    """Append a message to a draft; several messages are joined by new lines."""
    entry = _own_entry(session, patient_id, entry_id)
    entry.text = f"{entry.text}\n{text}" if entry.text else text
    return entry


def save_entry(
    session: Session,
    patient_id: int,
    entry_id: int,
    screen: Callable[[str], "object"],
) -> SafetyAssessment:
    """Mark an entry saved and store the safety screen's assessment of it."""
    entry = _own_entry(session, patient_id, entry_id)
    entry.status = "saved"
    assessment = screen(entry.text).to_dict()
    record = SafetyAssessment(
        patient_id=patient_id,
        journal_entry_id=entry.id,
        level=assessment["level"],
        categories=list(assessment["categories"]),
        findings=list(assessment["findings"]),
    )
    session.add(record)
    raise_alert(session, record)  # same transaction: no crisis without its alert
    return record


def _own_entry(session: Session, patient_id: int, entry_id: int) -> JournalEntry:
    entry = session.get(JournalEntry, entry_id)
    if entry is None or entry.patient_id != patient_id:
        raise LookupError(f"journal entry {entry_id} not found for this patient")
    return entry


# Each entry opened from the chat gets one audit event that names the key the
# conversation chose for it, so a step written later (from the spool, or after
# the database came back) finds the same entry.
OPENED = "journal_entry.opened"
KEY_LOOKBACK = 200


@dataclass(frozen=True)
class DraftSnapshot(SpoolRecord):
    """Everything known about one journal entry at one step of the conversation.

    The text only grows, the follow-up answer is set once and "saved" never
    goes back to "draft", so a snapshot applied twice, or after a newer one,
    changes nothing: steps can be written now or from the spool, in any order.
    """

    KIND = "journal"

    key: str
    sender_id: str
    phase: str
    prompt_id: Optional[str]
    opened_at: str
    text: str = ""
    follow_up: Optional[str] = None
    status: str = "draft"
    entry_id: Optional[int] = None


@dataclass(frozen=True)
class AppliedSnapshot:
    """What writing a snapshot did: the entry, and its assessment if it was just saved."""

    entry_id: int
    assessment: Optional[dict] = None


def apply_snapshot(
    session: Session, snapshot: DraftSnapshot, screen: Callable[[str], "object"]
) -> AppliedSnapshot:
    """Bring the entry of `snapshot` up to date, creating it (as a draft) if needed.

    A snapshot with status "saved" saves the entry through save_entry, which
    screens the text and stores the assessment with it.
    """
    patient = find_patient_by_sender(session, snapshot.sender_id)
    if patient is None:
        raise LookupError("the journal's sender is not an enrolled patient")
    entry = _entry_for(session, patient.id, snapshot)
    if entry is None:
        entry = JournalEntry(
            patient_id=patient.id,
            prompt_id=snapshot.prompt_id,
            phase=snapshot.phase,
            text="",
            status="draft",
            created_at=datetime.fromisoformat(snapshot.opened_at),
        )
        session.add(entry)
        session.flush()
        session.add(
            AuditEvent(
                actor_type="patient",
                actor_id=patient.id,
                action=OPENED,
                object_type="journal_entry",
                object_id=str(entry.id),
                patient_id=patient.id,
                detail={"key": snapshot.key, "prompt_id": snapshot.prompt_id},
            )
        )
    text = snapshot.text or ""
    if not (entry.text or "") and not text and snapshot.prompt_id != entry.prompt_id:
        entry.prompt_id = snapshot.prompt_id  # another prompt, asked for before writing
    if len(text) > len(entry.text or ""):
        entry.text = text
    if snapshot.follow_up and not entry.follow_up_text:
        entry.follow_up_text = snapshot.follow_up
    assessment = None
    if snapshot.status == "saved" and entry.status != "saved":
        session.flush()
        assessment = save_entry(session, patient.id, entry.id, screen)
        assessment = {"level": assessment.level, "categories": list(assessment.categories)}
    session.flush()
    return AppliedSnapshot(entry_id=entry.id, assessment=assessment)


def _entry_for(session: Session, patient_id: int, snapshot: DraftSnapshot) -> Optional[JournalEntry]:
    if snapshot.entry_id is not None:
        return _own_entry(session, patient_id, int(snapshot.entry_id))
    opened = session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.patient_id == patient_id,
            AuditEvent.action == OPENED,
            AuditEvent.object_type == "journal_entry",
        )
        .order_by(AuditEvent.id.desc())
        .limit(KEY_LOOKBACK)
    )
    for event in opened:
        if (event.detail or {}).get("key") == snapshot.key:
            return _own_entry(session, patient_id, int(event.object_id))
    return None
