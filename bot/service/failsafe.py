"""What a patient in crisis gets when the assistant cannot answer.

The REST channel adds the crisis lines when the action server is down; the web
app's relay uses `crisis_fallback` when Rasa itself cannot be reached, and the
channel uses it for a discharged patient, whose chat is closed. Every time a
crisis message gets the clinic's crisis lines, and the message is recorded
with its safety assessment, so its alert is queued like any other.
"""
from __future__ import annotations

import logging
import time
import uuid
from functools import lru_cache
from pathlib import Path
from typing import Optional

import yaml

from bot.config.settings import REPO_ROOT

logger = logging.getLogger(__name__)


@lru_cache(maxsize=None)
def domain_response(name: str, domain_file: Path = REPO_ROOT / "domain.yml") -> str:
    """The first text of response `name` in the domain."""
    with domain_file.open(encoding="utf-8") as handle:
        responses = yaml.safe_load(handle)["responses"]
    return responses[name][0]["text"]


def failsafe_text(resources_text: str) -> str:
    """The apology that carries the crisis lines (`utter_failsafe`)."""
    return domain_response("utter_failsafe").replace("{resources}", resources_text)


def crisis_fallback(session_factory, spool_dir: Path, sender_id: str, text: str,
                    default_resources: str, previous: Optional[str] = None) -> Optional[str]:
    """The clinic's crisis lines, formatted, if `text` is a crisis message; else None.

    The message is screened here; a crisis (or a screen that failed) is
    recorded with its assessment in the database, which raises its alert in
    the same transaction, or spooled for the recorder if the database is away.
    `previous` is the sender's last message, so a sentence typed in two pieces is read whole.
    """
    from bot.conversation.crisis import format_resources, load_crisis_context
    from bot.conversation.routing import intent_for
    from bot.safety import screen
    from bot.safety.fragments import screen_with_previous
    from bot.service.spool import Spool
    from bot.service.turns import record_turn, turn_record

    assessment = screen_with_previous(screen, previous, text).to_dict()
    if intent_for(assessment) is None:
        return None
    record = turn_record(sender_id, "patient", text, f"failsafe-{uuid.uuid4().hex}",
                         timestamp=time.time(), safety=assessment)
    try:
        with session_factory.begin() as session:
            record_turn(session, record)
    except Exception:
        logger.exception("could not record a crisis message while the assistant was down; spooling it")
        try:
            Spool(Path(spool_dir) / "turns").append(record)
        except OSError:
            logger.exception("could not spool a crisis message either")
    context = load_crisis_context(session_factory, sender_id, default_resources)
    return format_resources(context.resources)
