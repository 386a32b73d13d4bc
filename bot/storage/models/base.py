"""The declarative base, the shared value lists and helpers of every model."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

from sqlalchemy import CheckConstraint
from sqlalchemy.orm import declarative_base

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


def enum_check(column: str, values: tuple[str, ...], name: str) -> CheckConstraint:
    """A CHECK constraint that keeps a string column to its listed values."""
    quoted = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({quoted})", name=name)
