"""Setting a clinic up from nothing: the clinic, its default safety plan and its first admin."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.clinic.enrolment import EnrolmentError, check_locale, check_timezone
from bot.clinic.staff import PasswordLink, StaffError, invite_clinician, normal_email
from bot.content.crisis_resources import resource_sets
from bot.content.schema import ContentError, check_record, load_yaml
from bot.storage import audit
from bot.storage.models import Clinic, SafetyPlan

DEFAULT_PLAN_FILE = Path(__file__).with_name("default_safety_plan.yml")


class SetupError(ValueError):
    """The clinic cannot be set up as asked; the message is one line for the user."""


@dataclass(frozen=True)
class ClinicSettings:
    """What a clinic is set up with, and what its admin can change later."""

    name: str
    timezone: str
    locale: str
    crisis_resource_set: str
    medical_contact_email: str = ""
    medical_contact: str = ""


def check_settings(values: ClinicSettings) -> ClinicSettings:
    """The settings, trimmed and checked; SetupError names the first problem."""
    name = " ".join((values.name or "").split())
    if not name or len(name) > 200:
        raise SetupError("a clinic name of 1 to 200 characters is needed")
    sets = resource_sets()
    if values.crisis_resource_set not in sets:
        raise SetupError(f"the crisis resource set must be one of {', '.join(sorted(sets))}")
    try:
        zone, locale = check_timezone(values.timezone), check_locale(values.locale)
        email = normal_email(values.medical_contact_email) if (values.medical_contact_email or "").strip() else ""
    except (EnrolmentError, StaffError) as exc:
        raise SetupError(str(exc)) from None
    contact = (values.medical_contact or "").strip()
    if len(contact) > 200:
        raise SetupError("the medical contact can have at most 200 characters")
    return ClinicSettings(name, zone, locale, values.crisis_resource_set, email, contact)


def setup_clinic(session: Session, values: ClinicSettings, admin_email: str, admin_name: str,
                 link_hours: int, allow_another: bool = False) -> tuple[Clinic, PasswordLink]:
    """Create a clinic, its default safety plan and its first admin; return the admin's sign-in link.

    Refuses when a clinic exists already, unless `allow_another`: running the
    command twice must not create a second clinic by accident.
    """
    existing = session.scalar(select(func.count()).select_from(Clinic))
    if existing and not allow_another:
        raise SetupError("a clinic is set up already; to add another one on purpose, pass --another")
    values = check_settings(values)
    clinic = Clinic(name=values.name, timezone=values.timezone, locale=values.locale,
                    crisis_resource_set=values.crisis_resource_set,
                    country=resource_sets()[values.crisis_resource_set].country,
                    medical_contact=values.medical_contact, medical_contact_email=values.medical_contact_email)
    session.add(clinic)
    session.flush()
    session.add(SafetyPlan(clinic_id=clinic.id, patient_id=None, **default_plan()))
    try:
        link = invite_clinician(session, clinic.id, admin_email, admin_name, "admin", None, link_hours)
    except StaffError as exc:
        raise SetupError(str(exc)) from None
    audit.record(session, "clinic.created", "clinic", clinic.id, actor_type="system", actor_id=None,
                 detail={"name": clinic.name})
    return clinic, link


def update_clinic(session: Session, clinic: Clinic, values: ClinicSettings, by) -> list[str]:
    """Apply an admin's changes; returns the names of the fields that changed."""
    values = check_settings(values)
    wanted = {"name": values.name, "timezone": values.timezone, "locale": values.locale,
              "crisis_resource_set": values.crisis_resource_set, "medical_contact": values.medical_contact,
              "medical_contact_email": values.medical_contact_email,
              "country": resource_sets()[values.crisis_resource_set].country}
    changed = [key for key, value in wanted.items() if getattr(clinic, key) != value]
    for key in changed:
        setattr(clinic, key, wanted[key])
    if changed:
        audit.record(session, "clinic.updated", "clinic", clinic.id, actor_type="clinician",
                     actor_id=by.id, detail={"fields": changed})
    return changed


def default_plan(path: Path = DEFAULT_PLAN_FILE) -> dict[str, list[str]]:
    """The starting default safety plan of a new clinic, from data."""
    data = check_record(load_yaml(path), str(path), ("version", "plan"))
    plan = check_record(data["plan"], f"{path}: plan", SafetyPlan.SECTIONS)
    for section, items in plan.items():
        if not isinstance(items, list) or not all(isinstance(item, str) and item.strip() for item in items):
            raise ContentError(f"{path}: plan.{section} must be a list of non-empty strings")
    return {section: list(items) for section, items in plan.items()}


def only_clinic(session: Session) -> Optional[Clinic]:
    """The clinic, when the database holds exactly one."""
    clinics = session.scalars(select(Clinic).limit(2)).all()
    return clinics[0] if len(clinics) == 1 else None
