"""The on-call rota: who is on call for a clinic at a given moment.

Alerts are routed to whoever the rota names at the moment an alert is raised
or re-escalated. With no shift covering that moment, a clinician whose role is
`on_call` stands in; with none of those either, the clinic's admins are
reached instead (`policy.recipients` falls back to them).
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.storage.models import Clinician, OnCallShift

MAX_SHIFT_HOURS = 24 * 14


class RotaError(ValueError):
    """A shift that cannot be added; the message says why, in one line."""


def on_call_at(session: Session, clinic_id: int, moment: datetime) -> list[Clinician]:
    """The active clinicians on call for the clinic at `moment`, by the rota or by role."""
    on_shift = session.scalars(
        select(Clinician)
        .join(OnCallShift, OnCallShift.clinician_id == Clinician.id)
        .where(OnCallShift.clinic_id == clinic_id, OnCallShift.starts_at <= moment,
               OnCallShift.ends_at > moment, Clinician.is_active.is_(True))
        .order_by(OnCallShift.starts_at, Clinician.id)
    ).all()
    if on_shift:
        return list(dict.fromkeys(on_shift))
    return list(session.scalars(
        select(Clinician).where(Clinician.clinic_id == clinic_id, Clinician.role == "on_call",
                                Clinician.is_active.is_(True)).order_by(Clinician.id)
    ).all())


def add_shift(session: Session, clinic_id: int, clinician: Clinician, starts_at: datetime,
              ends_at: datetime, created_by: Optional[Clinician] = None) -> OnCallShift:
    """Put `clinician` on call from `starts_at` until `ends_at` (both timezone-aware)."""
    if clinician.clinic_id != clinic_id or not clinician.is_active:
        raise RotaError("only an active clinician of this clinic can be on call")
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise RotaError("a shift's start and end need a time zone")
    if ends_at <= starts_at:
        raise RotaError("a shift must end after it starts")
    if (ends_at - starts_at).total_seconds() > MAX_SHIFT_HOURS * 3600:
        raise RotaError(f"a shift can last at most {MAX_SHIFT_HOURS // 24} days")
    shift = OnCallShift(clinic_id=clinic_id, clinician_id=clinician.id, starts_at=starts_at,
                        ends_at=ends_at, created_by_id=created_by.id if created_by else None)
    session.add(shift)
    session.flush()
    return shift


def shifts(session: Session, clinic_id: int, ending_after: datetime, limit: int = 200) -> Sequence[OnCallShift]:
    """The clinic's shifts that end after `ending_after`, soonest first."""
    return session.scalars(
        select(OnCallShift).where(OnCallShift.clinic_id == clinic_id, OnCallShift.ends_at > ending_after)
        .order_by(OnCallShift.starts_at, OnCallShift.id).limit(limit)
    ).all()
