"""Acknowledgement and re-escalation, on a controllable clock."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.escalation.alerts import acknowledge, resolve
from bot.escalation.dispatcher import Dispatcher
from bot.escalation.notifiers import build_notifiers
from bot.storage.models import AuditEvent, Clinic, Clinician, CrisisAlert, utcnow
from tests.unit.escalation.conftest import ADMIN, ON_CALL, THERAPIST, crisis, reload
from tests.unit.escalation.harness import Clock


def _clinician(sessions, email):
    with sessions() as session:
        return session.scalar(select(Clinician).where(Clinician.email == email))


def _audit(sessions, alert, action):
    with sessions() as session:
        return session.scalars(select(AuditEvent).where(
            AuditEvent.object_id == alert.public_id, AuditEvent.action == action)).all()


def _start(settings, demo, level, categories):
    t0 = utcnow()
    alert = crisis(demo, level=level, categories=categories, at=t0)
    clock = Clock(t0)
    d = Dispatcher(settings, demo, build_notifiers(settings), clock=clock, rand=lambda: 0.5)
    clock.set(reload(demo, alert).delivery_due_at)
    d.run_once()
    return alert, clock, d, t0


def test_an_unacknowledged_emergency_is_escalated_to_on_call_then_admin(settings, demo, mailbox):
    alert, clock, d, t0 = _start(settings, demo, "emergency", ["suicidal_behavior"])
    assert sorted(mailbox.recipients(alert.public_id)) == sorted([THERAPIST, ON_CALL])

    clock.set(t0 + timedelta(minutes=4, seconds=59))
    d.run_once()
    assert reload(demo, alert).stage == "therapist" and len(mailbox.messages(alert.public_id)) == 2

    clock.set(t0 + timedelta(minutes=5))
    d.run_once()
    escalated = reload(demo, alert)
    assert escalated.stage == "on_call" and escalated.revision == 2
    second = [m for m in mailbox.messages(alert.public_id) if m["X-KAP-Alert-Revision"] == "2"]
    assert ON_CALL in [m["To"] for m in second]
    assert "escalated to the on-call clinician" in second[0]["Subject"]
    assert "No one acknowledged this alert within 5 minutes" in second[0].get_content()

    clock.set(t0 + timedelta(minutes=10))
    d.run_once()
    assert reload(demo, alert).stage == "admin"
    third = [m["To"] for m in mailbox.messages(alert.public_id) if m["X-KAP-Alert-Revision"] == "3"]
    assert ADMIN in third

    clock.set(t0 + timedelta(hours=5))
    d.run_once()
    assert reload(demo, alert).stage == "admin", "admin is the last stage"
    assert [e.detail["stage_to"] for e in _audit(demo, alert, "alert.escalated")] == ["on_call", "admin"]


def test_an_acknowledged_emergency_is_not_escalated(settings, demo, mailbox):
    alert, clock, d, t0 = _start(settings, demo, "emergency", ["suicidal_behavior"])
    clock.set(t0 + timedelta(minutes=2))
    with demo.begin() as session:
        therapist = session.scalar(select(Clinician).where(Clinician.email == THERAPIST))
        assert acknowledge(session, session.get(CrisisAlert, alert.id), therapist, "On the phone with her.", clock())
    sent = len(mailbox.messages(alert.public_id))
    for minutes in (5, 10, 60):
        clock.set(t0 + timedelta(minutes=minutes))
        d.run_once()
    state = reload(demo, alert)
    assert state.stage == "therapist" and state.status == "acknowledged"
    assert state.note == "On the phone with her."
    assert len(mailbox.messages(alert.public_id)) == sent
    [event] = _audit(demo, alert, "alert.acknowledged")
    assert (event.actor_type, event.actor_id) == ("clinician", therapist.id)
    assert _audit(demo, alert, "alert.escalated") == []


def test_an_unacknowledged_urgent_alert_reaches_on_call_after_its_own_timeout(settings, demo, mailbox):
    alert, clock, d, t0 = _start(settings, demo, "urgent", ["self_harm"])
    assert mailbox.recipients(alert.public_id) == [THERAPIST]
    clock.set(t0 + timedelta(minutes=29))
    d.run_once()
    assert mailbox.recipients(alert.public_id) == [THERAPIST]
    clock.set(t0 + timedelta(minutes=30))
    d.run_once()
    assert ON_CALL in mailbox.recipients(alert.public_id)


def test_acknowledging_twice_changes_nothing_the_second_time(demo):
    alert = crisis(demo)
    with demo.begin() as session:
        row = session.get(CrisisAlert, alert.id)
        therapist = session.scalar(select(Clinician).where(Clinician.email == THERAPIST))
        on_call = session.scalar(select(Clinician).where(Clinician.email == ON_CALL))
        assert acknowledge(session, row, therapist, "", utcnow())
        assert not acknowledge(session, row, on_call, "me too", utcnow())
        assert row.acknowledged_by_id == therapist.id and row.note is None


def test_a_clinician_of_another_clinic_cannot_acknowledge(demo):
    alert = crisis(demo)
    with demo.begin() as session:
        other = Clinic(name="Elsewhere (fictional)", country="US", crisis_resource_set="us")
        stranger = Clinician(clinic=other, email="x@elsewhere.example", display_name="X",
                             role="therapist", password_hash="-")
        session.add_all([other, stranger])
        session.flush()
        with pytest.raises(PermissionError):
            acknowledge(session, session.get(CrisisAlert, alert.id), stranger, "", utcnow())



def test_a_resolved_alert_is_neither_delivered_nor_escalated(settings, demo, mailbox):
    t0 = utcnow()
    alert = crisis(demo, level="emergency", categories=["suicidal_behavior"], at=t0)
    with demo.begin() as session:
        therapist = session.scalar(select(Clinician).where(Clinician.email == THERAPIST))
        row = session.get(CrisisAlert, alert.id)
        assert resolve(session, row, therapist, "Called her; she is safe.", t0)
        assert not resolve(session, row, therapist, "again", t0)
    clock = Clock(t0)
    d = Dispatcher(settings, demo, build_notifiers(settings), clock=clock, rand=lambda: 0.5)
    for minutes in (0, 5, 10, 60):
        clock.set(t0 + timedelta(minutes=minutes))
        d.run_once()
    state = reload(demo, alert)
    assert (state.status, state.stage) == ("resolved", "therapist")
    assert mailbox.messages(alert.public_id) == []
    assert [e.actor_id for e in _audit(demo, alert, "alert.resolved")] == [therapist.id]
    assert _audit(demo, alert, "alert.acknowledged"), "resolving an open alert acknowledges it too"


def _colleague(sessions, email="morgan.reyes@cedargrove.example"):
    """Another therapist of the demo clinic, who takes on-call shifts."""
    from bot.clinic.passwords import hash_password

    with sessions.begin() as session:
        clinic = session.scalar(select(Clinic))
        person = Clinician(clinic_id=clinic.id, email=email, display_name="Dr. Morgan Reyes",
                           role="therapist", password_hash=hash_password("not used here"))
        session.add(person)
        session.flush()
        return person.id


def test_re_escalation_goes_to_whoever_the_rota_has_on_call_at_that_moment(settings, demo, mailbox):
    from bot.escalation.rota import add_shift

    t0 = utcnow()
    morgan = _colleague(demo)
    with demo.begin() as session:
        # Morgan's shift starts after the alert is raised and covers its escalation 30 minutes later.
        add_shift(session, session.scalar(select(Clinic.id)), session.get(Clinician, morgan),
                  t0 + timedelta(minutes=10), t0 + timedelta(hours=2))
    alert, clock, d, raised = _start(settings, demo, "urgent", ["self_harm"])
    assert mailbox.recipients(alert.public_id) == [THERAPIST]
    clock.set(raised + timedelta(minutes=30))
    d.run_once()
    escalated = reload(demo, alert)
    assert escalated.stage == "on_call"
    second = [m["To"] for m in mailbox.messages(alert.public_id) if m["X-KAP-Alert-Revision"] == "2"]
    assert "morgan.reyes@cedargrove.example" in second
    assert ON_CALL not in second, "the rota's clinician stands in for the standing on-call role"


def test_an_emergency_raised_during_a_shift_reaches_that_shift_at_once(settings, demo, mailbox):
    from bot.escalation.rota import add_shift

    t0 = utcnow()
    morgan = _colleague(demo)
    with demo.begin() as session:
        add_shift(session, session.scalar(select(Clinic.id)), session.get(Clinician, morgan),
                  t0 - timedelta(hours=1), t0 + timedelta(hours=1))
    alert, *_ = _start(settings, demo, "emergency", ["suicidal_behavior"])
    assert sorted(mailbox.recipients(alert.public_id)) == sorted([THERAPIST, "morgan.reyes@cedargrove.example"])


def test_with_nobody_on_call_the_admins_are_reached(settings, demo, mailbox):
    with demo.begin() as session:
        session.scalar(select(Clinician).where(Clinician.email == ON_CALL)).is_active = False
    alert, clock, d, t0 = _start(settings, demo, "urgent", ["self_harm"])
    clock.set(t0 + timedelta(minutes=30))
    d.run_once()
    second = [m["To"] for m in mailbox.messages(alert.public_id) if m["X-KAP-Alert-Revision"] == "2"]
    assert ADMIN in second
