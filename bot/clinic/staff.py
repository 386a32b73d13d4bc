"""The clinic's staff: inviting clinicians, their roles, deactivation and password links.

A clinician is invited by email with a single-use link to set a password, like
a patient's invite; a reset link works the same way. Only the SHA-256 of a
link's token is stored. Clinicians are never deleted (alerts and the audit
trail refer to them): they are deactivated, which ends every session at once.
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.clinic.invites import token_hash
from bot.clinic.passwords import hash_password
from bot.storage import audit
from bot.storage.models import ROLES, Clinician, ClinicianToken, Patient, utcnow

WELCOME_PATH = "/welcome/{token}"
MIN_PASSWORD_CHARS = 12
MAX_PASSWORD_CHARS = 200
# Not an argon2 hash, so no password matches it until one is set through a link.
UNSET_PASSWORD = "!unset"
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s.]{2,63}$")


class StaffError(ValueError):
    """A change to the staff that cannot be made; the message is one line for the user."""


@dataclass(frozen=True)
class PasswordLink:
    """A created link and its token, which is stored nowhere."""

    clinician: Clinician
    purpose: str
    token: str
    expires_at: datetime

    def url(self, base_url: str) -> str:
        """The link to give the clinician."""
        return base_url.rstrip("/") + WELCOME_PATH.format(token=self.token)


def normal_email(email: str) -> str:
    """The address as stored (trimmed, lower case); StaffError if it is not one."""
    cleaned = (email or "").strip().lower()
    if not _EMAIL.match(cleaned):
        raise StaffError(f"{_clip(email)!r} is not an email address")
    return cleaned


def invite_clinician(session: Session, clinic_id: int, email: str, display_name: str, role: str,
                     by: Optional[Clinician], hours: int, now: Optional[datetime] = None) -> PasswordLink:
    """Create a clinician who cannot sign in until they set a password through the returned link."""
    email = normal_email(email)
    name = (display_name or "").strip()
    if not name or len(name) > 200:
        raise StaffError("a name of 1 to 200 characters is needed")
    if role not in ROLES:
        raise StaffError(f"the role must be one of {', '.join(ROLES)}")
    if session.scalar(select(Clinician.id).where(func.lower(Clinician.email) == email)) is not None:
        raise StaffError(f"{email} already has an account")
    clinician = Clinician(clinic_id=clinic_id, email=email, display_name=name, role=role,
                          password_hash=UNSET_PASSWORD)
    session.add(clinician)
    session.flush()
    link = password_link(session, clinician, "invite", by, hours, now)
    _audit(session, "clinician.invited", clinician, by, {"role": role})
    return link


def password_link(session: Session, clinician: Clinician, purpose: str, by: Optional[Clinician],
                  hours: int, now: Optional[datetime] = None) -> PasswordLink:
    """A fresh single-use link for `clinician` to set a password; earlier unused links stop working."""
    if not clinician.is_active:
        raise StaffError("this account is deactivated; reactivate it first")
    now = now or utcnow()
    session.execute(
        update(ClinicianToken)
        .where(ClinicianToken.clinician_id == clinician.id, ClinicianToken.used_at.is_(None),
               ClinicianToken.expires_at > now)
        .values(expires_at=now).execution_options(synchronize_session=False)
    )
    token = secrets.token_urlsafe(32)
    expires = now + timedelta(hours=hours)
    session.add(ClinicianToken(clinician_id=clinician.id, purpose=purpose, token_hash=token_hash(token),
                               created_by_id=by.id if by else None, created_at=now, expires_at=expires))
    session.flush()
    if purpose == "reset":
        _audit(session, "clinician.reset_link", clinician, by, {})
    return PasswordLink(clinician, purpose, token, expires)


def peek_password_link(session: Session, token: str, now: Optional[datetime] = None) -> Optional[Clinician]:
    """The active clinician a link names if it can still be used; changes nothing."""
    row = _usable(session, token, now or utcnow())
    if row is None:
        return None
    clinician = session.get(Clinician, row.clinician_id)
    return clinician if clinician is not None and clinician.is_active else None


def set_password_with_link(session: Session, token: str, password: str,
                           now: Optional[datetime] = None) -> Clinician:
    """Use up a link to set the clinician's password; every other session of theirs ends."""
    check_password(password)
    now = now or utcnow()
    row = _usable(session, token, now)
    clinician = session.get(Clinician, row.clinician_id) if row is not None else None
    if clinician is None or not clinician.is_active:
        raise StaffError("this link is no longer valid: ask an admin for a new one")
    used = session.execute(
        update(ClinicianToken).where(ClinicianToken.id == row.id, ClinicianToken.used_at.is_(None))
        .values(used_at=now).execution_options(synchronize_session=False)
    ).rowcount
    if used != 1:
        raise StaffError("this link is no longer valid: ask an admin for a new one")
    clinician.password_hash = hash_password(password)
    clinician.session_version = (clinician.session_version or 0) + 1
    _audit(session, "clinician.password_set", clinician, clinician, {"via": row.purpose})
    return clinician


