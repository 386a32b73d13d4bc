"""Checks on a chat message before the assistant sees it.

A request must be well-formed JSON with a sender and a non-empty message of a
sane size. A text that looks like a Rasa intent payload ("/greet") bypasses
NLU, and so the safety screen, so only short button payloads are let through
as payloads; anything else starting with "/" is passed on as plain text.
"""
from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Callable, Optional

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import sessionmaker

from bot.safety.fragments import RecentMessages
from bot.storage.patients import find_patient_by_sender

MAX_SENDER_CHARS = 128
_BUTTON_PAYLOAD = re.compile(
    r'^/[a-z_]{1,40}(\{"[a-z_]{1,40}": ?(-?\d{1,3}|"[a-z0-9_-]{1,40}")\})?$'
)


class RejectedRequest(Exception):
    """The request cannot be handled; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class IncomingMessage:
    """A validated chat message."""

    sender: str
    text: str


def parse_webhook_body(body: bytes, max_chars: int) -> IncomingMessage:
    """Validate a REST webhook body: {"sender": "...", "message": "..."}."""
    if len(body) > max_chars * 4 + 4096:
        raise RejectedRequest(413, f"message too long: the limit is {max_chars} characters")
    try:
        payload = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise RejectedRequest(400, "request body is not valid UTF-8") from None
    except json.JSONDecodeError:
        raise RejectedRequest(400, "request body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise RejectedRequest(400, 'request body must be a JSON object {"sender", "message"}')
    sender, text = payload.get("sender"), payload.get("message")
    if not isinstance(sender, str) or not sender.strip():
        raise RejectedRequest(400, "'sender' must be a non-empty string")
    if len(sender) > MAX_SENDER_CHARS:
        raise RejectedRequest(400, f"'sender' is longer than {MAX_SENDER_CHARS} characters")
    if not isinstance(text, str):
        raise RejectedRequest(400, "'message' must be a string")
    if not text.strip():
        raise RejectedRequest(400, "'message' is empty")
    if len(text) > max_chars:
        raise RejectedRequest(
            413,
            f"message too long: {len(text)} characters, the limit is {max_chars}; "
            "please send it in parts",
        )
    return IncomingMessage(sender=sender.strip(), text=as_screenable_text(text))


def as_screenable_text(text: str) -> str:
    """Let only short button payloads through as payloads; screen everything else."""
    stripped = text.strip()
    if stripped.startswith("/") and not _BUTTON_PAYLOAD.match(stripped):
        return stripped.lstrip("/").strip() or stripped
    return text


NOT_ENROLLED = "not_enrolled"


def enrolment_status(session_factory: sessionmaker, sender: str) -> Optional[str]:
    """The sender's patient status (active, paused, discharged), NOT_ENROLLED, or None if the
    database could not say."""
    try:
        with session_factory() as session:
            patient = find_patient_by_sender(session, sender)
            return patient.status if patient is not None else NOT_ENROLLED
    except SQLAlchemyError:
        return None


ACTIVE = "active"
# An active patient's status is looked up at most this often, so a discharge
# reaches an open chat within this time. Any other answer is not remembered: an
# enrolment takes effect at once, and a closed chat stays closed.
ACTIVE_STATUS_SECONDS = 30.0


class EnrolmentLookup:
    """enrolment_status, remembering for `ttl` seconds that a sender is an active patient.

    In memory, bounded (the least recently seen senders are forgotten first), thread-safe.
    """

    def __init__(self, session_factory: sessionmaker, ttl: float = ACTIVE_STATUS_SECONDS,
                 clock: Callable[[], float] = time.monotonic, max_senders: int = 10_000) -> None:
        self._sessions = session_factory
        self._active = RecentMessages(max_senders=max_senders, clock=clock, ttl=ttl)

    def remembered(self, sender: str) -> Optional[str]:
        """ACTIVE if the sender was found active within the last `ttl` seconds, else None."""
        return ACTIVE if self._active.get(sender) == ACTIVE else None

    def __call__(self, sender: str) -> Optional[str]:
        """The sender's status, as enrolment_status gives it; from memory while it is fresh."""
        if self.remembered(sender):
            return ACTIVE
        status = enrolment_status(self._sessions, sender)
        self._active.put(sender, ACTIVE if status == ACTIVE else None)
        return status
