"""Alert state, changed inside the caller's transaction.

`raise_alert` runs in the same transaction that stores a SafetyAssessment, so an
assessment at `urgent` or `emergency` never exists without its alert. Every
change of state is written as an AuditEvent in that same transaction.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Mapping, Optional

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.storage import audit
from bot.escalation import policy, rota
from bot.storage.models import (
    ChatMessage,
    Clinic,
    Clinician,
    CrisisAlert,
    JournalEntry,
    Patient,
    SafetyAssessment,
    utcnow,
)

logger = logging.getLogger(__name__)

MAX_TEXTS = 5
MAX_TEXT_CHARS = 2000


def raise_alert(
    session: Session,
    assessment: SafetyAssessment,
    *,
    now: Optional[datetime] = None,
    episode_minutes: Optional[int] = None,
) -> Optional[CrisisAlert]:
    """Open an alert for an `urgent` or `emergency` assessment, or add it to its episode.

    Returns the alert (and links the assessment to it), or None when the level
    pages no one.
    """
    if assessment.created_at is None:
        assessment.created_at = now or utcnow()
    alert = raise_patient_alert(
        session, assessment.patient_id, assessment.level, assessment.categories or [],
        assessment.created_at, now=now, episode_minutes=episode_minutes,
    )
    if alert is not None:
        assessment.alert_id = alert.id
    return alert


def raise_patient_alert(
    session: Session,
    patient_id: int,
    level: str,
    categories: list[str],
    at: datetime,
    *,
    now: Optional[datetime] = None,
    episode_minutes: Optional[int] = None,
) -> Optional[CrisisAlert]:
    """Open an alert for a patient at `level`, or add it to the open episode.

    Within the episode window the new risk joins the patient's alert: the
    alert takes the worse level and any new category, and is delivered again
    only if one of those changed. A worse level re-opens an acknowledged alert.
    Used directly when risk is found outside a screened message, such as a
    C-SSRS answer in the crisis protocol.
    """
    if not policy.needs_alert(level):
        return None
    now = now or utcnow()
    if episode_minutes is None:
        from bot.storage.runtime import settings

        episode_minutes = settings().alert_episode_minutes
    categories = list(dict.fromkeys(categories))

    # One patient's alerts change one at a time, across processes: the patient's row
    # is locked first, so two instances seeing a first crisis at once open one alert,
    # not two (PostgreSQL; SQLite already serialises writers).
    session.execute(select(Patient.id).where(Patient.id == patient_id).with_for_update())
    alert = session.scalar(
        select(CrisisAlert)
        .where(CrisisAlert.patient_id == patient_id, CrisisAlert.status != "resolved")
        .order_by(CrisisAlert.last_activity_at.desc(), CrisisAlert.id.desc())
        .limit(1)
        .with_for_update()
    )
    if alert is not None and policy.joins_episode(
        status=alert.status, last_activity_at=alert.last_activity_at, at=at,
        window_minutes=episode_minutes,
    ):
        _join(session, alert, level, categories, at, now)
    else:
        alert = CrisisAlert(
            patient_id=patient_id,
            level=level,
            categories=categories,
            status="open",
            stage="therapist",
            created_at=at,
            last_activity_at=at,
            stage_started_at=at,
            revision=1,
            delivery_due_at=now,
            delivery_attempts=0,
        )
        session.add(alert)
        session.flush()
        _audit(session, alert, "alert.created", now,
               {"level": alert.level, "categories": categories})
    session.flush()
    return alert


def _join(session: Session, alert: CrisisAlert, level: str,
          categories: list[str], at: datetime, now: datetime) -> None:
    change = policy.merge_into_episode(alert.level, alert.categories or [], level, categories)
    previous_level = alert.level
    alert.level = change.level
    alert.categories = list(change.categories)
    alert.last_activity_at = max(alert.last_activity_at, at)
    if change.level_raised and alert.status == "acknowledged":
        _audit(session, alert, "alert.reopened", now,
               {"level_from": previous_level, "level_to": change.level,
                "acknowledged_by_id": alert.acknowledged_by_id})
        alert.status = "open"
        alert.acknowledged_at = None
        alert.acknowledged_by_id = None
        alert.stage_started_at = at
    if change.renotify:
        alert.revision = alert.revision + 1
        alert.delivery_due_at = now
        alert.delivery_attempts = 0
        _audit(session, alert, "alert.updated", now,
               {"level_from": previous_level, "level_to": change.level,
                "added_categories": list(change.added_categories),
                "revision": alert.revision})
    else:
        _audit(session, alert, "alert.extended", now, {})


def acknowledge(
    session: Session,
    alert: CrisisAlert,
    clinician: Clinician,
    note: Optional[str],
    now: datetime,
) -> bool:
    """Acknowledge an open alert for `clinician`; False if it was no longer open.

    Stops re-escalation. Raises PermissionError for a clinician of another
    clinic or an inactive one.
    """
    _check_may_act(session, alert, clinician)
    if alert.status != "open":
        return False
    alert.status = "acknowledged"
    alert.acknowledged_at = now
    alert.acknowledged_by_id = clinician.id
    note = _add_note(alert, note)
    _audit(session, alert, "alert.acknowledged", now,
           {"stage": alert.stage, "note": bool(note)},
           actor_type="clinician", actor_id=clinician.id)
    return True


def resolve(
    session: Session,
    alert: CrisisAlert,
    clinician: Clinician,
    note: Optional[str],
    now: datetime,
) -> bool:
    """Resolve an alert; False if it was already resolved.

    An open alert is acknowledged first by the same clinician, so that the end
    of escalation is on record too. Pending deliveries stop: nobody is paged
    about an alert a clinician has already closed.
    """
    _check_may_act(session, alert, clinician)
    if alert.status == "resolved":
        return False
    if alert.status == "open":
        acknowledge(session, alert, clinician, None, now)
    alert.status = "resolved"
    alert.resolved_at = now
    alert.resolved_by_id = clinician.id
    alert.delivery_due_at = None
    alert.claimed_by = None
    alert.claimed_until = None
    note = _add_note(alert, note)
    _audit(session, alert, "alert.resolved", now, {"level": alert.level, "note": bool(note)},
           actor_type="clinician", actor_id=clinician.id)
    return True


def _add_note(alert: CrisisAlert, note: Optional[str]) -> str:
    """Append a clinician's note to the alert; return it, stripped."""
    note = (note or "").strip()
    if note:
        alert.note = f"{alert.note}\n{note}" if alert.note else note
    return note


