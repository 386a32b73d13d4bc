"""Faults: a dispatcher killed mid-delivery, a mail server that is down for a while,
a locked database. Nothing is lost; at worst something is sent twice."""
import signal
import sqlite3

from sqlalchemy import func, select

from bot.service.spool import Spool, SpoolDrainer
from bot.storage.models import AlertDelivery, AuditEvent, CrisisAlert, SafetyAssessment
from bot.service.turns import record_turn, turn_record
from tests.unit.escalation import harness
from tests.unit.escalation.conftest import SECRET_KEY, THERAPIST, add_patient, crisis, reload
from tests.unit.escalation.harness import Mailbox, stop_process, wait_until


def start_dispatcher(settings, tmp_path, name, **env):
    return harness.start_dispatcher(settings, tmp_path, name, SECRET_KEY, **env)


def all_delivered(sessions, alerts):
    with sessions() as session:
        return all(session.get(CrisisAlert, a.id).delivery_due_at is None for a in alerts)


def successes(sessions, alert, channel):
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(AlertDelivery).where(
            AlertDelivery.alert_id == alert.id, AlertDelivery.channel == channel,
            AlertDelivery.succeeded.is_(True)))


def test_a_dispatcher_killed_mid_delivery_loses_nothing(settings, demo, mailbox, hooks, tmp_path):
    alerts = []
    for n in range(5):
        add_patient(demo, f"kill-{n}", f"P-KILL{n}")
        alerts.append(crisis(demo, f"kill-{n}"))
    mailbox.hold_first = True  # the first email reaches the server and gets no answer

    first = start_dispatcher(settings, tmp_path, "first")
    try:
        assert wait_until(mailbox.holding.is_set), "the first email never reached the server"
        first.send_signal(signal.SIGKILL)
        first.wait(30)
    finally:
        stop_process(first)
    held_id = mailbox.messages()[0]["X-KAP-Alert-ID"]
    [held] = [a for a in alerts if a.public_id == held_id]
    state = reload(demo, held)
    assert state.delivery_due_at is not None and state.claimed_by is not None, \
        "killed mid-send: still due, still leased by the dead dispatcher"
    assert successes(demo, held, "email") == 0
    mailbox.release()

    second = start_dispatcher(settings, tmp_path, "second")
    try:
        wait_until(lambda: all_delivered(demo, alerts), timeout=60)
    finally:
        assert stop_process(second) == 0, "SIGTERM stops the dispatcher cleanly"
    for alert in alerts:
        assert successes(demo, alert, "email") >= 1 and successes(demo, alert, "webhook") >= 1
        copies = mailbox.messages(alert.public_id)
        assert copies and {m["To"] for m in copies} == {THERAPIST}
        assert len({m["Message-ID"] for m in copies}) == 1, "copies are recognisably one message"
    assert len(mailbox.messages(held.public_id)) >= 2, "the held email was sent again"
    assert {b["alert"]["id"] for b in hooks.bodies()} == {a.public_id for a in alerts}


def test_smtp_down_for_a_while_then_back(settings, demo, tmp_path):
    down = Mailbox()  # a port with nothing listening yet
    alert = crisis(demo)
    process = start_dispatcher(settings, tmp_path, "smtp-down", SMTP_PORT=str(down.port),
                               WEBHOOK_URL="")
    try:
        assert wait_until(lambda: reload(demo, alert).delivery_attempts >= 3, timeout=60)
        assert down.messages() == []
        down.start()
        wait_until(lambda: all_delivered(demo, [alert]), timeout=60)
    finally:
        stop_process(process)
        down.stop()
    assert down.recipients(alert.public_id) == [THERAPIST]
    with demo() as session:
        attempts = session.scalars(select(AlertDelivery.succeeded)
                                   .where(AlertDelivery.alert_id == alert.id)
                                   .order_by(AlertDelivery.id)).all()
    assert attempts[-1] is True and attempts.count(False) >= 3 and attempts.count(True) == 1


def test_a_locked_database_delays_the_alert_but_does_not_lose_it(settings, demo, tmp_path):
    db_path = settings.database_url.removeprefix("sqlite:///")
    locker = sqlite3.connect(db_path, timeout=1, isolation_level=None, check_same_thread=False)
    locker.execute("PRAGMA busy_timeout=0")
    locker.execute("BEGIN EXCLUSIVE")
    failures = []

    def write(record):
        try:
            with demo.begin() as session:
                session.connection().exec_driver_sql("PRAGMA busy_timeout=200")
                record_turn(session, record)
        except Exception as exc:
            failures.append(exc)
            raise

    drainer = SpoolDrainer(Spool(tmp_path / "spool"), write, max_backoff=0.2).start()
    try:
        drainer.submit(turn_record("demo-ava", "patient", "i want to die", "m-locked",
                                   safety={"level": "emergency",
                                           "categories": ["suicidal_behavior"], "findings": []}))
        assert wait_until(lambda: len(failures) >= 2), "the drainer never met the lock"
        assert "locked" in str(failures[0])
        with demo() as session:
            assert session.scalar(select(func.count()).select_from(CrisisAlert)) == 0
        assert len(drainer.spool.pending()) == 1, "the turn waits in the spool"
        locker.execute("COMMIT")
        wait_until(lambda: not drainer.spool.pending() and not list(drainer.spool.directory.glob("*.claimed")))
    finally:
        drainer.stop()
        locker.close()
    with demo() as session:
        alert = session.scalar(select(CrisisAlert))
        assessment = session.scalar(select(SafetyAssessment))
        assert alert is not None and alert.level == "emergency"
        assert assessment.alert_id == alert.id and alert.delivery_due_at is not None
        assert session.scalar(select(AuditEvent.action).where(
            AuditEvent.object_id == alert.public_id)) == "alert.created"
