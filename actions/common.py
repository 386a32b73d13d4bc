"""Helpers shared by the action modules: replies, the latest assessment, durable writes."""
from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from functools import lru_cache
from typing import Any, Dict, Iterable, Optional, Text

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import REQUESTED_SLOT

from bot.conversation.checkin import is_valid_rating, parse_rating
from bot.conversation.commands import is_command_text
from bot.service.durable import DurableWriter
from bot.conversation.journal import DraftSnapshot, apply_snapshot
from bot.storage.runtime import session_factory, settings
from bot.safety import screen as safe_screen  # process-wide; never raises
from bot.conversation.questionnaire import QuestionnaireSnapshot, apply_questionnaire
from bot.conversation.preparation import (
    IntentionSnapshot, PreparationSnapshot, apply_intention, apply_preparation,
)
from bot.conversation.screener import ScreeningSnapshot, apply_screening
from bot.conversation.utterance import Utterance

logger = logging.getLogger(__name__)

# The screen routes these; they always interrupt, whatever the message says.
SCREEN_INTENTS = frozenset({"crisis", "medical_red_flag"})

JOURNAL_SLOTS = (
    "journal_text",
    "journal_done",
    "journal_follow_up",
    "journal_draft",
    "journal_entry_key",
    "journal_entry_id",
    "journal_prompt_id",
    "journal_prompt_text",
    "journal_opened_at",
    "journal_skipped",
    "journal_spooled",
)
GROUNDING_SLOTS = (
    "grounding_exercise",
    "grounding_distress_before",
    "grounding_progress",
    "grounding_step",
    "grounding_distress_after",
    "grounding_session_id",
)
CHECKIN_SLOTS = ("checkin_mood", "checkin_anxiety", "checkin_sleep", "checkin_dissociation")
SCREENER_SLOTS = (
    "crisis_level",
    "crisis_screening_key",
    "crisis_started_at",
    "crisis_safe_now",
    "cssrs_q1",
    "cssrs_q2",
    "cssrs_q3",
    "cssrs_q4",
    "cssrs_q5",
    "cssrs_q6",
    "cssrs_q6_recent",
)


class FormValidation(FormValidationAction, ABC):
    """Form validation that always names the next slot to ask for, in required_slots order.

    The SDK leaves that choice to Rasa whenever required_slots equals the
    domain's list; deciding it in one place keeps the order in one place.
    """

    @abstractmethod
    def name(self) -> Text:
        """validate_<form name>."""

    async def next_requested_slot(self, dispatcher, tracker, domain):
        """The first required slot still empty (None when the form is complete)."""
        required = await self.required_slots(self.domain_slots(domain), dispatcher, tracker, domain)
        return SlotSet(REQUESTED_SLOT, next((s for s in required if tracker.slots.get(s) is None), None))


def utter_all(dispatcher: CollectingDispatcher, utterances: Iterable[Utterance]) -> None:
    """Send domain responses in order, with their template variables."""
    for utterance in utterances:
        dispatcher.utter_message(response=utterance.response, **utterance.variables)


def latest_safety(tracker) -> dict:
    """The safety assessment the NLU screen attached to the latest message.

    Missing means the screen did not run: for a crisis action that is treated
    as a screen error (urgent), never as "nothing found".
    """
    return (tracker.latest_message or {}).get("safety") or {
        "level": "urgent",
        "categories": ["screen_error"],
        "findings": [],
    }


def latest_level(tracker) -> Optional[str]:
    """The latest message's screen level, or None if it carries no assessment."""
    return ((tracker.latest_message or {}).get("safety") or {}).get("level")


def latest_text(tracker) -> str:
    """The text of the latest user message."""
    return ((tracker.latest_message or {}).get("text") or "").strip()


def latest_intent(tracker) -> Optional[str]:
    """The intent of the latest user message."""
    return ((tracker.latest_message or {}).get("intent") or {}).get("name")


def latest_entity(tracker, entity: str) -> Any:
    """The value of an entity in the latest message (button payloads carry them)."""
    return next(tracker.get_latest_entity_values(entity), None)


def is_command(tracker, intents: Iterable[str]) -> bool:
    """True if the latest message is a command with one of `intents` (bot.conversation.commands).

    Crisis and medical intents always count, whatever the message says.
    """
    intent = latest_intent(tracker)
    if intent in SCREEN_INTENTS:
        return True
    if intent not in set(intents):
        return False
    confidence = ((tracker.latest_message or {}).get("intent") or {}).get("confidence") or 0.0
    return is_command_text(latest_text(tracker), intent, confidence)


def reset(*groups: Iterable[str]) -> list:
    """SlotSet(None) events for every slot in the given groups."""
    return [SlotSet(name, None) for group in groups for name in group]


def _journal_handler(session, record: dict):
    return apply_snapshot(session, DraftSnapshot.from_record(record), safe_screen)


def _screening_handler(session, record: dict):
    return apply_screening(session, ScreeningSnapshot.from_record(record)).id


def _questionnaire_handler(session, record: dict):
    return apply_questionnaire(session, QuestionnaireSnapshot.from_record(record)).id


def _intention_handler(session, record: dict):
    return apply_intention(session, IntentionSnapshot.from_record(record)).id


def _preparation_handler(session, record: dict):
    return apply_preparation(session, PreparationSnapshot.from_record(record)).id


@lru_cache(maxsize=1)
def durable_writer() -> DurableWriter:
    """This process's writer for journal steps, screener, questionnaire and preparation answers, started on first use."""
    writer = DurableWriter(
        session_factory(),
        settings().spool_dir / "records",
        {"journal": _journal_handler, "screening": _screening_handler,
         "questionnaire": _questionnaire_handler, "intention": _intention_handler,
         "preparation": _preparation_handler},
    )
    return writer.start()


def as_int(value: Any) -> Optional[int]:
    """A numeric slot value (stored as float by Rasa) as an int, or None."""
    return int(value) if value is not None else None


def rating_from_message(tracker: Tracker, slot: str) -> Dict[Text, Any]:
    """A 0-10 rating for `slot` from a button or typed text, when `slot` was asked."""
    if tracker.get_slot("requested_slot") != slot or is_command(tracker, ()):
        return {}
    value = parse_rating(latest_text(tracker), latest_entity(tracker, "rating"))
    return {slot: value} if value is not None else {}


def valid_rating(slot: str, value: Any, dispatcher: CollectingDispatcher) -> Dict[Text, Any]:
    """The rating as a slot value, or None and a gentle re-ask if it is not 0-10."""
    rating = as_int(value)
    if not is_valid_rating(rating):
        dispatcher.utter_message(response="utter_rating_invalid")
        return {slot: None}
    return {slot: float(rating)}

