"""The daily digest of `review`-level findings, and the review queue query.

`review` findings page no one. Each therapist gets one email a day listing the
findings of their patients since their last digest; the dispatcher sends it
at DIGEST_HOUR in the clinic's time zone, and `python -m bot.escalation.digest`
sends it at once. A digest is recorded as an AuditEvent, so it goes out once
a day however often it is triggered.
"""
from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Callable, Optional, Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.escalation import policy
from bot.escalation.notifiers.format import categories_text, local_time
from bot.config.settings import ConfigError, Settings, load_settings
from bot.storage.models import (
    AuditEvent, ChatMessage, Clinic, Clinician, JournalEntry, Patient, SafetyAssessment, utcnow,
)

logger = logging.getLogger(__name__)

DEFAULT_WINDOW = timedelta(hours=24)
MAX_WINDOW = timedelta(days=7)


@dataclass(frozen=True)
class ReviewItem:
    """One `review`-level finding and whose it is."""

    assessment: SafetyAssessment
    patient: Patient

    @property
    def source(self) -> str:
        """`chat` or `journal`."""
        return "chat" if self.assessment.chat_message_id is not None else "journal"


def review_queue(session: Session, clinician: Clinician, since: datetime,
                 until: Optional[datetime] = None) -> list[ReviewItem]:
    """`review` findings since `since`, oldest first: a therapist's own patients;
    the whole clinic for on-call clinicians and admins."""
    query = (
        select(SafetyAssessment, Patient)
        .join(Patient, SafetyAssessment.patient_id == Patient.id)
        .where(SafetyAssessment.level == "review", SafetyAssessment.created_at >= since)
        .order_by(SafetyAssessment.created_at, SafetyAssessment.id)
    )
    if until is not None:
        query = query.where(SafetyAssessment.created_at < until)
    if clinician.role == "therapist":
        query = query.where(Patient.therapist_id == clinician.id)
    else:
        query = query.where(Patient.clinic_id == clinician.clinic_id)
    return [ReviewItem(a, p) for a, p in session.execute(query).all()]


@dataclass(frozen=True)
class DigestResult:
    """What happened for one therapist."""

    clinician_id: int
    email: str
    items: int
    sent: bool


def send_digests(
    sessions: sessionmaker,
    settings: Settings,
    now: datetime,
    *,
    send: Optional[Callable[[EmailMessage], object]] = None,
    ignore_hour: bool = False,
) -> list[DigestResult]:
    """Send today's digest to every active therapist who has not had it yet.

    A digest covers the time since that therapist's previous one (24 h the
    first time, 7 days at most). With no findings nothing is sent, but the day
    is still marked done. A failed send is not marked, so it is tried again.
    """
    if send is None:
        from bot.escalation.notifiers.email import send_email

        def send(message: EmailMessage) -> object:
            return send_email(settings, message)

    results = []
    with sessions() as session:
        therapists = session.execute(
            select(Clinician, Clinic)
            .join(Clinic, Clinician.clinic_id == Clinic.id)
            .where(Clinician.role == "therapist", Clinician.is_active.is_(True))
            .order_by(Clinician.id)
        ).all()
    for clinician, clinic in therapists:
        local_now = now.astimezone(_zone(clinic.timezone))
        if not ignore_hour and not policy.digest_due(local_now, settings.digest_hour):
            continue
        key = f"{clinician.id}:{local_now.date().isoformat()}"
        with sessions() as session:
            if session.scalar(select(AuditEvent.id).where(
                    AuditEvent.action == "digest.sent", AuditEvent.object_id == key)):
                continue
            since = max(_previous_until(session, clinician.id) or now - DEFAULT_WINDOW,
                        now - MAX_WINDOW)
            items = review_queue(session, clinician, since, now)
            message = (render_digest(settings, clinician, clinic, items, since, now,
                                     _texts(session, items) if settings.alert_include_text else None)
                       if items else None)
        if message is not None:
            try:
                send(message)
            except Exception as exc:
                logger.warning("digest for clinician %s not sent: %s", clinician.id, exc)
                results.append(DigestResult(clinician.id, clinician.email, len(items), False))
                continue
        with sessions.begin() as session:
            session.add(AuditEvent(
                occurred_at=now, actor_type="system", action="digest.sent",
                object_type="digest", object_id=key,
                detail={"clinician_id": clinician.id, "since": since.isoformat(),
                        "until": now.isoformat(), "items": len(items)},
            ))
        results.append(DigestResult(clinician.id, clinician.email, len(items), message is not None))
    return results


