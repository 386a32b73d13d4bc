"""Alert email over SMTP (STARTTLS and login when configured), one message per person.

The Message-ID is derived from the alert id and revision, so a message sent
twice (after a crash) is recognisably the same message; updates of one alert
thread under its first message.
"""
from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Optional, Sequence

from bot.escalation.alerts import AlertView
from bot.escalation.notifiers.format import (
    categories_text, escalation_note, headline, local_time,
)
from bot.escalation.outbox import Target
from bot.escalation.policy import Recipient
from bot.config.settings import Settings
from bot.storage.models import utcnow

CHANNEL = "email"


class EmailNotifier:
    """Sends each recipient with an email address their own alert email."""

    channel = CHANNEL

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._secret: Optional[str] = None

    def targets(self, recipients: Sequence[Recipient]) -> list[Target]:
        """One target per person with an email address."""
        return [Target(CHANNEL, r.email, r.clinician_id, r.role) for r in recipients if r.email]

    def send(self, view: AlertView, target: Target) -> str:
        """Send the alert to one address."""
        from bot.escalation.notifiers import DeliveryError

        try:
            message = self.render(view, target)
        except (OSError, RuntimeError, ValueError) as exc:
            raise DeliveryError(f"could not build the message: {exc}") from None
        return send_email(self.settings, message, DeliveryError)

    def render(self, view: AlertView, target: Target) -> EmailMessage:
        """The email for one target (an acknowledgement link if it is a clinician)."""
        settings = self.settings
        message = EmailMessage()
        message["Subject"] = headline(view)
        message["From"] = settings.smtp_sender
        message["To"] = target.address
        message["Date"] = format_datetime(utcnow())
        message["Message-ID"] = message_id(view.public_id, view.revision, settings.smtp_sender)
        if view.revision > 1:
            first = message_id(view.public_id, 1, settings.smtp_sender)
            message["In-Reply-To"] = first
            message["References"] = first
        message["X-KAP-Alert-ID"] = view.public_id
        message["X-KAP-Alert-Revision"] = str(view.revision)
        message["X-KAP-Alert-Level"] = view.level
        message["Auto-Submitted"] = "auto-generated"
        if view.level == "emergency":
            message["X-Priority"] = "1"
            message["Importance"] = "high"
        message.set_content(self._body(view, target))
        return message

    def _body(self, view: AlertView, target: Target) -> str:
        lines = [headline(view) + ".", ""]
        note = escalation_note(view)
        if note:
            lines += [note, ""]
        lines += [
            f"Level:           {view.level}",
            f"Categories:      {categories_text(view.categories)}",
            f"Patient:         {view.patient_pseudonym} ({view.clinic_name})",
            f"First message:   {local_time(view.created_at, view.clinic_timezone)}",
            f"Latest message:  {local_time(view.last_activity_at, view.clinic_timezone)}",
            f"Messages:        {view.message_count}",
            f"Status:          {view.status}",
            "",
            f"Open the alert:  {view.url}",
        ]
        if target.clinician_id is not None and view.status == "open":
            lines.append(f"Acknowledge:     {self._ack_link(view, target)}")
            lines.append(f"                 (this link is yours and works for "
                         f"{self.settings.ack_link_hours} hours)")
        lines.append("")
        if view.texts:
            lines.append("What the patient wrote:")
            lines += [f"  > {line}" for text in view.texts for line in text.splitlines() or [""]]
        else:
            lines.append("The patient's words are not included in this email; "
                         "open the alert to read them.")
        lines += ["", f"Alert id: {view.public_id} (revision {view.revision})"]
        return "\n".join(lines) + "\n"

    def _ack_link(self, view: AlertView, target: Target) -> str:
        from bot.escalation.tokens import ack_url, make_ack_token, signing_key

        if self._secret is None:
            self._secret = signing_key(self.settings)
        token = make_ack_token(self._secret, view.public_id, target.clinician_id)
        return ack_url(self.settings.public_base_url, token)


def message_id(public_id: str, revision: int, sender: str) -> str:
    """A stable Message-ID for one revision of one alert."""
    domain = sender.rpartition("@")[2] or "kap.localhost"
    return f"<kap-alert-{public_id}-{revision}@{domain}>"


def send_email(settings: Settings, message: EmailMessage, error: type = RuntimeError) -> str:
    """Send `message` through the configured SMTP server; raise `error` on failure."""
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port,
                          timeout=settings.smtp_timeout_seconds) as smtp:
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_username:
                smtp.login(settings.smtp_username, settings.smtp_password)
            refused = smtp.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        raise error(f"SMTP {settings.smtp_host}:{settings.smtp_port}: {_one_line(exc)}") from None
    if refused:
        raise error(f"SMTP refused {', '.join(refused)}")
    return f"accepted by {settings.smtp_host}:{settings.smtp_port}"


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]
