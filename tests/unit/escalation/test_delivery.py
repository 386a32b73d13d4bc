"""Delivery by the dispatcher to a real SMTP server and a real HTTP receiver."""
import dataclasses
import logging
import threading
from datetime import timedelta

from sqlalchemy import select, update

from bot.escalation import outbox
from bot.escalation.dispatcher import Dispatcher
from bot.escalation.notifiers import build_notifiers
from bot.escalation.notifiers.webhook import (
    SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature, webhook_label,
)
from bot.escalation.tokens import read_ack_token
from bot.storage.db import make_engine, make_session_factory
from bot.storage.models import AlertDelivery, AuditEvent, Clinician, CrisisAlert, utcnow
from tests.helpers import free_port
from tests.unit.escalation.conftest import (
    BASE_URL, MEDICAL, ON_CALL, SECRET_KEY, THERAPIST, WEBHOOK_SECRET, add_patient, crisis, reload,
)
from tests.unit.escalation.harness import Clock, Mailbox, wait_until

SECRET_WORDS = "the patient's own words, never in transit by default"


def dispatcher(settings, sessions, clock=None, **kwargs):
    return Dispatcher(settings, sessions, build_notifiers(settings),
                      clock=clock or utcnow, rand=lambda: 0.5, **kwargs)


def deliveries(sessions, alert):
    with sessions() as session:
        return session.scalars(select(AlertDelivery).where(AlertDelivery.alert_id == alert.id)
                               .order_by(AlertDelivery.id)).all()


def test_an_urgent_alert_reaches_the_therapist_by_email_and_the_webhook(settings, demo, mailbox, hooks):
    alert = crisis(demo, text=SECRET_WORDS)
    assert dispatcher(settings, demo).run_once() == 1

    [mail] = mailbox.messages(alert.public_id)
    assert mail["To"] == THERAPIST
    assert mail["Message-ID"] == f"<kap-alert-{alert.public_id}-1@cedargrove.example>"
    assert mail["X-KAP-Alert-Level"] == "urgent" and mail["X-KAP-Alert-Revision"] == "1"
    assert "P-AVA1" in mail["Subject"] and "URGENT" in mail["Subject"]
    body = mail.get_content()
    assert "P-AVA1" in body and "suicidal ideation" in body
    assert f"{BASE_URL}/alerts/{alert.public_id}" in body
    assert SECRET_WORDS not in mail.as_string() and "Ava" not in body.replace("P-AVA1", "")

    [call] = hooks.calls
    assert verify_signature(WEBHOOK_SECRET, call.body, call.headers[TIMESTAMP_HEADER],
                            call.headers[SIGNATURE_HEADER], utcnow())
    payload = call.json()
    assert payload["text"].startswith("URGENT crisis alert for patient P-AVA1")
    assert payload["alert"]["id"] == alert.public_id
    assert payload["alert"]["event_id"] == f"{alert.public_id}:1"
    assert payload["alert"]["level"] == "urgent"
    assert payload["alert"]["categories"] == ["suicidal_ideation"]
    assert payload["alert"]["patient"] == "P-AVA1"
    assert payload["alert"]["url"] == f"{BASE_URL}/alerts/{alert.public_id}"
    assert "texts" not in payload["alert"] and SECRET_WORDS.encode() not in call.body

    done = reload(demo, alert)
    assert done.delivery_due_at is None and done.claimed_by is None
    log = deliveries(demo, alert)
    assert {(d.channel, d.recipient, d.succeeded) for d in log} == {
        ("email", THERAPIST, True), ("webhook", webhook_label(hooks.url), True)}
    assert all(d.revision == 1 for d in log)


def test_the_signature_refuses_tampering_and_replay(settings, demo, hooks):
    crisis(demo)
    dispatcher(settings, demo).run_once()
    [call] = hooks.calls
    ts, sig = call.headers[TIMESTAMP_HEADER], call.headers[SIGNATURE_HEADER]
    assert not verify_signature(WEBHOOK_SECRET, call.body + b" ", ts, sig, utcnow())
    assert not verify_signature("another-secret", call.body, ts, sig, utcnow())
    assert not verify_signature(WEBHOOK_SECRET, call.body, ts, sig, utcnow() + timedelta(minutes=10))


