"""SQLAlchemy models. Every timestamp is timezone-aware UTC.

Written for SQLAlchemy 1.4 in 2.0 style: engines and sessions are created with
`future=True`, queries use `select()`. Schema changes go through Alembic.
One module per part of the domain; everything is importable from here.
"""
from bot.storage.models.base import (
    ALERT_STATUSES,
    CLINICIAN_TOKEN_PURPOSES,
    COURSE_STATUSES,
    DIRECTIONS,
    ENTRY_STATUSES,
    ESCALATION_STAGES,
    LEVELS,
    PATIENT_STATUSES,
    PHASES,
    ROLES,
    ROUTES,
    Base,
    new_uuid,
    utcnow,
)
from bot.storage.models.clinic import (
    AuditEvent,
    Clinic,
    Clinician,
    ClinicianToken,
    LoginFailure,
    OnCallShift,
    PatientInvite,
    PatientLogin,
)
from bot.storage.models.course import InfusionSession, IntegrationSession, Patient
from bot.storage.models.preparation import (
    INTENTION_SOURCES,
    PREPARATION_STATUSES,
    Intention,
    PreparationAnswer,
)
from bot.storage.models.records import (
    QUESTIONNAIRE_STATUSES,
    ChatMessage,
    GroundingSession,
    JournalEntry,
    MoodCheckin,
    QuestionnaireResponse,
)
from bot.storage.models.safety import (
    AlertDelivery,
    CrisisAlert,
    CrisisScreening,
    SafetyAssessment,
    SafetyPlan,
)

__all__ = [
    "ALERT_STATUSES", "CLINICIAN_TOKEN_PURPOSES", "COURSE_STATUSES", "DIRECTIONS", "ENTRY_STATUSES",
    "ESCALATION_STAGES", "INTENTION_SOURCES", "LEVELS", "PATIENT_STATUSES", "PHASES",
    "PREPARATION_STATUSES", "QUESTIONNAIRE_STATUSES", "ROLES", "ROUTES",
    "AlertDelivery", "AuditEvent", "Base", "ChatMessage", "Clinic", "Clinician", "ClinicianToken",
    "CrisisAlert", "CrisisScreening", "GroundingSession", "InfusionSession", "IntegrationSession",
    "Intention", "JournalEntry", "LoginFailure", "MoodCheckin", "OnCallShift", "Patient",
    "PatientInvite", "PatientLogin", "PreparationAnswer", "QuestionnaireResponse", "SafetyAssessment",
    "SafetyPlan", "new_uuid", "utcnow",
]