def _check_may_act(session: Session, alert: CrisisAlert, clinician: Clinician) -> None:
    patient = session.get(Patient, alert.patient_id)
    if not clinician.is_active or clinician.clinic_id != patient.clinic_id:
        raise PermissionError("this clinician cannot act on this alert")


def escalate_overdue(session: Session, now: datetime, timeouts: Mapping[str, int]) -> list[str]:
    """Move every open alert past its acknowledgement deadline to the next stage.

    Each move is conditional on the alert being unchanged since it was read, so
    two dispatchers never skip a stage. Returns the public ids moved.
    """
    moved = []
    candidates = session.execute(
        select(CrisisAlert.id, CrisisAlert.public_id, CrisisAlert.stage, CrisisAlert.level,
               CrisisAlert.revision, CrisisAlert.stage_started_at, CrisisAlert.created_at,
               CrisisAlert.patient_id)
        .where(CrisisAlert.status == "open", CrisisAlert.stage != policy.STAGES[-1])
    ).all()
    for row in candidates:
        started = row.stage_started_at or row.created_at
        target = policy.due_escalation(status="open", stage=row.stage, level=row.level,
                                       stage_started_at=started, now=now, timeouts=timeouts)
        if target is None:
            continue
        result = session.execute(
            update(CrisisAlert)
            .where(CrisisAlert.id == row.id, CrisisAlert.status == "open",
                   CrisisAlert.stage == row.stage, CrisisAlert.revision == row.revision)
            .values(stage=target, stage_started_at=now, revision=row.revision + 1,
                    delivery_due_at=now, delivery_attempts=0)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            continue
        audit.record(
            session, "alert.escalated", "crisis_alert", row.public_id,
            actor_type="system", actor_id=None, patient_id=row.patient_id, now=now,
            detail={"stage_from": row.stage, "stage_to": target, "level": row.level,
                    "unacknowledged_minutes": round((now - started).total_seconds() / 60, 1)},
        )
        moved.append(row.public_id)
        logger.warning("alert %s not acknowledged in time: escalated to %s", row.public_id, target)
    return moved


def roster_for(session: Session, patient: Patient, moment: Optional[datetime] = None) -> policy.Roster:
    """The active people who can be reached about `patient` at `moment` (now by default).

    On call is whoever the rota names at that moment (`rota.on_call_at`).
    """
    clinic = session.get(Clinic, patient.clinic_id)
    staff = session.scalars(
        select(Clinician)
        .where(Clinician.clinic_id == patient.clinic_id, Clinician.is_active.is_(True))
        .order_by(Clinician.id)
    ).all()
    by_role = {"admin": tuple(_recipient(c, "admin") for c in staff if c.role == "admin"),
               "on_call": tuple(_recipient(c, "on_call")
                                for c in rota.on_call_at(session, patient.clinic_id, moment or utcnow()))}
    therapist = next((c for c in staff if c.id == patient.therapist_id), None)
    medical = None
    if clinic.medical_contact_email:
        medical = policy.Recipient("medical", clinic.medical_contact_email,
                                   clinic.medical_contact or "Medical contact")
    return policy.Roster(
        therapist=_recipient(therapist, "therapist") if therapist is not None else None,
        on_call=by_role["on_call"],
        admins=by_role["admin"],
        medical=medical,
    )


def _recipient(clinician: Clinician, role: str) -> policy.Recipient:
    return policy.Recipient(role, clinician.email, clinician.display_name, clinician.id)


@dataclass(frozen=True)
class AlertView:
    """What a notifier may say about an alert: minimal PHI unless texts are included."""

    public_id: str
    revision: int
    level: str
    categories: tuple[str, ...]
    stage: str
    status: str
    patient_pseudonym: str
    clinic_name: str
    clinic_timezone: str
    created_at: datetime
    last_activity_at: datetime
    message_count: int
    url: str
    ack_timeout_minutes: Optional[int]
    texts: tuple[str, ...] = ()

    @property
    def event_id(self) -> str:
        """Unique per alert and revision: what a receiver de-duplicates on."""
        return f"{self.public_id}:{self.revision}"


def alert_view(session: Session, alert: CrisisAlert, base_url: str, include_text: bool,
               timeouts: Mapping[str, int]) -> AlertView:
    """Snapshot an alert for the notifiers."""
    from bot.escalation.tokens import alert_url

    patient = session.get(Patient, alert.patient_id)
    clinic = session.get(Clinic, patient.clinic_id)
    count = session.scalar(
        select(func.count()).select_from(SafetyAssessment)
        .where(SafetyAssessment.alert_id == alert.id)
    )
    return AlertView(
        public_id=alert.public_id,
        revision=alert.revision,
        level=alert.level,
        categories=tuple(alert.categories or ()),
        stage=alert.stage,
        status=alert.status,
        patient_pseudonym=patient.pseudonym,
        clinic_name=clinic.name,
        clinic_timezone=clinic.timezone,
        created_at=alert.created_at,
        last_activity_at=alert.last_activity_at,
        message_count=count or 0,
        url=alert_url(base_url, alert.public_id),
        ack_timeout_minutes=timeouts.get(alert.level),
        texts=_texts(session, alert) if include_text else (),
    )


def _texts(session: Session, alert: CrisisAlert) -> tuple[str, ...]:
    rows = session.execute(
        select(ChatMessage.text, JournalEntry.text)
        .select_from(SafetyAssessment)
        .outerjoin(ChatMessage, SafetyAssessment.chat_message_id == ChatMessage.id)
        .outerjoin(JournalEntry, SafetyAssessment.journal_entry_id == JournalEntry.id)
        .where(SafetyAssessment.alert_id == alert.id)
        .order_by(SafetyAssessment.created_at.desc(), SafetyAssessment.id.desc())
        .limit(MAX_TEXTS)
    ).all()
    texts = [(chat if chat is not None else entry) or "" for chat, entry in reversed(rows)]
    return tuple(t if len(t) <= MAX_TEXT_CHARS else t[: MAX_TEXT_CHARS - 1] + "…" for t in texts)


def _audit(session: Session, alert: CrisisAlert, action: str, now: datetime, detail: dict,
           *, actor_type: str = "system", actor_id: Optional[int] = None) -> None:
    audit.record(session, action, "crisis_alert", alert.public_id, actor_type=actor_type,
                 actor_id=actor_id, patient_id=alert.patient_id, detail=detail, now=now)
