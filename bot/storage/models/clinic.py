"""People and access: the clinic, its clinicians and how each signs in."""
from __future__ import annotations

from sqlalchemy import JSON, Boolean, CheckConstraint, Column, ForeignKey, Index, Integer, String
from sqlalchemy.orm import relationship

from bot.storage.models.base import ROLES, CLINICIAN_TOKEN_PURPOSES, Base, utcnow, enum_check
from bot.storage.types import UTCDateTime


class Clinic(Base):
    """A clinic: its locale decides which crisis resources its patients see."""

    __tablename__ = "clinic"

    id = Column(Integer, primary_key=True)
    name = Column(String(200), nullable=False)
    country = Column(String(2), nullable=False)  # ISO 3166-1 alpha-2
    locale = Column(String(20), nullable=False, default="en")
    timezone = Column(String(64), nullable=False, default="UTC")
    crisis_resource_set = Column(String(64), nullable=False)
    medical_contact = Column(String(200), nullable=False, default="")
    # Where alerts with medical or substance-misuse findings also go.
    medical_contact_email = Column(String(254), nullable=False, default="", server_default="")
    # The clinic's own preparation checklist ([{id, text}]); None means the default in
    # bot/content/preparation.yml. Edited by the clinic's admin.
    preparation_checklist = Column(JSON, nullable=True)
    # When the assistant offers PHQ-9 and GAD-7 (bot/course/measures.py); None means the default.
    questionnaire_offers = Column(JSON, nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)

    clinicians = relationship("Clinician", back_populates="clinic")
    patients = relationship("Patient", back_populates="clinic")

    def __repr__(self) -> str:
        return f"<Clinic {self.id} {self.name!r} {self.country}>"


class Clinician(Base):
    """A therapist, on-call clinician or clinic admin who can log in to the web app."""

    __tablename__ = "clinician"
    __table_args__ = (enum_check("role", ROLES, "ck_clinician_role"),)

    id = Column(Integer, primary_key=True)
    clinic_id = Column(ForeignKey("clinic.id"), nullable=False, index=True)
    email = Column(String(254), nullable=False, unique=True)
    display_name = Column(String(200), nullable=False)
    role = Column(String(20), nullable=False)
    password_hash = Column(String(255), nullable=False)
    is_active = Column(Boolean, nullable=False, default=True)
    # Raised to end every web session of this clinician (sign-out, password change).
    session_version = Column(Integer, nullable=False, default=0, server_default="0")
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)

    clinic = relationship("Clinic", back_populates="clinicians")
    patients = relationship("Patient", back_populates="therapist")

    def __repr__(self) -> str:
        return f"<Clinician {self.id} {self.email} {self.role}>"


class OnCallShift(Base):
    """One clinician on call for the clinic from `starts_at` until `ends_at`."""

    __tablename__ = "on_call_shift"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ck_shift_order"),
        Index("ix_shift_clinic_time", "clinic_id", "starts_at", "ends_at"),
    )

    id = Column(Integer, primary_key=True)
    clinic_id = Column(ForeignKey("clinic.id"), nullable=False)
    clinician_id = Column(ForeignKey("clinician.id"), nullable=False)
    starts_at = Column(UTCDateTime, nullable=False)
    ends_at = Column(UTCDateTime, nullable=False)
    created_by_id = Column(ForeignKey("clinician.id"), nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)

    def __repr__(self) -> str:
        return f"<OnCallShift {self.id} clinician={self.clinician_id}>"


class ClinicianToken(Base):
    """A single-use, expiring link for a clinician to set a password (an invite or a reset).

    Only the SHA-256 of the token is stored.
    """

    __tablename__ = "clinician_token"
    __table_args__ = (enum_check("purpose", CLINICIAN_TOKEN_PURPOSES, "ck_clinician_token_purpose"),)

    id = Column(Integer, primary_key=True)
    clinician_id = Column(ForeignKey("clinician.id"), nullable=False, index=True)
    purpose = Column(String(10), nullable=False)
    token_hash = Column(String(64), nullable=False, unique=True)
    created_by_id = Column(ForeignKey("clinician.id"), nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    expires_at = Column(UTCDateTime, nullable=False)
    used_at = Column(UTCDateTime, nullable=True)

    def __repr__(self) -> str:
        return f"<ClinicianToken {self.id} {self.purpose} clinician={self.clinician_id}>"


class AuditEvent(Base):
    """Who did what to which record, and when."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_time", "occurred_at"),)

    id = Column(Integer, primary_key=True)
    occurred_at = Column(UTCDateTime, nullable=False, default=utcnow)
    actor_type = Column(String(20), nullable=False)  # clinician, patient, system
    actor_id = Column(Integer, nullable=True)
    action = Column(String(64), nullable=False)
    object_type = Column(String(64), nullable=False)
    object_id = Column(String(64), nullable=True)
    patient_id = Column(ForeignKey("patient.id"), nullable=True, index=True)
    detail = Column(JSON, nullable=False, default=dict)

    def __repr__(self) -> str:
        return f"<AuditEvent {self.id} {self.action} {self.object_type}:{self.object_id}>"


class PatientInvite(Base):
    """A single-use, expiring link that signs a patient in to the web app.

    Only the SHA-256 of the token is stored; the link itself is shown once,
    to the clinician who created it.
    """

    __tablename__ = "patient_invite"
    __table_args__ = (Index("ix_invite_patient_time", "patient_id", "created_at"),)

    id = Column(Integer, primary_key=True)
    patient_id = Column(ForeignKey("patient.id"), nullable=False)
    token_hash = Column(String(64), nullable=False, unique=True)
    created_by_id = Column(ForeignKey("clinician.id"), nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    expires_at = Column(UTCDateTime, nullable=False)
    used_at = Column(UTCDateTime, nullable=True)

    def __repr__(self) -> str:
        state = "used" if self.used_at else "unused"
        return f"<PatientInvite {self.id} patient={self.patient_id} {state}>"


class PatientLogin(Base):
    """A patient's optional passphrase for signing in again without a new invite."""

    __tablename__ = "patient_login"

    id = Column(Integer, primary_key=True)
    patient_id = Column(ForeignKey("patient.id"), nullable=False, unique=True)
    passphrase_hash = Column(String(255), nullable=False)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<PatientLogin patient={self.patient_id}>"


class LoginFailure(Base):
    """One failed sign-in, kept while it counts towards a lockout.

    `key` names what was attempted (an account, or a client address), never a password.
    """

    __tablename__ = "login_failure"
    __table_args__ = (Index("ix_login_failure_key_time", "key", "occurred_at"),)

    id = Column(Integer, primary_key=True)
    key = Column(String(300), nullable=False)
    occurred_at = Column(UTCDateTime, nullable=False, default=utcnow)

    def __repr__(self) -> str:
        return f"<LoginFailure {self.id} {self.key}>"
