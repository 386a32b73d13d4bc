"""Seed the fictional demo clinic, once."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Callable, Optional

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.content.crisis_resources import resources_for
from bot.content.schema import ContentError, check_record, load_yaml
from bot.clinic.passwords import generate_password, hash_password
from bot.storage.models import (
    Clinic,
    Clinician,
    InfusionSession,
    Intention,
    IntegrationSession,
    Patient,
    SafetyPlan,
    utcnow,
)

DEMO_FILE = Path(__file__).with_name("demo_clinic.yml")


@dataclass(frozen=True)
class SeededLogin:
    """A login created by the seed, shown to the operator once."""

    who: str
    role: str
    login: str
    secret: str


def seed_demo_clinic(
    session: Session,
    path: Path = DEMO_FILE,
    make_password: Callable[[], str] = generate_password,
) -> Optional[list[SeededLogin]]:
    """Create the demo clinic if the database has no clinic yet.

    Returns the logins created, or None when the database was already seeded.
    """
    if session.scalar(select(func.count()).select_from(Clinic)):
        return None
    data = check_record(
        load_yaml(path),
        str(path),
        ("version", "clinic", "clinicians", "patients", "default_safety_plan"),
    )
    clinic = Clinic(**data["clinic"])
    resources_for(clinic.crisis_resource_set)  # fail early on a bad set id
    session.add(clinic)

    logins: list[SeededLogin] = []
    by_key: dict[str, Clinician] = {}
    for raw in data["clinicians"]:
        check_record(raw, f"{path}: clinician", ("key", "email", "display_name", "role"))
        password = make_password()
        clinician = Clinician(
            clinic=clinic,
            email=raw["email"],
            display_name=raw["display_name"],
            role=raw["role"],
            password_hash=hash_password(password),
        )
        by_key[raw["key"]] = clinician
        session.add(clinician)
        logins.append(SeededLogin(raw["display_name"], raw["role"], raw["email"], password))

    now = utcnow()
    for raw in data["patients"]:
        check_record(
            raw,
            f"{path}: patient",
            ("sender_id", "display_name", "pseudonym", "therapist", "infusions"),
            ("timezone", "intention", "next_integration_in_hours", "code"),
        )
        if raw["therapist"] not in by_key:
            raise ContentError(f"{path}: patient {raw['sender_id']} names an unknown therapist")
        hours = raw.get("next_integration_in_hours")
        patient = Patient(
            clinic=clinic,
            therapist=by_key[raw["therapist"]],
            sender_id=raw["sender_id"],
            display_name=raw["display_name"],
            pseudonym=raw["pseudonym"],
            code=raw.get("code", raw["pseudonym"]),
            locale=clinic.locale,
            timezone=raw.get("timezone", clinic.timezone),
            intention=raw.get("intention"),
        )
        session.add(patient)
        session.flush()
        if patient.intention:
            session.add(Intention(key=f"seed-{patient.sender_id}", patient_id=patient.id, text=patient.intention,
                                  reflections=[], source="clinician", created_at=now))
        if hours is not None:
            session.add(IntegrationSession(patient_id=patient.id, scheduled_at=now + timedelta(hours=hours)))
        for infusion in raw["infusions"]:
            session.add(
                InfusionSession(
                    patient_id=patient.id,
                    occurred_at=now - timedelta(hours=infusion["hours_ago"]),
                    route=infusion["route"],
                )
            )
        logins.append(
            SeededLogin(raw["display_name"], "patient", raw["sender_id"], "(chat sender id)")
        )

    plan = data["default_safety_plan"]
    check_record(plan, f"{path}: default_safety_plan", SafetyPlan.SECTIONS)
    session.add(SafetyPlan(clinic_id=clinic.id, patient_id=None, **plan))
    session.flush()
    return logins
