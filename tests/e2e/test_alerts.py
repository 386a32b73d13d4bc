"""A crisis message sent to the running Rasa server reaches the care team as an
email (real SMTP server) and a signed webhook call (real HTTP receiver), sent by
the dispatcher running as its own process."""
import dataclasses

import pytest
from sqlalchemy import select

from bot.escalation.notifiers.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature
from bot.escalation.tokens import read_ack_token
from bot.storage.models import (
    AlertDelivery, Clinician, CrisisAlert, Patient, SafetyAssessment, utcnow,
)
from tests.servers import wait_for
from tests.unit.escalation.harness import HookReceiver, Mailbox, start_dispatcher, stop_process

pytestmark = pytest.mark.e2e

SECRET_KEY = "e2e-ack-key"
WEBHOOK_SECRET = "e2e-webhook-secret"
SENDER, PSEUDONYM = "e2e-alerts", "P-E2EA"
CRISIS_TEXT = "i want to kil myself"
THERAPIST = "rowan.hale@cedargrove.example"


@pytest.fixture(scope="module")
def channels(servers, tmp_path_factory):
    """An SMTP server, a webhook receiver and the dispatcher, over the servers' database."""
    mailbox, hooks = Mailbox().start(), HookReceiver().start()
    settings = dataclasses.replace(
        servers.settings, smtp_host="127.0.0.1", smtp_port=mailbox.port,
        smtp_sender="kap-alerts@cedargrove.example", webhook_url=hooks.url,
        webhook_secret=WEBHOOK_SECRET, public_base_url="https://kap.example")
    process = start_dispatcher(settings, tmp_path_factory.mktemp("dispatcher"), "e2e", SECRET_KEY)
    with servers.sessions.begin() as session:
        therapist = session.scalar(select(Clinician).where(Clinician.email == THERAPIST))
        session.add(Patient(clinic_id=therapist.clinic_id, therapist_id=therapist.id,
                            sender_id=SENDER, display_name="Robin", pseudonym=PSEUDONYM))
    try:
        yield mailbox, hooks
    finally:
        stop_process(process)
        hooks.stop()
        mailbox.stop()


def _alert(servers):
    with servers.sessions() as session:
        return session.scalar(
            select(CrisisAlert).join(Patient, CrisisAlert.patient_id == Patient.id)
            .where(Patient.sender_id == SENDER))


def test_a_crisis_message_arrives_as_an_email_and_a_signed_webhook(servers, channels):
    mailbox, hooks = channels
    assert servers.say(SENDER, CRISIS_TEXT), "the assistant answered"

    alert = wait_for(lambda: _alert(servers))
    assert alert is not None, "the alert was written with the assessment"
    assert alert.level in ("urgent", "emergency") and "suicidal_ideation" in alert.categories

    mails = wait_for(lambda: mailbox.messages(alert.public_id))
    assert mails, "no alert email arrived"
    therapist_mail = [m for m in mails if m["To"] == THERAPIST]
    assert therapist_mail, "the assigned therapist got the email"
    mail = therapist_mail[0]
    assert mail["Message-ID"] == f"<kap-alert-{alert.public_id}-1@cedargrove.example>"
    assert mail["X-KAP-Alert-Level"] == alert.level
    body = mail.get_content()
    assert PSEUDONYM in mail["Subject"] and PSEUDONYM in body
    assert "suicidal ideation" in body
    assert f"https://kap.example/alerts/{alert.public_id}" in body
    assert CRISIS_TEXT not in mail.as_string() and "Robin" not in mail.as_string()
    token = body.split("/alerts/acknowledge?token=")[1].split()[0]
    assert read_ack_token(SECRET_KEY, token, 3600).alert_public_id == alert.public_id

    calls = wait_for(lambda: [c for c in hooks.calls if c.json()["alert"]["id"] == alert.public_id])
    assert calls, "no webhook call arrived"
    call = calls[0]
    assert verify_signature(WEBHOOK_SECRET, call.body, call.headers[TIMESTAMP_HEADER],
                            call.headers[SIGNATURE_HEADER], utcnow())
    payload = call.json()
    assert payload["text"].startswith(f"{alert.level.upper()} crisis alert for patient {PSEUDONYM}")
    assert payload["alert"]["patient"] == PSEUDONYM
    assert payload["alert"]["level"] == alert.level
    assert "suicidal_ideation" in payload["alert"]["categories"]
    assert payload["alert"]["event_id"] == f"{alert.public_id}:1"
    assert CRISIS_TEXT.encode() not in call.body

    def delivered():
        with servers.sessions() as session:
            return set(session.scalars(select(AlertDelivery.channel).where(
                AlertDelivery.alert_id == alert.id, AlertDelivery.succeeded.is_(True))))

    assert wait_for(lambda: {"email", "webhook"} <= delivered()), "both deliveries are logged"


def test_a_second_crisis_message_in_the_episode_does_not_page_again(servers, channels):
    mailbox, _hooks = channels
    alert = wait_for(lambda: _alert(servers))
    wait_for(lambda: mailbox.messages(alert.public_id))
    servers.say(SENDER, CRISIS_TEXT)

    def linked():
        with servers.sessions() as session:
            return session.scalars(select(SafetyAssessment.id).where(
                SafetyAssessment.alert_id == alert.id)).all()

    assert wait_for(lambda: len(linked()) >= 2), "the second message joined the alert"
    with servers.sessions() as session:
        assert session.get(CrisisAlert, alert.id).revision == 1
        alerts = session.scalars(select(CrisisAlert.id).join(Patient, CrisisAlert.patient_id == Patient.id)
                                 .where(Patient.sender_id == SENDER)).all()
    assert alerts == [alert.id]