def check_password(password: str) -> None:
    """StaffError unless the password is long enough and not absurdly long."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_CHARS:
        raise StaffError(f"a password needs at least {MIN_PASSWORD_CHARS} characters")
    if len(password) > MAX_PASSWORD_CHARS:
        raise StaffError(f"a password can have at most {MAX_PASSWORD_CHARS} characters")


def set_role(session: Session, clinician: Clinician, role: str, by: Optional[Clinician]) -> None:
    """Change a clinician's role, keeping at least one active admin."""
    if role not in ROLES:
        raise StaffError(f"the role must be one of {', '.join(ROLES)}")
    if clinician.role == role:
        return
    if clinician.role == "admin":
        _keep_an_admin(session, clinician)
    if role == "on_call":
        _no_patients_left(session, clinician, "becomes on call")
    previous, clinician.role = clinician.role, role
    _audit(session, "clinician.role_changed", clinician, by, {"from": previous, "to": role})


def set_active(session: Session, clinician: Clinician, active: bool, by: Optional[Clinician]) -> None:
    """Deactivate (every session ends at once) or reactivate a clinician; never delete one."""
    if clinician.is_active == active:
        return
    if not active:
        if by is not None and clinician.id == by.id:
            raise StaffError("you cannot deactivate your own account")
        if clinician.role == "admin":
            _keep_an_admin(session, clinician)
        _no_patients_left(session, clinician, "is deactivated")
        # Unused invite and reset links die with the account, so reactivation does not revive them.
        session.execute(
            update(ClinicianToken)
            .where(ClinicianToken.clinician_id == clinician.id, ClinicianToken.used_at.is_(None))
            .values(expires_at=utcnow()).execution_options(synchronize_session=False)
        )
    clinician.is_active = active
    clinician.session_version = (clinician.session_version or 0) + 1
    _audit(session, "clinician.activated" if active else "clinician.deactivated", clinician, by, {})


def staff(session: Session, clinic_id: int) -> list[Clinician]:
    """Every clinician of the clinic, active first, then by name."""
    return list(session.scalars(
        select(Clinician).where(Clinician.clinic_id == clinic_id)
        .order_by(Clinician.is_active.desc(), Clinician.display_name, Clinician.id)
    ).all())


def _no_patients_left(session: Session, clinician: Clinician, change: str) -> None:
    """StaffError while the clinician is still the therapist of patients who are not discharged."""
    count = session.scalar(
        select(func.count()).select_from(Patient).where(
            Patient.therapist_id == clinician.id, Patient.status != "discharged", Patient.is_active.is_(True))
    )
    if count:
        raise StaffError(f"{clinician.display_name} is still the therapist of {count} patient"
                         f"{'s' if count != 1 else ''}: reassign them before this account {change}")


def _keep_an_admin(session: Session, leaving: Clinician) -> None:
    others = session.scalar(
        select(func.count()).select_from(Clinician).where(
            Clinician.clinic_id == leaving.clinic_id, Clinician.role == "admin",
            Clinician.is_active.is_(True), Clinician.id != leaving.id)
    )
    if not others:
        raise StaffError("the clinic needs at least one active admin")


def _usable(session: Session, token: str, now: datetime) -> Optional[ClinicianToken]:
    if not token or len(token) > 200:
        return None
    row = session.scalar(select(ClinicianToken).where(ClinicianToken.token_hash == token_hash(token)))
    if row is None or row.used_at is not None or row.expires_at <= now:
        return None
    return row


def _audit(session: Session, action: str, clinician: Clinician, by: Optional[Clinician], detail: dict) -> None:
    audit.record(session, action, "clinician", clinician.id,
                 actor_type="clinician" if by is not None else "system",
                 actor_id=by.id if by is not None else None, detail=detail)


def _clip(text: object, limit: int = 60) -> str:
    text = str(text or "")
    return text if len(text) <= limit else text[: limit - 1] + "…"
