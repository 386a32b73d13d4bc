"""SQLAlchemy models. Every timestamp is timezone-aware UTC.

Written for SQLAlchemy 1.4 in 2.0 style: engines and sessions are created with
`future=True`, queries use `select()`. Schema changes go through Alembic.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import declarative_base, relationship

from bot.storage.types import UTCDateTime

Base = declarative_base()

LEVELS = ("none", "review", "urgent", "emergency")
ROLES = ("therapist", "on_call", "admin")
ROUTES = ("IV", "IM", "sublingual", "nasal")
COURSE_STATUSES = ("scheduled", "completed", "cancelled")
PATIENT_STATUSES = ("active", "paused", "discharged")
CLINICIAN_TOKEN_PURPOSES = ("invite", "reset")
PHASES = ("same_day", "days_after", "before_session", "ongoing")
ENTRY_STATUSES = ("draft", "saved")
ALERT_STATUSES = ("open", "acknowledged", "resolved")
ESCALATION_STAGES = ("therapist", "on_call", "admin")
DIRECTIONS = ("patient", "assistant")


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(timezone.utc)


def new_uuid() -> str:
    """A random id that receivers can use to de-duplicate deliveries."""
    return uuid.uuid4().hex


def _enum_check(column: str, values: tuple[str, ...], name: str) -> CheckConstraint:
    quoted = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({quoted})", name=name)


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
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)

    clinicians = relationship("Clinician", back_populates="clinic")
    patients = relationship("Patient", back_populates="clinic")

    def __repr__(self) -> str:
        return f"<Clinic {self.id} {self.name!r} {self.country}>"


class Clinician(Base):
    """A therapist, on-call clinician or clinic admin who can log in to the web app."""

    __tablename__ = "clinician"
    __table_args__ = (_enum_check("role", ROLES, "ck_clinician_role"),)

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
        _enum_check("status", PATIENT_STATUSES, "ck_patient_status"),
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
        _enum_check("route", ROUTES, "ck_infusion_route"),
        _enum_check("status", COURSE_STATUSES, "ck_infusion_status"),
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
        _enum_check("status", COURSE_STATUSES, "ck_integration_status"),
        Index("ix_integration_patient_time", "patient_id", "scheduled_at"),
    )

    def __repr__(self) -> str:
        return f"<IntegrationSession {self.id} patient={self.patient_id} {self.status}>"


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
    __table_args__ = (_enum_check("purpose", CLINICIAN_TOKEN_PURPOSES, "ck_clinician_token_purpose"),)

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


class JournalEntry(Base):
    """A journal entry; a draft until the patient finishes it."""

    __tablename__ = "journal_entry"
    __table_args__ = (
        _enum_check("phase", PHASES, "ck_journal_phase"),
        _enum_check("status", ENTRY_STATUSES, "ck_journal_status"),
        Index("ix_journal_patient_time", "patient_id", "created_at"),
    )

    id = Column(Integer, primary_key=True)
    patient_id = Column(ForeignKey("patient.id"), nullable=False)
    prompt_id = Column(String(64), nullable=True)
    phase = Column(String(20), nullable=False)
    text = Column(Text, nullable=False, default="")
    follow_up_text = Column(Text, nullable=True)
    status = Column(String(10), nullable=False, default="draft")
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<JournalEntry {self.id} patient={self.patient_id} {self.status}>"


class MoodCheckin(Base):
    """A short check-in: mood, anxiety, sleep and lingering dissociation."""

    __tablename__ = "mood_checkin"
    __table_args__ = (
        CheckConstraint("mood BETWEEN 0 AND 10", name="ck_checkin_mood"),
        CheckConstraint("anxiety BETWEEN 0 AND 10", name="ck_checkin_anxiety"),
        Index("ix_checkin_patient_time", "patient_id", "created_at"),
    )

    id = Column(Integer, primary_key=True)
    patient_id = Column(ForeignKey("patient.id"), nullable=False)
    mood = Column(Integer, nullable=True)
    anxiety = Column(Integer, nullable=True)
    sleep = Column(String(20), nullable=True)
    dissociation = Column(String(20), nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)

    def __repr__(self) -> str:
        return f"<MoodCheckin {self.id} patient={self.patient_id}>"


class GroundingSession(Base):
    """One grounding exercise with the 0-10 distress rating before and after."""

    __tablename__ = "grounding_session"
    __table_args__ = (Index("ix_grounding_patient_time", "patient_id", "started_at"),)

    id = Column(Integer, primary_key=True)
    patient_id = Column(ForeignKey("patient.id"), nullable=False)
    exercise_id = Column(String(64), nullable=False)
    distress_before = Column(Integer, nullable=True)
    distress_after = Column(Integer, nullable=True)
    completed = Column(Boolean, nullable=False, default=False)
    started_at = Column(UTCDateTime, nullable=False, default=utcnow)
    ended_at = Column(UTCDateTime, nullable=True)

    def __repr__(self) -> str:
        return f"<GroundingSession {self.id} {self.exercise_id}>"


class ChatMessage(Base):
    """One turn of a patient's conversation with the assistant."""

    __tablename__ = "chat_message"
    __table_args__ = (
        _enum_check("direction", DIRECTIONS, "ck_message_direction"),
        Index("ix_message_patient_time", "patient_id", "created_at"),
    )

    id = Column(Integer, primary_key=True)
    patient_id = Column(ForeignKey("patient.id"), nullable=False)
    # Rasa's message id makes a redelivered event idempotent.
    external_id = Column(String(64), nullable=True, unique=True)
    direction = Column(String(10), nullable=False)
    text = Column(Text, nullable=False)
    intent = Column(String(64), nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)

    def __repr__(self) -> str:
        return f"<ChatMessage {self.id} {self.direction}>"


