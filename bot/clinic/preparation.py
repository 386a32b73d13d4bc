"""The clinic's side of preparation: its checklist, its questionnaire offers, and the day before.

An admin edits the checklist (kept on the clinic; the default file until then)
and chooses when PHQ-9 and GAD-7 are offered. The Today page shows, for every
infusion from now to the end of tomorrow, what the patient has not confirmed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from typing import Optional, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.clinic.access import patient_clause
from bot.content.preparation import ChecklistItem, check_checklist, new_item_id
from bot.content.schema import ContentError
from bot.conversation.preparation import answers_for, clinic_checklist, intention_for, next_infusion
from bot.course.offers import OffersError, check_offers
from bot.storage import audit
from bot.storage.models import Clinic, Clinician, InfusionSession, Patient, utcnow


class PreparationError(ValueError):
    """A checklist or offer setting that cannot be saved; the message is one line."""


@dataclass(frozen=True)
class ChecklistEdit:
    """One row of the admin's form: an existing item (with its id) or a new one (id None)."""

    text: str
    id: Optional[str] = None
    remove: bool = False


def edit_checklist(session: Session, clinic: Clinic, rows: Sequence[ChecklistEdit], by: Clinician) -> None:
    """Save the clinic's checklist from the admin's rows: reworded items keep their ids."""
    known = {item.id for item in clinic_checklist(clinic)}
    items, taken = [], set()
    for row in rows:
        text = " ".join((row.text or "").split())
        if row.remove or not text:
            continue
        item_id = row.id if row.id in known and row.id not in taken else new_item_id(text, taken | known)
        taken.add(item_id)
        items.append({"id": item_id, "text": text})
    try:
        check_checklist(items, "the checklist")
    except ContentError as exc:
        raise PreparationError(str(exc)) from None
    before = clinic.preparation_checklist
    clinic.preparation_checklist = items
    audit.record(session, "clinic.checklist_updated", "clinic", clinic.id, actor_type="clinician",
                 actor_id=by.id, detail={"from": [i["id"] for i in before] if before else "default",
                                         "to": [i["id"] for i in items]})


def reset_checklist(session: Session, clinic: Clinic, by: Clinician) -> None:
    """Go back to the default checklist."""
    clinic.preparation_checklist = None
    audit.record(session, "clinic.checklist_reset", "clinic", clinic.id, actor_type="clinician", actor_id=by.id)


def set_offers(session: Session, clinic: Clinic, offers: dict, by: Clinician) -> None:
    """Save when PHQ-9 and GAD-7 are offered ({instrument: [kinds]})."""
    try:
        checked = check_offers(offers)
    except OffersError as exc:
        raise PreparationError(str(exc)) from None
    stored = {instrument: list(kinds) for instrument, kinds in checked.items()}
    if stored != clinic.questionnaire_offers:
        clinic.questionnaire_offers = stored
        audit.record(session, "clinic.questionnaire_offers_updated", "clinic", clinic.id,
                     actor_type="clinician", actor_id=by.id, detail=stored)


@dataclass
class PreparationGap:
    """An infusion coming up, and what the patient has not confirmed for it."""

    infusion: InfusionSession
    patient: Patient
    not_yet: list[ChecklistItem] = field(default_factory=list)
    unanswered: list[ChecklistItem] = field(default_factory=list)
    intention_set: bool = False


def preparation_gaps(session: Session, clinician: Clinician, clinic: Clinic,
                     now: Optional[datetime] = None) -> list[PreparationGap]:
    """Infusions from now to the end of tomorrow (clinic time) with checklist items not confirmed."""
    now = now or utcnow()
    zone = ZoneInfo(clinic.timezone)
    end = datetime.combine(now.astimezone(zone).date() + timedelta(days=2), time()).replace(tzinfo=zone)
    items = clinic_checklist(clinic)
    gaps = []
    for infusion, patient in session.execute(
        select(InfusionSession, Patient).join(Patient, InfusionSession.patient_id == Patient.id)
        .where(patient_clause(clinician, now), Patient.clinic_id == clinic.id, Patient.status == "active",
               InfusionSession.status == "scheduled", InfusionSession.occurred_at > now,
               InfusionSession.occurred_at < end.astimezone(timezone.utc))
        .order_by(InfusionSession.occurred_at)
    ).all():
        answers = answers_for(session, infusion.id)
        gap = PreparationGap(infusion, patient,
                             not_yet=[i for i in items if answers.get(i.id) == "not_yet"],
                             unanswered=[i for i in items if i.id not in answers],
                             intention_set=intention_for(session, infusion.id) is not None)
        if gap.not_yet or gap.unanswered:
            gaps.append(gap)
    return gaps


@dataclass
class PreparationStatus:
    """The patient's next infusion, the intention set for it, and each checklist item's answer."""

    infusion: InfusionSession
    rows: list[tuple[ChecklistItem, Optional[str]]]
    intention_set: bool


def preparation_status(session: Session, patient: Patient, clinic: Clinic,
                       now: Optional[datetime] = None) -> Optional[PreparationStatus]:
    """How ready the patient is for their next scheduled infusion (None without one)."""
    infusion = next_infusion(session, patient.id, now or utcnow())
    if infusion is None:
        return None
    answers = answers_for(session, infusion.id)
    return PreparationStatus(infusion, [(item, answers.get(item.id)) for item in clinic_checklist(clinic)],
                             intention_for(session, infusion.id) is not None)
