"""The treatment course: infusions and integration sessions, and the clinic's day.

Times are entered in the patient's own time zone and stored in UTC. The phase
logic (`bot.conversation.journal.phase_for`) reads these rows: the last
infusion that was not cancelled, and the next scheduled integration session.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Optional
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.clinic.access import patient_clause
from bot.conversation.journal import next_integration_at
from bot.storage import audit
from bot.storage.models import (
    COURSE_STATUSES, ROUTES, Clinician, CrisisAlert, InfusionSession, IntegrationSession, MoodCheckin,
    Patient,
)

MAX_DOSE_MG = Decimal("2000")
MAX_NOTES_CHARS = 2000
# How far from today a course item may be entered: beyond it is a typing mistake.
MAX_YEARS_AWAY = 5


class ScheduleError(ValueError):
    """A course item that cannot be written; the message is one line for the user."""


def local_to_utc(day: str, clock: str, zone_name: str, today: Optional[date] = None) -> datetime:
    """`day` (YYYY-MM-DD) and `clock` (HH:MM) in the zone, as an aware UTC datetime."""
    try:
        when = datetime.combine(date.fromisoformat((day or "").strip()), time.fromisoformat((clock or "").strip()))
    except ValueError:
        raise ScheduleError("give the date as YYYY-MM-DD and the time as HH:MM") from None
    today = today or datetime.now(timezone.utc).date()
    if abs(when.date().year - today.year) > MAX_YEARS_AWAY:
        raise ScheduleError(f"the date must be within {MAX_YEARS_AWAY} years of today")
    return when.replace(tzinfo=ZoneInfo(zone_name)).astimezone(timezone.utc)


def local_text_to_utc(text: str, zone_name: str) -> datetime:
    """"YYYY-MM-DD HH:MM" (or with a T) in the zone, as an aware UTC datetime."""
    day, _, clock = (text or "").strip().replace("T", " ").partition(" ")
    return local_to_utc(day, clock.strip(), zone_name)


def check_dose(raw: object) -> Optional[Decimal]:
    """An optional dose in mg: blank, or a number above 0 and at most 2000."""
    text = str(raw if raw is not None else "").strip()
    if not text:
        return None
    try:
        dose = Decimal(text)
    except InvalidOperation:
        raise ScheduleError("the dose must be a number of mg, like 35 or 52.5") from None
    if not dose.is_finite() or dose <= 0 or dose > MAX_DOSE_MG:
        raise ScheduleError(f"the dose must be above 0 and at most {MAX_DOSE_MG} mg")
    return dose.quantize(Decimal("0.01"))


def add_infusion(session: Session, patient: Patient, at: datetime, route: str, by: Optional[Clinician], *,
                 status: str = "scheduled", dose_mg: object = None, notes: str = "") -> InfusionSession:
    """Record an infusion for the patient."""
    if route not in ROUTES:
        raise ScheduleError(f"the route must be one of {', '.join(ROUTES)}")
    infusion = InfusionSession(patient_id=patient.id, occurred_at=at, route=route,
                               status=_status(status), dose_mg=check_dose(dose_mg), notes=_notes(notes))
    session.add(infusion)
    session.flush()
    _audit(session, "infusion.added", "infusion", infusion.id, patient, by,
           {"route": route, "status": infusion.status})
    return infusion


def add_integration_session(session: Session, patient: Patient, at: datetime, by: Optional[Clinician], *,
                            status: str = "scheduled", notes: str = "") -> IntegrationSession:
    """Book an integration session for the patient."""
    row = IntegrationSession(patient_id=patient.id, scheduled_at=at, status=_status(status), notes=_notes(notes))
    session.add(row)
    session.flush()
    _audit(session, "integration_session.added", "integration_session", row.id, patient, by,
           {"status": row.status})
    return row


def set_item_status(session: Session, item, patient: Patient, status: str, by: Clinician) -> None:
    """Mark an infusion or integration session scheduled, completed or cancelled."""
    status = _status(status)
    if item.status == status:
        return
    previous, item.status = item.status, status
    kind = "infusion" if isinstance(item, InfusionSession) else "integration_session"
    _audit(session, f"{kind}.status_changed", kind, item.id, patient, by, {"from": previous, "to": status})


def course(session: Session, patient_id: int) -> tuple[list[InfusionSession], list[IntegrationSession]]:
    """The patient's infusions and integration sessions, newest first."""
    infusions = session.scalars(select(InfusionSession).where(InfusionSession.patient_id == patient_id)
                                .order_by(InfusionSession.occurred_at.desc(), InfusionSession.id.desc())).all()
    sessions = session.scalars(select(IntegrationSession).where(IntegrationSession.patient_id == patient_id)
                               .order_by(IntegrationSession.scheduled_at.desc(),
                                         IntegrationSession.id.desc())).all()
    return list(infusions), list(sessions)


