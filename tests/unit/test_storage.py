"""The schema: migrations match the models, timestamps are aware UTC, seeding runs once."""
from datetime import datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, StatementError

from bot.storage.models import (
    Base,
    Clinic,
    Clinician,
    InfusionSession,
    JournalEntry,
    Patient,
    SafetyPlan,
)
from bot.clinic.seed import seed_demo_clinic
from bot.clinic.passwords import verify_password
from tests.helpers import TEST_PASSWORD


def test_migrations_produce_exactly_the_models(sessions):
    with sessions() as session:
        context = MigrationContext.configure(session.connection())
        assert compare_metadata(context, Base.metadata) == []


def test_timestamps_round_trip_as_aware_utc(demo):
    when = datetime(2026, 3, 1, 9, 30, tzinfo=timezone(timedelta(hours=-7)))
    with demo.begin() as session:
        patient = session.scalar(select(Patient).where(Patient.sender_id == "demo-ava"))
        session.add(InfusionSession(patient_id=patient.id, occurred_at=when, route="nasal"))
    with demo() as session:
        stored = session.scalar(
            select(InfusionSession.occurred_at).where(InfusionSession.route == "nasal")
        )
    assert stored.tzinfo is not None and stored.utcoffset() == timedelta(0)
    assert stored == when


def test_naive_datetimes_are_refused(demo):
    with pytest.raises(StatementError, match="naive datetime"):
        with demo.begin() as session:
            patient = session.scalar(select(Patient).limit(1))
            session.add(
                InfusionSession(patient_id=patient.id, occurred_at=datetime(2026, 1, 1), route="IV")
            )


def test_demo_seed_runs_once_with_fictional_clinic(demo):
    with demo.begin() as session:
        assert seed_demo_clinic(session) is None
    with demo() as session:
        assert session.scalar(select(func.count()).select_from(Clinic)) == 1
        roles = sorted(session.scalars(select(Clinician.role)))
        assert roles == ["admin", "on_call", "therapist"]
        therapist = session.scalar(select(Clinician).where(Clinician.role == "therapist"))
        assert verify_password(therapist.password_hash, TEST_PASSWORD)
        assert therapist.password_hash != TEST_PASSWORD
        patients = session.scalars(select(Patient)).all()
        assert {p.sender_id for p in patients} == {"demo-ava", "demo-jonah"}
        assert all(p.therapist_id == therapist.id for p in patients)
        default_plan = session.scalar(select(SafetyPlan).where(SafetyPlan.patient_id.is_(None)))
        assert default_plan.clinic_id is not None and default_plan.professionals


def test_check_constraints_guard_enumerations(demo):
    with pytest.raises(IntegrityError):
        with demo.begin() as session:
            patient = session.scalar(select(Patient).limit(1))
            session.add(JournalEntry(patient_id=patient.id, phase="someday", text="x"))