class SafetyAssessment(Base):
    """What the safety screen found in one chat message or one journal entry."""

    __tablename__ = "safety_assessment"
    __table_args__ = (
        _enum_check("level", LEVELS, "ck_assessment_level"),
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
        _enum_check("level", LEVELS, "ck_alert_level"),
        _enum_check("status", ALERT_STATUSES, "ck_alert_status"),
        _enum_check("stage", ESCALATION_STAGES, "ck_alert_stage"),
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
        _enum_check("trigger_level", LEVELS, "ck_screening_trigger_level"),
        _enum_check("level", LEVELS, "ck_screening_level"),
        _enum_check("status", SCREENING_STATUSES, "ck_screening_status"),
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


# A patient's flagged findings, read by the web timeline and review queue without
# visiting every assessment of the patient.
Index("ix_assessment_patient_level", SafetyAssessment.patient_id, SafetyAssessment.level)


QUESTIONNAIRE_STATUSES = ("in_progress", "completed")


class QuestionnaireResponse(Base):
    """One PHQ-9 or GAD-7, answered in the chat one item at a time.

    `answers` maps item ids to 0-3. A response in progress is carried on where
    it stopped; `score` and `band` are set when the last item is answered.
    `crisis_at` is when an answer to a crisis item (PHQ-9 item 9) above 0
    started the crisis protocol.
    """

    __tablename__ = "questionnaire_response"
    __table_args__ = (
        _enum_check("status", QUESTIONNAIRE_STATUSES, "ck_questionnaire_status"),
        Index("ix_questionnaire_patient_time", "patient_id", "started_at"),
    )

    id = Column(Integer, primary_key=True)
    # Chosen by the conversation, so a write retried from the spool is applied once.
    key = Column(String(64), nullable=False, unique=True)
    patient_id = Column(ForeignKey("patient.id"), nullable=False)
    instrument = Column(String(16), nullable=False)
    answers = Column(JSON, nullable=False, default=dict)
    status = Column(String(12), nullable=False, default="in_progress")
    score = Column(Integer, nullable=True)
    band = Column(String(32), nullable=True)
    crisis_at = Column(UTCDateTime, nullable=True)
    started_at = Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)
    completed_at = Column(UTCDateTime, nullable=True)

    def __repr__(self) -> str:
        return f"<QuestionnaireResponse {self.id} {self.instrument} {self.status}>"
