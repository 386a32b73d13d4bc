"""Alert channels. Each notifier turns the people an alert is for into targets on
its channel, and sends one AlertView to one target.

To add a channel, write a module here with a class that has a `channel` name,
`targets(recipients)` and `send(view, target)` (raising DeliveryError on
failure), and build it in `build_notifiers` from its settings.
"""
from __future__ import annotations

from typing import Protocol, Sequence

from bot.escalation.alerts import AlertView
from bot.escalation.outbox import Target
from bot.escalation.policy import Recipient
from bot.config.settings import Settings


class DeliveryError(Exception):
    """A send failed; the message is one line for the delivery log (no PHI)."""


class Notifier(Protocol):
    """One alert channel."""

    channel: str

    def targets(self, recipients: Sequence[Recipient]) -> list[Target]:
        """Where on this channel the alert goes, for these people."""

    def send(self, view: AlertView, target: Target) -> str:
        """Deliver to one target; return a short detail, or raise DeliveryError."""


def build_notifiers(settings: Settings) -> list[Notifier]:
    """Every channel that is configured: email with SMTP_HOST, the webhook with WEBHOOK_URL."""
    from bot.escalation.notifiers.email import EmailNotifier
    from bot.escalation.notifiers.webhook import WebhookNotifier

    notifiers: list[Notifier] = []
    if settings.smtp_host:
        notifiers.append(EmailNotifier(settings))
    if settings.webhook_url:
        notifiers.append(WebhookNotifier(settings))
    return notifiers
