"""Several instances on one PostgreSQL database: one crisis episode, one alert, one sender."""
import threading
import time

import pytest
from sqlalchemy import func, select, text

from bot.escalation.alerts import raise_patient_alert
from bot.escalation.outbox import claim
from bot.storage.db import make_engine, make_session_factory
from bot.storage.models import CrisisAlert, Patient, utcnow

pytestmark = pytest.mark.postgres


def _waiting_on_a_lock(sessions) -> bool:
    with sessions() as session:
        return bool(session.scalar(text(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )))


def _sessions_and_patient(settings):
    sessions = make_session_factory(make_engine(settings.database_url))
    with sessions() as session:
        return sessions, session.scalar(select(Patient.id).where(Patient.sender_id == "demo-ava"))


def _run_while_first_holds_its_transaction(sessions, first, work):
    """Run `work` in another thread while `first` is open; commit `first` once it waits or ends."""
    outcome, errors = [], []

    def other_instance():
        try:
            outcome.append(work())
        except Exception as exc:  # pragma: no cover - reported by the caller's assertion
            errors.append(exc)

    other = threading.Thread(target=other_instance)
    other.start()
    while other.is_alive() and not _waiting_on_a_lock(sessions):
        time.sleep(0.02)
    first.commit()
    first.close()
    other.join(30)
    assert not other.is_alive() and not errors, errors
    return outcome[0]


def test_two_instances_seeing_a_first_crisis_at_once_open_one_alert(postgres_settings):
    sessions, patient_id = _sessions_and_patient(postgres_settings)
    at = utcnow()

    # Instance A opens the alert and has not committed yet.
    first = sessions()
    first.begin()
    raise_patient_alert(first, patient_id, "urgent", ["suicidal_ideation"], at, episode_minutes=60)

    # Instance B sees the same episode's next message meanwhile.
    def second_instance():
        with sessions.begin() as session:
            raise_patient_alert(session, patient_id, "emergency", ["suicidal_behavior"], at, episode_minutes=60)

    _run_while_first_holds_its_transaction(sessions, first, second_instance)

    with sessions() as session:
        alerts = session.scalars(select(CrisisAlert).where(CrisisAlert.patient_id == patient_id)).all()
        assert len(alerts) == 1
        [alert] = alerts
        assert alert.level == "emergency"
        assert set(alert.categories) == {"suicidal_ideation", "suicidal_behavior"}
        assert session.scalar(select(func.count()).select_from(CrisisAlert)) == 1


def test_two_dispatchers_claiming_one_alert_at_once_get_one_lease(postgres_settings):
    sessions, patient_id = _sessions_and_patient(postgres_settings)
    with sessions.begin() as session:
        alert_id = raise_patient_alert(session, patient_id, "urgent", ["suicidal_ideation"], utcnow(),
                                       episode_minutes=60).id
    now = utcnow()
    first = sessions()
    first.begin()
    assert claim(first, alert_id, "dispatcher-a", now, lease_seconds=60)

    def second_dispatcher():
        with sessions.begin() as session:
            return claim(session, alert_id, "dispatcher-b", now, lease_seconds=60)

    assert _run_while_first_holds_its_transaction(sessions, first, second_dispatcher) is False
    with sessions() as session:
        assert session.get(CrisisAlert, alert_id).claimed_by == "dispatcher-a"
