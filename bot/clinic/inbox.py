"""The clinician's alert inbox and review queue, over bot.escalation.

Acknowledging goes through `bot.escalation.alerts.acknowledge`, so the web and
the emailed link behave the same. Resolving closes an alert (acknowledging it
first if nobody had). Marking a `review` finding as reviewed is an AuditEvent;
the queue leaves out findings that have one.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from bot.storage import audit
from bot.clinic.access import patient_clause
from bot.escalation.alerts import acknowledge, resolve
from bot.escalation.digest import ReviewItem, review_queue
from bot.storage.models import (
    AlertDelivery,
    AuditEvent,
    ChatMessage,
    Clinician,
    CrisisAlert,
    JournalEntry,
    Patient,
    SafetyAssessment,
    utcnow,
)
from bot.clinic.timeline import Highlighted, highlight

STATUSES = ("open", "acknowledged", "resolved")
MAX_NOTE_CHARS = 2000
REVIEWED = "assessment.reviewed"

_SEVERITY = case(
    (CrisisAlert.level == "emergency", 3),
    (CrisisAlert.level == "urgent", 2),
    (CrisisAlert.level == "review", 1),
    else_=0,
)


@dataclass(frozen=True)
class InboxPage:
    """One page of alerts in one status, and how many alerts each status holds."""

    rows: list[tuple[CrisisAlert, Patient]]
    status: str
    counts: dict[str, int]
    page: int
    pages: int


def inbox(session: Session, clinician: Clinician, status: str = "open",
          page: int = 1, per_page: int = 25) -> InboxPage:
    """The alerts `clinician` may see in one status: most severe first, then newest."""
    status = status if status in STATUSES else "open"
    visible = (select(CrisisAlert, Patient)
               .join(Patient, CrisisAlert.patient_id == Patient.id)
               .where(patient_clause(clinician)))
    counts = dict(session.execute(
        select(CrisisAlert.status, func.count())
        .join(Patient, CrisisAlert.patient_id == Patient.id)
        .where(patient_clause(clinician))
        .group_by(CrisisAlert.status)
    ).all())
    total = counts.get(status, 0)
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    rows = session.execute(
        visible.where(CrisisAlert.status == status)
        .order_by(_SEVERITY.desc(), CrisisAlert.last_activity_at.desc(), CrisisAlert.id.desc())
        .limit(per_page).offset((page - 1) * per_page)
    ).all()
    return InboxPage([(a, p) for a, p in rows], status,
                     {s: counts.get(s, 0) for s in STATUSES}, page, pages)


@dataclass(frozen=True)
class Flagged:
    """One message or entry that joined an alert, with its text highlighted."""

    assessment: SafetyAssessment
    source: str
    highlighted: Highlighted


def alert_messages(session: Session, alert: CrisisAlert, limit: int = 50) -> list[Flagged]:
    """The assessments that raised or joined `alert`, oldest first."""
    rows = session.execute(
        select(SafetyAssessment, ChatMessage.text, JournalEntry.text)
        .outerjoin(ChatMessage, SafetyAssessment.chat_message_id == ChatMessage.id)
        .outerjoin(JournalEntry, SafetyAssessment.journal_entry_id == JournalEntry.id)
        .where(SafetyAssessment.alert_id == alert.id)
        .order_by(SafetyAssessment.created_at, SafetyAssessment.id)
        .limit(limit)
    ).all()
    return [
        Flagged(a, "chat" if a.chat_message_id is not None else "journal",
                highlight(chat if chat is not None else (entry or ""), a.findings or ()))
        for a, chat, entry in rows
    ]


def alert_history(session: Session, alert: CrisisAlert) -> tuple[list[AuditEvent], list[AlertDelivery]]:
    """The alert's changes of state (not its page views) and delivery attempts, oldest first."""
    events = list(session.scalars(
        select(AuditEvent)
        .where(AuditEvent.object_type == "crisis_alert", AuditEvent.object_id == alert.public_id,
               AuditEvent.action != "alert.viewed")
        .order_by(AuditEvent.occurred_at, AuditEvent.id)
    ))
    deliveries = list(session.scalars(
        select(AlertDelivery).where(AlertDelivery.alert_id == alert.id)
        .order_by(AlertDelivery.attempted_at, AlertDelivery.id)
    ))
    return events, deliveries


