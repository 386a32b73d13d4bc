"""Journaling: choose a prompt, keep a draft at every step, save and screen."""
from __future__ import annotations

from datetime import datetime
from typing import Callable, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.content.prompts import RECENT_ENTRIES, Prompt, choose_prompt
from bot.phase import integration_phase
from bot.storage.models import (
    InfusionSession,
    JournalEntry,
    Patient,
    SafetyAssessment,
    utcnow,
)


def current_phase(session: Session, patient: Patient, now: Optional[datetime] = None) -> str:
    """The patient's journaling phase from their last completed infusion."""
    now = now or utcnow()
    last = session.scalar(
        select(InfusionSession.occurred_at)
        .where(
            InfusionSession.patient_id == patient.id,
            InfusionSession.completed.is_(True),
            InfusionSession.occurred_at <= now,
        )
        .order_by(InfusionSession.occurred_at.desc())
        .limit(1)
    )
    return integration_phase(now, last, patient.next_integration_at, patient.timezone)


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
    return record


def _own_entry(session: Session, patient_id: int, entry_id: int) -> JournalEntry:
    entry = session.get(JournalEntry, entry_id)
    if entry is None or entry.patient_id != patient_id:
        raise LookupError(f"journal entry {entry_id} not found for this patient")
    return entry
