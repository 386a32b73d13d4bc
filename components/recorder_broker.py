"""An event broker that records every turn of an enrolled patient's conversation.

Configured in endpoints.yml. `publish` only spools the turn to local disk
(fast and durable) and returns; a background thread writes it to the database,
so a locked or unreachable database never delays a patient's reply.
"""
from __future__ import annotations

import logging
import uuid
from asyncio import AbstractEventLoop
from typing import Any, Dict, Optional, Text

from rasa.core.brokers.broker import EventBroker
from rasa.utils.endpoints import EndpointConfig

from bot.service.recorder import start_turn_recorder
from bot.service.turns import turn_record

logger = logging.getLogger(__name__)


class TurnRecorderBroker(EventBroker):
    """Spools user and bot messages (with the user's safety assessment)."""

    def __init__(self) -> None:
        self._drainer = start_turn_recorder()

    @classmethod
    async def from_endpoint_config(
        cls,
        broker_config: EndpointConfig,
        event_loop: Optional[AbstractEventLoop] = None,
    ) -> "TurnRecorderBroker":
        """Create the broker named in endpoints.yml."""
        return cls()

    def publish(self, event: Dict[Text, Any]) -> None:
        """Spool one conversation event if it is a message."""
        record = _record_from_event(event)
        if record is None:
            return
        try:
            self._drainer.submit(record)
        except OSError:
            # The disk refused the spool file: log loudly, never break the turn.
            logger.exception("could not spool a conversation turn for later recording")

    async def close(self) -> None:
        """Stop the background writer; unwritten turns stay spooled."""
        self._drainer.stop()


def _record_from_event(event: Dict[Text, Any]) -> Optional[dict]:
    kind = event.get("event")
    if kind == "user":
        parse_data = event.get("parse_data") or {}
        return turn_record(
            event["sender_id"],
            "patient",
            event.get("text") or "",
            event.get("message_id") or uuid.uuid4().hex,
            timestamp=event.get("timestamp"),
            intent=(parse_data.get("intent") or {}).get("name"),
            safety=parse_data.get("safety"),
        )
    if kind == "bot" and event.get("text"):
        return turn_record(
            event["sender_id"],
            "assistant",
            event["text"],
            uuid.uuid4().hex,
            timestamp=event.get("timestamp"),
        )
    return None