def acknowledge_alert(session: Session, alert: CrisisAlert, clinician: Clinician,
                      note: str, now: Optional[datetime] = None) -> bool:
    """Acknowledge an open alert; False if it was no longer open."""
    return acknowledge(session, alert, clinician, (note or "")[:MAX_NOTE_CHARS], now or utcnow())


def resolve_alert(session: Session, alert: CrisisAlert, clinician: Clinician,
                  note: str, now: Optional[datetime] = None) -> bool:
    """Resolve an alert with a note; False if it was already resolved."""
    return resolve(session, alert, clinician, (note or "")[:MAX_NOTE_CHARS], now or utcnow())


@dataclass(frozen=True)
class ReviewRow:
    """One `review` finding in the queue, its text highlighted, and whether it was reviewed."""

    item: ReviewItem
    highlighted: Highlighted
    reviewed: bool


def review_rows(session: Session, clinician: Clinician, days: int = 30,
                include_reviewed: bool = False, now: Optional[datetime] = None,
                limit: int = 200) -> list[ReviewRow]:
    """`review` findings of the last `days` for the patients `clinician` may see, newest first."""
    since = (now or utcnow()) - timedelta(days=days)
    items = review_queue(session, clinician, since)
    visible = set(session.scalars(select(Patient.id).where(patient_clause(clinician))))
    items = [i for i in items if i.patient.id in visible]
    reviewed = reviewed_ids(session, [i.assessment.id for i in items])
    if not include_reviewed:
        items = [i for i in items if i.assessment.id not in reviewed]
    items = list(reversed(items))[:limit]
    texts = _texts(session, items)
    return [ReviewRow(i, highlight(texts.get(i.assessment.id, ""), i.assessment.findings or ()),
                      i.assessment.id in reviewed) for i in items]


def reviewed_ids(session: Session, assessment_ids: list[int]) -> set[int]:
    """Which of these assessments were marked reviewed."""
    if not assessment_ids:
        return set()
    marked = session.scalars(
        select(AuditEvent.object_id).where(
            AuditEvent.action == REVIEWED, AuditEvent.object_type == "safety_assessment",
            AuditEvent.object_id.in_([str(i) for i in assessment_ids]))
    )
    return {int(x) for x in marked}


def visible_review_assessment(session: Session, clinician: Clinician,
                              assessment_id: int) -> Optional[SafetyAssessment]:
    """A `review` assessment of a patient `clinician` may see, else None."""
    return session.scalar(
        select(SafetyAssessment)
        .join(Patient, SafetyAssessment.patient_id == Patient.id)
        .where(SafetyAssessment.id == assessment_id, SafetyAssessment.level == "review",
               patient_clause(clinician))
    )


def mark_reviewed(session: Session, assessment: SafetyAssessment, clinician: Clinician,
                  note: str = "", now: Optional[datetime] = None) -> bool:
    """Record that `clinician` reviewed this finding; False if it already was."""
    if reviewed_ids(session, [assessment.id]):
        return False
    audit.record(session, REVIEWED, "safety_assessment", assessment.id,
                 actor_type="clinician", actor_id=clinician.id, patient_id=assessment.patient_id,
                 detail={"note": (note or "").strip()[:MAX_NOTE_CHARS]}, now=now)
    return True


def _texts(session: Session, items: list[ReviewItem]) -> dict[int, str]:
    chat_ids = {i.assessment.chat_message_id for i in items if i.assessment.chat_message_id}
    entry_ids = {i.assessment.journal_entry_id for i in items if i.assessment.journal_entry_id}
    chats = dict(session.execute(select(ChatMessage.id, ChatMessage.text)
                                 .where(ChatMessage.id.in_(chat_ids))).all()) if chat_ids else {}
    entries = dict(session.execute(select(JournalEntry.id, JournalEntry.text)
                                   .where(JournalEntry.id.in_(entry_ids))).all()) if entry_ids else {}
    out = {}
    for i in items:
        a = i.assessment
        out[a.id] = chats.get(a.chat_message_id, "") if a.chat_message_id else entries.get(a.journal_entry_id, "")
    return out
