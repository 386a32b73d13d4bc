"""Queries about patients. Every function takes the caller's Session."""
from __future__ import annotations

from typing import Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.storage.models import Clinic, Patient


def find_patient_by_sender(session: Session, sender_id: str) -> Optional[Patient]:
    """The active patient whose chat sender id is `sender_id`, if enrolled."""
    if not sender_id:
        return None
    return session.scalar(
        select(Patient).where(Patient.sender_id == sender_id, Patient.is_active.is_(True))
    )


def clinic_of(session: Session, patient: Patient) -> Clinic:
    """The clinic a patient belongs to."""
    return session.get(Clinic, patient.clinic_id)
