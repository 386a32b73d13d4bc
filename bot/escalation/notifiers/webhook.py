"""Alert webhook: a signed JSON POST that Slack and Microsoft Teams incoming
webhooks display (they show the top-level "text"), with the structured alert
under "alert" for any other receiver.

Signature: `X-KAP-Signature: sha256=<hex>`, the HMAC-SHA256 with WEBHOOK_SECRET
of `<X-KAP-Timestamp>.` followed by the raw body. A receiver recomputes it,
refuses a timestamp older than a few minutes (replay) and de-duplicates on
`alert.event_id` (alert id and revision); `verify_signature` does the first two.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.request
from datetime import datetime
from typing import Optional, Sequence
from urllib.parse import urlsplit

from bot.escalation.alerts import AlertView
from bot.escalation.notifiers.format import headline
from bot.escalation.outbox import Target
from bot.escalation.policy import Recipient
from bot.config.settings import Settings
from bot.storage.models import utcnow

CHANNEL = "webhook"
SIGNATURE_HEADER = "X-KAP-Signature"
TIMESTAMP_HEADER = "X-KAP-Timestamp"
DEFAULT_TOLERANCE_SECONDS = 300


class WebhookNotifier:
    """POSTs every alert revision once to the configured webhook."""

    channel = CHANNEL

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.address = webhook_label(settings.webhook_url)

    def targets(self, recipients: Sequence[Recipient]) -> list[Target]:
        """The one webhook, whoever the people are."""
        return [Target(CHANNEL, self.address, None, "webhook")]

    def send(self, view: AlertView, target: Target) -> str:
        """POST the alert; any answer but 2xx is a failure."""
        from bot.escalation.notifiers import DeliveryError

        now = utcnow()
        body = json.dumps(payload(view, now), ensure_ascii=False).encode("utf-8")
        timestamp = str(int(now.timestamp()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "kap-alerts/1",
            TIMESTAMP_HEADER: timestamp,
            "X-KAP-Alert-ID": view.public_id,
            "X-KAP-Event-ID": view.event_id,
        }
        if self.settings.webhook_secret:
            headers[SIGNATURE_HEADER] = sign(self.settings.webhook_secret, timestamp, body)
        request = urllib.request.Request(self.settings.webhook_url, data=body,
                                         headers=headers, method="POST")
        try:
            with _OPENER.open(request, timeout=self.settings.webhook_timeout_seconds) as reply:
                status = reply.status
        except urllib.error.HTTPError as exc:
            raise DeliveryError(f"HTTP {exc.code} from {self.address}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DeliveryError(f"{self.address}: {type(exc).__name__}: {reason}"[:300]) from None
        if not 200 <= status < 300:
            raise DeliveryError(f"HTTP {status} from {self.address}")
        return f"HTTP {status} from {self.address}"


def payload(view: AlertView, now: datetime) -> dict:
    """The JSON document: `text` for chat tools, `alert` for programs."""
    alert = {
        "id": view.public_id,
        "revision": view.revision,
        "event_id": view.event_id,
        "level": view.level,
        "categories": list(view.categories),
        "stage": view.stage,
        "status": view.status,
        "patient": view.patient_pseudonym,
        "clinic": view.clinic_name,
        "created_at": view.created_at.isoformat(),
        "last_activity_at": view.last_activity_at.isoformat(),
        "message_count": view.message_count,
        "url": view.url,
    }
    if view.texts:
        alert["texts"] = list(view.texts)
    return {"text": f"{headline(view)}. Open: {view.url}", "alert": alert,
            "sent_at": now.isoformat()}


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header value for `body` sent at `timestamp` (Unix seconds)."""
    digest = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body,
                      hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(secret: str, body: bytes, timestamp: Optional[str], signature: Optional[str],
                     now: datetime, tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS) -> bool:
    """What a receiver checks: a valid signature on a recent timestamp."""
    if not timestamp or not signature or not timestamp.isdigit():
        return False
    if abs(now.timestamp() - int(timestamp)) > tolerance_seconds:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def webhook_label(url: str) -> str:
    """How the webhook appears in the delivery log: host and a short hash, never the URL,
    which for Slack and Teams is itself a secret."""
    host = urlsplit(url).hostname or "webhook"
    return f"{host}#{hashlib.sha256(url.encode('utf-8')).hexdigest()[:8]}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a redirected alert POST is a failure to look into, not to follow


_OPENER = urllib.request.build_opener(_NoRedirect)
