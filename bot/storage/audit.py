"""The audit trail of the web app: who viewed or changed which patient's data, and when."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Optional

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from bot.storage.models import AuditEvent, Clinician, Patient, utcnow


def record(
    session: Session,
    action: str,
    object_type: str,
    object_id: object = None,
    *,
    actor_type: str,
    actor_id: Optional[int],
    patient_id: Optional[int] = None,
    detail: Optional[dict] = None,
    now: Optional[datetime] = None,
) -> AuditEvent:
    """Add one AuditEvent to the caller's transaction."""
    event = AuditEvent(
        occurred_at=now or utcnow(),
        actor_type=actor_type,
        actor_id=actor_id,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        patient_id=patient_id,
        detail=detail or {},
    )
    session.add(event)
    return event


@dataclass(frozen=True)
class AuditRow:
    """One event with the names a reader needs."""

    event: AuditEvent
    actor_name: str
    pseudonym: Optional[str]


@dataclass(frozen=True)
class AuditPage:
    """One page of the audit log."""

    rows: list[AuditRow]
    page: int
    pages: int
    total: int


def audit_page(
    session: Session,
    clinic_id: int,
    page: int = 1,
    per_page: int = 50,
    *,
    patient_id: Optional[int] = None,
    action_prefix: str = "",
) -> AuditPage:
    """A clinic's events, newest first: those about its patients or done by its staff."""
    actor = aliased(Clinician)
    patient_actor = aliased(Patient)
    query = (
        select(AuditEvent, actor.display_name, Patient.pseudonym, patient_actor.pseudonym)
        .outerjoin(Patient, AuditEvent.patient_id == Patient.id)
        .outerjoin(actor, and_(AuditEvent.actor_type == "clinician", AuditEvent.actor_id == actor.id))
        .outerjoin(patient_actor,
                   and_(AuditEvent.actor_type == "patient", AuditEvent.actor_id == patient_actor.id))
        .where(or_(Patient.clinic_id == clinic_id, actor.clinic_id == clinic_id))
    )
    if patient_id is not None:
        query = query.where(AuditEvent.patient_id == patient_id)
    if action_prefix:
        query = query.where(AuditEvent.action.startswith(action_prefix, autoescape=True))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    result = session.execute(
        query.order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
        .limit(per_page).offset((page - 1) * per_page)
    ).all()
    rows = [
        AuditRow(event, _actor_name(event, clinician_name, patient_actor_name), pseudonym)
        for event, clinician_name, pseudonym, patient_actor_name in result
    ]
    return AuditPage(rows, page, pages, total)


def _actor_name(event: AuditEvent, clinician_name: Optional[str], patient_name: Optional[str]) -> str:
    if event.actor_type == "clinician":
        return clinician_name or f"clinician {event.actor_id}"
    if event.actor_type == "patient":
        return f"patient {patient_name or event.actor_id}"
    return event.actor_type
