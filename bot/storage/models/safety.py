"""Screening results, crisis alerts and their deliveries, safety plans."""
from __future__ import annotations

from sqlalchemy import JSON, Boolean, CheckConstraint, Column, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import relationship

from bot.storage.models.base import LEVELS, ALERT_STATUSES, ESCALATION_STAGES, Base, utcnow, new_uuid, enum_check
from bot.storage.types import UTCDateTime


class SafetyAssessment(Base):
    """What the safety screen found in one chat message or one journal entry."""

    __tablename__ = "safety_assessment"
    __table_args__ = (
        enum_check("level", LEVELS, "ck_assessment_level"),
        CheckConstraint(
            "(chat_message_id IS NULL) <> (journal_entry_id IS NULL)",
            name="ck_assessment_subject",
        ),
        Index("ix_assessment_patient_time", "patient_id", "created_at"),
    )

    id = Column(Integer, primary_key=True)
    patient_id = Column(ForeignKey("patient.id"), nullable=False)
    chat_message_id = Column(ForeignKey("chat_message.id"), nullable=True, index=True)
    journal_entry_id = Column(ForeignKey("journal_entry.id"), nullable=True, index=True)
    alert_id = Column(ForeignKey("crisis_alert.id"), nullable=True, index=True)
    level = Column(String(10), nullable=False)
    categories = Column(JSON, nullable=False, default=list)
    findings = Column(JSON, nullable=False, default=list)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)

    def __repr__(self) -> str:
        return f"<SafetyAssessment {self.id} {self.level}>"


class CrisisAlert(Base):
    """An escalation: written with its assessment, then delivered and acknowledged."""

    __tablename__ = "crisis_alert"
    __table_args__ = (
        enum_check("level", LEVELS, "ck_alert_level"),
        enum_check("status", ALERT_STATUSES, "ck_alert_status"),
        enum_check("stage", ESCALATION_STAGES, "ck_alert_stage"),
        Index("ix_alert_status_time", "status", "created_at"),
        Index("ix_alert_patient_time", "patient_id", "created_at"),
        Index("ix_alert_delivery_due", "delivery_due_at"),
    )

    id = Column(Integer, primary_key=True)
    public_id = Column(String(32), nullable=False, unique=True, default=new_uuid)
    patient_id = Column(ForeignKey("patient.id"), nullable=False)
    level = Column(String(10), nullable=False)
    categories = Column(JSON, nullable=False, default=list)
    status = Column(String(15), nullable=False, default="open")
    stage = Column(String(10), nullable=False, default="therapist")
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    last_activity_at = Column(UTCDateTime, nullable=False, default=utcnow)
    acknowledged_at = Column(UTCDateTime, nullable=True)
    acknowledged_by_id = Column(ForeignKey("clinician.id"), nullable=True)
    resolved_at = Column(UTCDateTime, nullable=True)
    resolved_by_id = Column(ForeignKey("clinician.id"), nullable=True)
    note = Column(Text, nullable=True)
    # Bumped whenever recipients must hear about the alert again (a worse level,
    # a new category, a new escalation stage); deliveries are per revision.
    revision = Column(Integer, nullable=False, default=1, server_default="1")
    stage_started_at = Column(UTCDateTime, nullable=True)
    # The outbox: set while some recipient of this revision has not been reached.
    delivery_due_at = Column(UTCDateTime, nullable=True)
    delivery_attempts = Column(Integer, nullable=False, default=0, server_default="0")
    # A dispatcher's lease, so that two dispatchers do not send the same alert at once.
    claimed_by = Column(String(64), nullable=True)
    claimed_until = Column(UTCDateTime, nullable=True)

    deliveries = relationship(
        "AlertDelivery", back_populates="alert", order_by="AlertDelivery.attempted_at"
    )

    def __repr__(self) -> str:
        return f"<CrisisAlert {self.public_id} {self.level} {self.status}>"


class AlertDelivery(Base):
    """One attempt to deliver an alert on one channel."""

    __tablename__ = "alert_delivery"

    id = Column(Integer, primary_key=True)
    alert_id = Column(ForeignKey("crisis_alert.id"), nullable=False, index=True)
    channel = Column(String(20), nullable=False)
    recipient = Column(String(254), nullable=False)
    revision = Column(Integer, nullable=False, default=1, server_default="1")
    attempted_at = Column(UTCDateTime, nullable=False, default=utcnow)
    succeeded = Column(Boolean, nullable=False)
    detail = Column(Text, nullable=True)

    alert = relationship("CrisisAlert", back_populates="deliveries")

    def __repr__(self) -> str:
        outcome = "ok" if self.succeeded else "failed"
        return f"<AlertDelivery {self.id} {self.channel} {outcome}>"


class SafetyPlan(Base):
    """A Stanley-Brown safety plan: a patient's own, or the clinic's default."""

    __tablename__ = "safety_plan"

    id = Column(Integer, primary_key=True)
    clinic_id = Column(ForeignKey("clinic.id"), nullable=False, index=True)
    patient_id = Column(ForeignKey("patient.id"), nullable=True, unique=True)
    warning_signs = Column(JSON, nullable=False, default=list)
    internal_coping = Column(JSON, nullable=False, default=list)
    social_distractions = Column(JSON, nullable=False, default=list)
    people_to_ask = Column(JSON, nullable=False, default=list)
    professionals = Column(JSON, nullable=False, default=list)
    environment_safety = Column(JSON, nullable=False, default=list)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)
    updated_by_id = Column(ForeignKey("clinician.id"), nullable=True)

    SECTIONS = (
        "warning_signs",
        "internal_coping",
        "social_distractions",
        "people_to_ask",
        "professionals",
        "environment_safety",
    )

    def __repr__(self) -> str:
        return f"<SafetyPlan {self.id} patient={self.patient_id}>"


SCREENING_STATUSES = ("in_progress", "completed", "stopped")


class CrisisScreening(Base):
    """The C-SSRS screener answers given in one run of the crisis protocol.

    `answers` maps a question (crisis_safe_now, cssrs_q1 ... cssrs_q6_recent)
    to "yes", "no" or "declined". `level` is the risk the answers show, never
    below the level that started the protocol. `key` is chosen by the
    conversation, so a write retried from the spool is applied once.
    """

    __tablename__ = "crisis_screening"
    __table_args__ = (
        enum_check("trigger_level", LEVELS, "ck_screening_trigger_level"),
        enum_check("level", LEVELS, "ck_screening_level"),
        enum_check("status", SCREENING_STATUSES, "ck_screening_status"),
        Index("ix_screening_patient_time", "patient_id", "started_at"),
    )

    id = Column(Integer, primary_key=True)
    key = Column(String(64), nullable=False, unique=True)
    patient_id = Column(ForeignKey("patient.id"), nullable=False)
    trigger_level = Column(String(10), nullable=False)
    level = Column(String(10), nullable=False)
    answers = Column(JSON, nullable=False, default=dict)
    status = Column(String(12), nullable=False, default="in_progress")
    started_at = Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<CrisisScreening {self.id} patient={self.patient_id} {self.level} {self.status}>"



# A patient's flagged findings, read by the web timeline and review queue without
# visiting every assessment of the patient.
Index("ix_assessment_patient_level", SafetyAssessment.patient_id, SafetyAssessment.level)
