"""Enrolling patients and changing their record: details, status and therapist.

A patient gets a generated sender id (the conversation id Rasa sees) and a
generated pseudonym (what alerts and sign-in show instead of the name). The
sender id and the pseudonym are unique for good, and the clinic's own patient
code within the clinic: a patient is discharged, never deleted, so none is
ever reused.
"""
from __future__ import annotations

import re
import secrets
from typing import Optional
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.storage import audit
from bot.storage.models import PATIENT_STATUSES, Clinic, Clinician, Patient

_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
_LOCALE = re.compile(r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")
# No 0/O or 1/I/L: a pseudonym is read aloud and typed at sign-in.
_PSEUDONYM_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
THERAPIST_ROLES = ("therapist", "admin")


class EnrolmentError(ValueError):
    """A patient record that cannot be written; the message is one line for the user."""


def check_timezone(name: str) -> str:
    """The IANA time zone name, checked; EnrolmentError if there is no such zone."""
    cleaned = (name or "").strip()
    try:
        if not cleaned or len(cleaned) > 64:
            raise ZoneInfoNotFoundError(cleaned)
        ZoneInfo(cleaned)
    except (ZoneInfoNotFoundError, ValueError):
        raise EnrolmentError(f"{cleaned[:64]!r} is not a time zone (for example Europe/London)") from None
    return cleaned


def check_locale(locale: str) -> str:
    """A locale such as en or en-US; EnrolmentError otherwise."""
    cleaned = (locale or "").strip()
    if not _LOCALE.match(cleaned):
        raise EnrolmentError(f"{cleaned[:20]!r} is not a locale (for example en or en-US)")
    return cleaned


def check_code(code: str) -> str:
    """A patient code: 1-32 letters, digits, dots, dashes or underscores."""
    cleaned = (code or "").strip()
    if not _CODE.match(cleaned):
        raise EnrolmentError("a patient code is 1 to 32 letters, digits, '.', '-' or '_'")
    return cleaned


def check_name(name: str) -> str:
    """A display name of 1-200 characters."""
    cleaned = " ".join((name or "").split())
    if not cleaned or len(cleaned) > 200:
        raise EnrolmentError("a display name of 1 to 200 characters is needed")
    return cleaned


def check_therapist(session: Session, clinic_id: int, therapist_id: Optional[int]) -> Clinician:
    """The active therapist (or admin) of this clinic with that id."""
    therapist = session.get(Clinician, therapist_id) if therapist_id else None
    if (therapist is None or therapist.clinic_id != clinic_id or not therapist.is_active
            or therapist.role not in THERAPIST_ROLES):
        raise EnrolmentError("choose an active therapist of this clinic")
    return therapist


def enrol_patient(session: Session, clinic: Clinic, *, display_name: str, code: str, therapist_id: int,
                  timezone: Optional[str] = None, locale: Optional[str] = None,
                  by: Optional[Clinician] = None) -> Patient:
    """Enrol a patient of `clinic`; the sender id and pseudonym are generated."""
    code = check_code(code)
    if session.scalar(select(Patient.id).where(Patient.clinic_id == clinic.id,
                                               func.lower(Patient.code) == code.lower())) is not None:
        raise EnrolmentError(f"the patient code {code} is taken (codes are never reused)")
    patient = Patient(
        clinic_id=clinic.id,
        therapist_id=check_therapist(session, clinic.id, therapist_id).id,
        sender_id=_unused(session, Patient.sender_id, lambda: "p-" + secrets.token_hex(8)),
        display_name=check_name(display_name),
        code=code,
        pseudonym=_unused(session, Patient.pseudonym, _pseudonym),
        timezone=check_timezone(timezone or clinic.timezone),
        locale=check_locale(locale or clinic.locale),
        status="active",
    )
    session.add(patient)
    session.flush()
    _audit(session, "patient.enrolled", patient, by, {"code": code, "therapist_id": patient.therapist_id})
    return patient


def update_details(session: Session, patient: Patient, *, display_name: str, timezone: str, locale: str,
                   by: Clinician) -> list[str]:
    """Change name, time zone and locale; returns the names of the fields that changed."""
    values = {"display_name": check_name(display_name), "timezone": check_timezone(timezone),
              "locale": check_locale(locale)}
    changed = [name for name, value in values.items() if getattr(patient, name) != value]
    for name in changed:
        setattr(patient, name, values[name])
    if changed:
        _audit(session, "patient.updated", patient, by, {"fields": changed})
    return changed


def set_status(session: Session, patient: Patient, status: str, by: Clinician) -> None:
    """Make the patient active, paused or discharged."""
    if status not in PATIENT_STATUSES:
        raise EnrolmentError(f"the status must be one of {', '.join(PATIENT_STATUSES)}")
    if patient.status == status:
        return
    previous, patient.status = patient.status, status
    _audit(session, f"patient.{ {'active': 'resumed', 'paused': 'paused', 'discharged': 'discharged'}[status] }",
           patient, by, {"from": previous, "to": status})


def reassign(session: Session, patient: Patient, therapist_id: int, by: Clinician) -> None:
    """Give the patient another therapist of the same clinic."""
    therapist = check_therapist(session, patient.clinic_id, therapist_id)
    if therapist.id == patient.therapist_id:
        return
    previous, patient.therapist_id = patient.therapist_id, therapist.id
    _audit(session, "patient.reassigned", patient, by, {"from": previous, "to": therapist.id})


def therapists(session: Session, clinic_id: int) -> list[Clinician]:
    """The clinicians a patient can be assigned to, by name."""
    return list(session.scalars(
        select(Clinician).where(Clinician.clinic_id == clinic_id, Clinician.is_active.is_(True),
                                Clinician.role.in_(THERAPIST_ROLES))
        .order_by(Clinician.display_name, Clinician.id)
    ).all())


def _pseudonym() -> str:
    return "P-" + "".join(secrets.choice(_PSEUDONYM_ALPHABET) for _ in range(5))


def _unused(session: Session, column, make) -> str:
    for _ in range(20):
        value = make()
        if session.scalar(select(column).where(column == value)) is None:
            return value
    raise EnrolmentError("could not generate a unique id; try again")


def _audit(session: Session, action: str, patient: Patient, by: Optional[Clinician], detail: dict) -> None:
    audit.record(session, action, "patient", patient.id, patient_id=patient.id,
                 actor_type="clinician" if by is not None else "system",
                 actor_id=by.id if by is not None else None, detail=detail)