def test_the_email_link_acknowledges_for_its_recipient_only(settings, demo, mailbox):
    alert = crisis(demo)
    dispatcher(settings, demo).run_once()
    body = mailbox.messages(alert.public_id)[0].get_content()
    token = body.split("/alerts/acknowledge?token=")[1].split()[0]
    claim = read_ack_token(SECRET_KEY, token, 3600)
    with demo() as session:
        therapist = session.scalar(select(Clinician).where(Clinician.email == THERAPIST))
    assert (claim.alert_public_id, claim.clinician_id) == (alert.public_id, therapist.id)


def test_message_text_is_included_only_when_configured(settings, demo, mailbox, hooks):
    alert = crisis(demo, text=SECRET_WORDS)
    dispatcher(dataclasses.replace(settings, alert_include_text=True), demo).run_once()
    assert SECRET_WORDS in mailbox.messages(alert.public_id)[0].get_content()
    assert hooks.bodies(alert.public_id)[0]["alert"]["texts"] == [SECRET_WORDS]


def test_emergency_goes_to_therapist_and_on_call_and_medical_findings_to_the_medical_contact(
        settings, demo, mailbox):
    emergency = crisis(demo, "demo-ava", level="emergency", categories=["suicidal_behavior"])
    medical = crisis(demo, "demo-jonah", level="urgent", categories=["medical"])
    dispatcher(settings, demo).run_once()
    assert sorted(mailbox.recipients(emergency.public_id)) == sorted([THERAPIST, ON_CALL])
    assert mailbox.messages(emergency.public_id)[0]["X-Priority"] == "1"
    assert sorted(mailbox.recipients(medical.public_id)) == sorted([THERAPIST, MEDICAL])


def test_an_inactive_therapist_is_covered_by_the_on_call_clinician(settings, demo, mailbox):
    with demo.begin() as session:
        session.execute(update(Clinician).where(Clinician.email == THERAPIST).values(is_active=False))
    alert = crisis(demo)
    dispatcher(settings, demo).run_once()
    assert mailbox.recipients(alert.public_id) == [ON_CALL]


def test_an_update_in_the_episode_is_sent_again_as_a_new_revision(settings, demo, mailbox, hooks):
    t0 = utcnow()
    alert = crisis(demo, at=t0)
    d = dispatcher(settings, demo)
    d.run_once()
    crisis(demo, at=t0 + timedelta(minutes=1))  # same level: joins silently
    assert d.run_once() == 0
    crisis(demo, level="emergency", categories=["suicidal_behavior"], at=t0 + timedelta(minutes=2))
    assert d.run_once() == 1
    mails = mailbox.messages(alert.public_id)
    assert [m["X-KAP-Alert-Revision"] for m in mails if m["To"] == THERAPIST] == ["1", "2"]
    update_mail = [m for m in mails if m["X-KAP-Alert-Revision"] == "2"][0]
    assert update_mail["In-Reply-To"] == f"<kap-alert-{alert.public_id}-1@cedargrove.example>"
    assert ON_CALL in mailbox.recipients(alert.public_id), "now an emergency: on-call at once"
    assert [b["alert"]["revision"] for b in hooks.bodies(alert.public_id)] == [1, 2]


def test_smtp_down_the_alert_is_retried_with_backoff_and_delivered_when_it_is_back(settings, demo):
    down = Mailbox(port=free_port())  # not listening yet: connections are refused
    settings = dataclasses.replace(settings, smtp_port=down.port)
    clock = Clock(utcnow() + timedelta(seconds=1))
    d = dispatcher(settings, demo, clock)
    alert = crisis(demo)

    delays = []
    for attempt in range(1, 4):
        assert d.run_once() == 0
        state = reload(demo, alert)
        assert state.delivery_attempts == attempt and state.claimed_by is None
        delays.append((state.delivery_due_at - clock()).total_seconds())
        assert d.run_once() == 0, "not retried before its time"
        clock.set(state.delivery_due_at)
    assert delays == [0.75, 1.5, 3.0]  # 1 s base, doubling, jitter fixed at 0.5

    failed = [x for x in deliveries(demo, alert) if x.channel == "email"]
    assert len(failed) == 3 and not any(x.succeeded for x in failed)
    assert "ConnectionRefusedError" in failed[0].detail
    webhook = [x for x in deliveries(demo, alert) if x.channel == "webhook"]
    assert [x.succeeded for x in webhook] == [True], "the webhook went out once, at once"

    down.start()
    try:
        assert d.run_once() == 1
        assert down.recipients(alert.public_id) == [THERAPIST]
    finally:
        down.stop()
    assert reload(demo, alert).delivery_due_at is None


