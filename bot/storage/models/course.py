"""A patient and their course of treatment: infusions and integration sessions."""
from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import relationship

from bot.storage.models.base import ROUTES, COURSE_STATUSES, PATIENT_STATUSES, Base, utcnow, enum_check
from bot.storage.types import UTCDateTime


class Patient(Base):
    """An enrolled patient. `sender_id` is the conversation id Rasa sees."""

    __tablename__ = "patient"

    id = Column(Integer, primary_key=True)
    clinic_id = Column(ForeignKey("clinic.id"), nullable=False, index=True)
    therapist_id = Column(ForeignKey("clinician.id"), nullable=False, index=True)
    sender_id = Column(String(128), nullable=False, unique=True)
    display_name = Column(String(200), nullable=False)
    # The clinic's own reference for the patient (its chart number, say); never reused in the clinic.
    code = Column(String(32), nullable=False,
                  default=lambda context: context.get_current_parameters()["pseudonym"])
    # Generated; what alerts and sign-in use instead of the name.
    pseudonym = Column(String(32), nullable=False, unique=True)
    locale = Column(String(20), nullable=False, default="en")
    timezone = Column(String(64), nullable=False, default="UTC")
    intention = Column(Text, nullable=True)
    # active, paused (the course is on hold) or discharged (the chat is closed).
    status = Column(String(12), nullable=False, default="active", server_default="active")
    # False only for a record entered by mistake: nobody can sign in or chat as it.
    is_active = Column(Boolean, nullable=False, default=True)
    # Raised to end every web session of this patient (sign-out, passphrase change).
    session_version = Column(Integer, nullable=False, default=0, server_default="0")
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)

    clinic = relationship("Clinic", back_populates="patients")
    therapist = relationship("Clinician", back_populates="patients")

    __table_args__ = (
        enum_check("status", PATIENT_STATUSES, "ck_patient_status"),
        UniqueConstraint("clinic_id", "code", name="uq_patient_clinic_code"),
    )

    def __repr__(self) -> str:
        return f"<Patient {self.id} {self.pseudonym}>"


class InfusionSession(Base):
    """A ketamine dosing session: scheduled, completed or cancelled."""

    __tablename__ = "infusion_session"

    id = Column(Integer, primary_key=True)
    patient_id = Column(ForeignKey("patient.id"), nullable=False)
    occurred_at = Column(UTCDateTime, nullable=False)
    route = Column(String(12), nullable=False)
    status = Column(String(12), nullable=False, default="completed", server_default="completed")
    dose_mg = Column(Numeric(7, 2, asdecimal=False), nullable=True)
    notes = Column(Text, nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)

    __table_args__ = (
        enum_check("route", ROUTES, "ck_infusion_route"),
        enum_check("status", COURSE_STATUSES, "ck_infusion_status"),
        Index("ix_infusion_patient_time", "patient_id", "occurred_at"),
    )

    def __repr__(self) -> str:
        return f"<InfusionSession {self.id} patient={self.patient_id} {self.route} {self.status}>"


class IntegrationSession(Base):
    """A therapy session to work through an infusion: scheduled, completed or cancelled."""

    __tablename__ = "integration_session"

    id = Column(Integer, primary_key=True)
    patient_id = Column(ForeignKey("patient.id"), nullable=False)
    scheduled_at = Column(UTCDateTime, nullable=False)
    status = Column(String(12), nullable=False, default="scheduled")
    notes = Column(Text, nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)

    __table_args__ = (
        enum_check("status", COURSE_STATUSES, "ck_integration_status"),
        Index("ix_integration_patient_time", "patient_id", "scheduled_at"),
    )

    def __repr__(self) -> str:
        return f"<IntegrationSession {self.id} patient={self.patient_id} {self.status}>"