def render_digest(settings: Settings, clinician: Clinician, clinic: Clinic,
                  items: Sequence[ReviewItem], since: datetime, until: datetime,
                  texts: Optional[dict[int, str]] = None) -> EmailMessage:
    """The digest email: one line per finding, pseudonyms only unless texts are given."""
    from bot.escalation.tokens import review_url

    count = len(items)
    message = EmailMessage()
    message["Subject"] = f"Review digest: {count} finding{'s' if count != 1 else ''} to review"
    message["From"] = settings.smtp_sender
    message["To"] = clinician.email
    message["Date"] = format_datetime(until)
    message["Auto-Submitted"] = "auto-generated"
    lines = [
        f"Findings at the review level for your patients at {clinic.name},",
        f"from {local_time(since, clinic.timezone)} to {local_time(until, clinic.timezone)}.",
        "No one was paged for these; please look at them before the next session.",
        "",
    ]
    for item in items:
        a = item.assessment
        lines.append(f"- {item.patient.pseudonym}, {local_time(a.created_at, clinic.timezone)}, "
                     f"{item.source}: {categories_text(a.categories or [])}")
        if texts and a.id in texts:
            lines += [f"    > {line}" for line in texts[a.id].splitlines() or [""]]
    lines += ["", f"Review queue: {review_url(settings.public_base_url)}"]
    message.set_content("\n".join(lines) + "\n")
    return message


def _texts(session: Session, items: Sequence[ReviewItem]) -> dict[int, str]:
    out = {}
    for item in items:
        a = item.assessment
        if a.chat_message_id is not None:
            out[a.id] = session.get(ChatMessage, a.chat_message_id).text
        else:
            out[a.id] = session.get(JournalEntry, a.journal_entry_id).text
    return out


def _previous_until(session: Session, clinician_id: int) -> Optional[datetime]:
    detail = session.scalar(
        select(AuditEvent.detail)
        .where(AuditEvent.action == "digest.sent", AuditEvent.object_type == "digest",
               AuditEvent.object_id.like(f"{clinician_id}:%"))
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
        .limit(1)
    )
    if not detail or "until" not in detail:
        return None
    return datetime.fromisoformat(detail["until"])


def _zone(name: str):
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return timezone.utc


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Send today's digests now (whatever the hour); print one line per therapist."""
    parser = argparse.ArgumentParser(prog="python -m bot.escalation.digest",
                                     description=main.__doc__)
    parser.add_argument("--now", help="the time to act as, ISO 8601 with a UTC offset")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        if not settings.smtp_host:
            raise ConfigError("SMTP_HOST is not set; the digest is sent by email")
        now = datetime.fromisoformat(args.now) if args.now else utcnow()
        if now.tzinfo is None:
            raise ConfigError("--now needs a UTC offset, e.g. 2026-11-21T07:00:00+00:00")
    except (ConfigError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    from bot.storage.db import make_engine, make_session_factory

    logging.basicConfig(level=settings.log_level, format="%(levelname)s %(name)s: %(message)s")
    sessions = make_session_factory(make_engine(settings.database_url))
    results = send_digests(sessions, settings, now, ignore_hour=True)
    for r in results:
        state = "sent" if r.sent else ("nothing to review" if r.items == 0 else "NOT SENT")
        print(f"{r.email}: {r.items} finding(s), {state}")
    if not results:
        print("no digest due: every therapist has had today's digest")
    return 0 if all(r.sent or r.items == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
