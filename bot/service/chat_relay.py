"""Relaying a patient's chat message to Rasa's REST channel and reading its replies.

The caller passes the sender id of the signed-in patient; nothing here takes
it from a request. Each message carries a fresh chat token for that sender,
signed with the installation's key, which the REST channel checks. Only text and button replies are kept; anything else Rasa
could send (images, custom payloads) is dropped.
"""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass

from bot.service.credentials import AUTHORIZATION_SCHEME, issue_chat_token

WEBHOOK_PATH = "/webhooks/rest/webhook"
MAX_BUTTONS = 12
MAX_PAYLOAD_CHARS = 500


class RelayError(Exception):
    """The message did not reach the assistant or got no usable answer."""

    def __init__(self, message: str, status: int = 503):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Button:
    """A quick reply: what it says, and what it sends."""

    title: str
    payload: str


@dataclass(frozen=True)
class Reply:
    """One message from the assistant."""

    text: str
    buttons: tuple[Button, ...] = ()

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return {"text": self.text,
                "buttons": [{"title": b.title, "payload": b.payload} for b in self.buttons]}


def relay(rasa_url: str, sender_id: str, message: str, timeout: float, secret_key: str) -> list[Reply]:
    """POST one message as `sender_id`, with a chat token signed by `secret_key`; return the replies.

    Raises RelayError with status 503 if Rasa cannot be reached, 400 or 413
    if Rasa refused the message, and 502 for any other answer (a 401 means
    Rasa and this process do not share the signing key).
    """
    body = json.dumps({"sender": sender_id, "message": message}).encode("utf-8")
    token = issue_chat_token(secret_key, sender_id)
    request = urllib.request.Request(
        rasa_url.rstrip("/") + WEBHOOK_PATH, data=body, method="POST",
        headers={"Content-Type": "application/json", "Accept": "application/json",
                 "Authorization": f"{AUTHORIZATION_SCHEME} {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            raw = answer.read(2_000_000)
    except urllib.error.HTTPError as exc:
        if exc.code in (400, 413):
            raise RelayError(_error_text(exc), exc.code) from None
        if exc.code == 401:
            raise RelayError("the assistant refused this process's credential: "
                             "do the web app and Rasa share SECRET_KEY?", 502) from None
        raise RelayError(f"the assistant answered with an error ({exc.code})", 502) from None
    except (urllib.error.URLError, OSError) as exc:
        raise RelayError("the assistant cannot be reached right now", 503) from exc
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise RelayError("the assistant sent an answer that could not be read", 502) from None
    if not isinstance(data, list):
        raise RelayError("the assistant sent an answer that could not be read", 502)
    return [reply for reply in (_reply(item) for item in data) if reply is not None]


def _reply(item) -> "Reply | None":
    if not isinstance(item, dict):
        return None
    text = item.get("text") if isinstance(item.get("text"), str) else ""
    buttons = []
    for raw in item.get("buttons") or []:
        if isinstance(raw, dict) and isinstance(raw.get("title"), str) and isinstance(raw.get("payload"), str):
            if len(raw["payload"]) <= MAX_PAYLOAD_CHARS:
                buttons.append(Button(raw["title"], raw["payload"]))
    if not text and not buttons:
        return None
    return Reply(text, tuple(buttons[:MAX_BUTTONS]))


def _error_text(exc: urllib.error.HTTPError) -> str:
    try:
        detail = json.loads(exc.read(10_000).decode("utf-8")).get("error")
    except (ValueError, UnicodeDecodeError, AttributeError, OSError):
        detail = None
    return str(detail) if detail else "the assistant could not accept this message"