def test_alerts_of_one_patient_are_delivered_in_order_per_channel(settings, demo, mailbox, hooks):
    t0 = utcnow()
    first = crisis(demo, at=t0)
    second = crisis(demo, at=t0 + timedelta(minutes=90))  # a second episode
    hooks.fail_next = 1
    clock = Clock(utcnow() + timedelta(seconds=1))
    d = dispatcher(settings, demo, clock)
    d.run_once()
    assert hooks.bodies() == [], "the first alert's webhook failed, so the second waits"
    assert mailbox.recipients(first.public_id) == [THERAPIST]
    assert mailbox.recipients(second.public_id) == [THERAPIST], "email is not held up by the webhook"
    clock.advance(minutes=1)
    d.run_once()
    d.run_once()
    assert [b["alert"]["id"] for b in hooks.bodies()] == [first.public_id, second.public_id]


def test_a_leased_alert_is_not_sent_by_a_second_dispatcher(settings, demo, mailbox):
    alert = crisis(demo)
    now = utcnow() + timedelta(seconds=1)
    with demo.begin() as session:
        assert outbox.claim(session, alert.id, "other-dispatcher", now, 60)
    d = dispatcher(settings, demo, Clock(now))
    assert d.deliver(alert.id) is None and mailbox.messages() == []
    expired = Dispatcher(settings, demo, build_notifiers(settings), clock=Clock(now + timedelta(seconds=61)))
    assert expired.deliver(alert.id) is True
    assert mailbox.recipients(alert.public_id) == [THERAPIST]


def test_an_alert_with_no_one_to_reach_stays_due(settings, demo, mailbox):
    settings = dataclasses.replace(settings, webhook_url="")
    with demo.begin() as session:
        session.execute(update(Clinician).values(is_active=False))
    alert = crisis(demo)
    dispatcher(settings, demo).run_once()
    state = reload(demo, alert)
    assert state.delivery_due_at is not None and state.delivery_attempts == 1
    assert [(d.channel, d.succeeded) for d in deliveries(demo, alert)] == [("none", False)]


def test_delivery_is_audited(settings, demo):
    alert = crisis(demo)
    dispatcher(settings, demo).run_once()
    with demo() as session:
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "alert.delivered"))
    assert event.object_id == alert.public_id and event.actor_type == "system"
    assert event.detail["revision"] == 1


def test_the_loop_survives_an_unreachable_database(settings, caplog):
    sessions = make_session_factory(make_engine(f"postgresql://kap@127.0.0.1:{free_port()}/kap"))
    d = Dispatcher(dataclasses.replace(settings, dispatcher_poll_ms=10), sessions,
                   build_notifiers(settings))
    stop = threading.Event()
    thread = threading.Thread(target=d.run_forever, args=(stop,))
    with caplog.at_level(logging.WARNING, logger="bot.escalation.dispatcher"):
        thread.start()
        wait_until(lambda: sum("database unavailable" in r.message for r in caplog.records) >= 2)
        assert thread.is_alive()
        stop.set()
        thread.join(30)
    assert not thread.is_alive()
    assert sum("database unavailable" in r.message for r in caplog.records) >= 2


def test_two_dispatchers_share_the_work_without_double_sends(settings, demo, mailbox):
    alerts = []
    for n in range(6):
        add_patient(demo, f"pair-{n}", f"P-PAIR{n}")
        alerts.append(crisis(demo, f"pair-{n}"))
    settings = dataclasses.replace(settings, webhook_url="", dispatcher_poll_ms=20)
    stops, threads = [], []
    for name in ("a", "b"):
        stop = threading.Event()
        d = Dispatcher(settings, demo, build_notifiers(settings), worker_id=name)
        threads.append(threading.Thread(target=d.run_forever, args=(stop,)))
        stops.append(stop)
    for t in threads:
        t.start()
    try:
        wait_until(lambda: len(mailbox.messages()) >= 6 and all(
            reload(demo, a).delivery_due_at is None for a in alerts))
    finally:
        for s in stops:
            s.set()
        for t in threads:
            t.join(30)
    assert sorted(m["X-KAP-Alert-ID"] for m in mailbox.messages()) == sorted(a.public_id for a in alerts)
    with demo() as session:
        assert session.scalar(select(CrisisAlert.id).where(CrisisAlert.delivery_due_at.is_not(None))) is None
