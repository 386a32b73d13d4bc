"""Patient sign-in: single-use invite links from the therapist, and an optional passphrase.

An invite token is 32 random bytes; only its SHA-256 is stored, so a copy of
the database cannot be used to sign in. Redeeming it is one conditional
UPDATE, so two clicks on the same link cannot both succeed. A new invite
retires the patient's earlier unused ones.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.clinic.passwords import hash_password, verify_password
from bot.clinic.throttle import verify_nothing
from bot.storage.models import Clinician, Patient, PatientInvite, PatientLogin, utcnow

INVITE_PATH = "/invite/{token}"
MIN_PASSPHRASE_CHARS = 10
MAX_PASSPHRASE_CHARS = 200


def token_hash(token: str) -> str:
    """The stored form of an invite token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class NewInvite:
    """A created invite and its token, which is not stored anywhere."""

    invite: PatientInvite
    token: str

    def url(self, base_url: str) -> str:
        """The link to give the patient."""
        return base_url.rstrip("/") + INVITE_PATH.format(token=self.token)


def create_invite(session: Session, patient: Patient, clinician: Clinician, hours: int,
                  now: Optional[datetime] = None) -> NewInvite:
    """A fresh invite for `patient`; earlier unused invites stop working."""
    now = now or utcnow()
    session.execute(
        update(PatientInvite)
        .where(PatientInvite.patient_id == patient.id, PatientInvite.used_at.is_(None),
               PatientInvite.expires_at > now)
        .values(expires_at=now)
        .execution_options(synchronize_session=False)
    )
    token = secrets.token_urlsafe(32)
    invite = PatientInvite(patient_id=patient.id, token_hash=token_hash(token),
                           created_by_id=clinician.id, created_at=now,
                           expires_at=now + timedelta(hours=hours))
    session.add(invite)
    session.flush()
    return NewInvite(invite, token)


def peek_invite(session: Session, token: str, now: Optional[datetime] = None) -> Optional[PatientInvite]:
    """The invite a token names if it can still be used; changes nothing."""
    if not token or len(token) > 200:
        return None
    invite = session.scalar(select(PatientInvite).where(PatientInvite.token_hash == token_hash(token)))
    if invite is None or invite.used_at is not None or invite.expires_at <= (now or utcnow()):
        return None
    return invite


def redeem_invite(session: Session, token: str, now: Optional[datetime] = None) -> Optional[Patient]:
    """Use up an invite and return its patient; None if it is unknown, used, expired,
    or the patient is no longer active."""
    now = now or utcnow()
    invite = peek_invite(session, token, now)
    if invite is None:
        return None
    result = session.execute(
        update(PatientInvite)
        .where(PatientInvite.id == invite.id, PatientInvite.used_at.is_(None),
               PatientInvite.expires_at > now)
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return None
    patient = session.get(Patient, invite.patient_id)
    return patient if patient is not None and patient.is_active else None


def set_passphrase(session: Session, patient: Patient, passphrase: str) -> None:
    """Store (or replace) a patient's passphrase, hashed with argon2id."""
    login = session.scalar(select(PatientLogin).where(PatientLogin.patient_id == patient.id))
    if login is None:
        session.add(PatientLogin(patient_id=patient.id, passphrase_hash=hash_password(passphrase)))
    else:
        login.passphrase_hash = hash_password(passphrase)


def has_passphrase(session: Session, patient_id: int) -> bool:
    """Whether the patient has set a passphrase."""
    return session.scalar(select(PatientLogin.id).where(PatientLogin.patient_id == patient_id)) is not None


def check_passphrase(session: Session, code: str, passphrase: str) -> Optional[Patient]:
    """The active patient whose code (pseudonym) and passphrase match, else None."""
    row = session.execute(
        select(Patient, PatientLogin.passphrase_hash)
        .join(PatientLogin, PatientLogin.patient_id == Patient.id)
        .where(Patient.pseudonym == code.strip().upper(), Patient.is_active.is_(True))
    ).first()
    if row is None:
        verify_nothing(passphrase)
        return None
    patient, stored = row
    return patient if verify_password(stored, passphrase) else None
