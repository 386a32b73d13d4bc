"""Migrations upgrade a database that holds data, on SQLite too, where tables are rebuilt."""
from sqlalchemy import text

from bot.service.cli import migrate
from bot.storage.db import make_engine
from tests.helpers import make_settings


def test_clinic_operations_migrate_a_populated_database(tmp_path):
    settings = make_settings(tmp_path)
    migrate(settings, "0005")
    engine = make_engine(settings.database_url)
    with engine.begin() as db:
        db.execute(text("INSERT INTO clinic (id, name, country, locale, timezone, crisis_resource_set, "
                        "medical_contact, medical_contact_email, created_at) "
                        "VALUES (1, 'C', 'US', 'en', 'UTC', 'us', '', '', '2026-01-01 00:00:00')"))
        db.execute(text("INSERT INTO clinician (id, clinic_id, email, display_name, role, password_hash, "
                        "is_active, session_version, created_at) "
                        "VALUES (1, 1, 'a@b.example', 'A', 'therapist', 'x', 1, 0, '2026-01-01 00:00:00')"))
        db.execute(text("INSERT INTO patient (id, clinic_id, therapist_id, sender_id, display_name, pseudonym, "
                        "locale, timezone, next_integration_at, is_active, session_version, created_at, "
                        "intention) "
                        "VALUES (1, 1, 1, 's1', 'P', 'P-ONE', 'en', 'UTC', '2026-12-09 10:00:00.000000', 1, 0, "
                        "'2026-01-01 00:00:00', 'to rest')"))
        db.execute(text("INSERT INTO infusion_session (patient_id, occurred_at, route, completed, created_at) "
                        "VALUES (1, '2026-12-01 10:00:00', 'IV', 1, '2026-01-01 00:00:00'), "
                        "(1, '2999-12-20 10:00:00', 'IM', 0, '2026-01-01 00:00:00'), "
                        "(1, '2020-12-20 10:00:00', 'IM', 0, '2026-01-01 00:00:00')"))
        db.execute(text("INSERT INTO journal_entry (patient_id, phase, text, status, created_at, updated_at) "
                        "VALUES (1, 'same_day', 'kept', 'saved', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"))
    engine.dispose()

    migrate(settings)

    engine = make_engine(settings.database_url)
    with engine.connect() as db:
        assert db.execute(text("SELECT code, status FROM patient")).all() == [("P-ONE", "active")]
        assert db.execute(text("SELECT route, status FROM infusion_session ORDER BY id")).all() == [
            ("IV", "completed"), ("IM", "scheduled"), ("IM", "cancelled")]
        assert db.execute(text("SELECT patient_id, status FROM integration_session")).all() == [(1, "scheduled")]
        assert db.execute(text("SELECT text FROM journal_entry")).scalar_one() == "kept"
        # the intention entered before 0008 starts its history
        assert db.execute(text("SELECT patient_id, text, source FROM intention")).all() == [(1, "to rest", "clinician")]
        assert db.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
        assert db.execute(text("PRAGMA foreign_key_check")).all() == []
    engine.dispose()