@dataclass
class AgendaItem:
    """One infusion or integration session on the clinic's day, with what the staff should know."""

    kind: str
    at: datetime
    patient: Patient
    status: str
    route: str = ""
    open_alerts: int = 0
    worst_open_level: str = ""
    latest_checkin: Optional[MoodCheckin] = None
    notes: list[str] = field(default_factory=list)


def today(session: Session, clinician: Clinician, zone_name: str, now: Optional[datetime] = None) -> list[AgendaItem]:
    """Today's infusions and integration sessions (in the clinic's zone) of the patients `clinician` sees."""
    now = now or datetime.now(timezone.utc)
    zone = ZoneInfo(zone_name)
    start = datetime.combine(now.astimezone(zone).date(), time()).replace(tzinfo=zone)
    end = start + timedelta(days=1)
    start_utc, end_utc = start.astimezone(timezone.utc), end.astimezone(timezone.utc)
    visible = patient_clause(clinician)
    items: list[AgendaItem] = []
    for infusion, patient in session.execute(
        select(InfusionSession, Patient).join(Patient, InfusionSession.patient_id == Patient.id)
        .where(visible, InfusionSession.occurred_at >= start_utc, InfusionSession.occurred_at < end_utc)
    ).all():
        items.append(AgendaItem("infusion", infusion.occurred_at, patient, infusion.status, infusion.route))
    for row, patient in session.execute(
        select(IntegrationSession, Patient).join(Patient, IntegrationSession.patient_id == Patient.id)
        .where(visible, IntegrationSession.scheduled_at >= start_utc, IntegrationSession.scheduled_at < end_utc)
    ).all():
        items.append(AgendaItem("integration", row.scheduled_at, patient, row.status))
    _add_alerts_and_checkins(session, items)
    return sorted(items, key=lambda item: (item.at, item.patient.display_name))


def _add_alerts_and_checkins(session: Session, items: list[AgendaItem]) -> None:
    ids = {item.patient.id for item in items}
    if not ids:
        return
    alerts: dict[int, list[str]] = {}
    for patient_id, level in session.execute(
        select(CrisisAlert.patient_id, CrisisAlert.level)
        .where(CrisisAlert.patient_id.in_(ids), CrisisAlert.status != "resolved")
    ).all():
        alerts.setdefault(patient_id, []).append(level)
    latest = {}
    newest = (select(MoodCheckin.patient_id, func.max(MoodCheckin.id).label("id"))
              .where(MoodCheckin.patient_id.in_(ids)).group_by(MoodCheckin.patient_id).subquery())
    for checkin in session.scalars(select(MoodCheckin).join(newest, MoodCheckin.id == newest.c.id)).all():
        latest[checkin.patient_id] = checkin
    order = {"review": 1, "urgent": 2, "emergency": 3}
    for item in items:
        levels = alerts.get(item.patient.id, [])
        item.open_alerts = len(levels)
        item.worst_open_level = max(levels, key=lambda level: order.get(level, 0)) if levels else ""
        item.latest_checkin = latest.get(item.patient.id)


def _status(status: str) -> str:
    if status not in COURSE_STATUSES:
        raise ScheduleError(f"the status must be one of {', '.join(COURSE_STATUSES)}")
    return status


def _notes(notes: Optional[str]) -> Optional[str]:
    text = (notes or "").strip()
    if len(text) > MAX_NOTES_CHARS:
        raise ScheduleError(f"notes can have at most {MAX_NOTES_CHARS} characters")
    return text or None


def _audit(session: Session, action: str, object_type: str, object_id: int, patient: Patient,
           by: Optional[Clinician], detail: dict) -> None:
    audit.record(session, action, object_type, object_id, patient_id=patient.id,
                 actor_type="clinician" if by is not None else "system",
                 actor_id=by.id if by is not None else None, detail=detail)


def upcoming(session: Session, patient_id: int, now: Optional[datetime] = None
             ) -> tuple[Optional[datetime], Optional[datetime]]:
    """The patient's next scheduled integration session and next scheduled infusion."""
    now = now or datetime.now(timezone.utc)
    next_session = next_integration_at(session, patient_id, now)
    next_infusion = session.scalar(
        select(func.min(InfusionSession.occurred_at)).where(
            InfusionSession.patient_id == patient_id, InfusionSession.status == "scheduled",
            InfusionSession.occurred_at >= now))
    return next_session, next_infusion
