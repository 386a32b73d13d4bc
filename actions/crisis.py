"""The crisis protocol (resources, care team, C-SSRS screener, safety plan) and the medical one."""
from __future__ import annotations

import logging
import uuid
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.checkin import store_interrupted_checkin
from actions.common import (
    FormValidation,
    CHECKIN_SLOTS,
    GROUNDING_SLOTS,
    JOURNAL_SLOTS,
    SCREENER_SLOTS,
    durable_writer,
    latest_intent,
    latest_level,
    latest_safety,
    latest_text,
    reset,
    utter_all,
)
from bot.conversation.crisis import crisis_close_reply, crisis_reply, load_crisis_context, medical_reply
from bot.storage.runtime import session_factory, settings
from bot.conversation.screener import (
    NO,
    QUESTIONS,
    SAFE_NOW,
    ScreeningSnapshot,
    answered,
    is_complete,
    parse_answer,
    questions_to_ask,
    risk_level,
)
from bot.storage.models import utcnow

logger = logging.getLogger(__name__)

CRISIS_LEVELS = ("urgent", "emergency")


def _context(tracker: Tracker):
    fallback = tracker.get_slot("crisis_resource_set") or settings().default_crisis_resource_set
    return load_crisis_context(session_factory(), tracker.sender_id, fallback)


def _record(tracker: Tracker, answers: dict, status: str = "in_progress") -> None:
    """Write the screener's answers so far; the spool keeps them if the database is away."""
    key = tracker.get_slot("crisis_screening_key")
    if key:
        _write(ScreeningSnapshot(
            key=key,
            sender_id=tracker.sender_id,
            trigger_level=tracker.get_slot("crisis_level") or "urgent",
            answers=answers,
            status=status,
            started_at=tracker.get_slot("crisis_started_at"),
        ))


def _write(snapshot: ScreeningSnapshot) -> None:
    # Recording must never cost the patient their reply: nothing here may raise.
    try:
        durable_writer().write(snapshot.to_record())
    except LookupError:
        logger.warning("screener answers not recorded: the sender is not an enrolled patient")
    except Exception:
        logger.exception("screener answers could not be recorded or spooled")


class ActionCrisisProtocol(Action):
    """Crisis resources at once, the care team notified, call-now at emergency; the screener follows."""

    def name(self) -> Text:
        return "action_crisis_protocol"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        return start_crisis_protocol(dispatcher, tracker, latest_safety(tracker)["level"])


def start_crisis_protocol(dispatcher: CollectingDispatcher, tracker: Tracker, level: str) -> List[Dict[Text, Any]]:
    """The crisis lines at once, the care team notified, call-now at emergency; the screener's slots set.

    Also what a PHQ-9 item 9 above 0 starts (actions/questionnaire.py).
    """
    if level not in CRISIS_LEVELS:
        level = "urgent"  # the protocol runs at urgent at least, whatever started it
    context = _context(tracker)
    utter_all(dispatcher, crisis_reply(level, context.resources))
    store_interrupted_checkin(tracker)
    key, started_at = uuid.uuid4().hex, utcnow().isoformat()
    events = reset(JOURNAL_SLOTS, GROUNDING_SLOTS, CHECKIN_SLOTS, SCREENER_SLOTS) + [
        SlotSet("crisis_level", level),
        SlotSet("crisis_screening_key", key),
        SlotSet("crisis_started_at", started_at),
    ]
    # Record that the screener started, before any answer.
    _write(ScreeningSnapshot(key, tracker.sender_id, level, {}, "in_progress", started_at))
    return events


class ValidateCssrsForm(FormValidation):
    """Asks the C-SSRS screener questions with its skip logic; records each answer at once."""

    def name(self) -> Text:
        return "validate_cssrs_form"

    async def required_slots(
        self,
        domain_slots: List[Text],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> List[Text]:
        """The questions of this run, given the answers so far."""
        return questions_to_ask(_answers(tracker), tracker.get_slot("crisis_level") or "urgent")

    def _extract(self, question: str, tracker: Tracker) -> Dict[Text, Any]:
        if tracker.get_slot("requested_slot") != question:
            return {}
        answer = parse_answer(question, latest_intent(tracker), latest_text(tracker))
        return {question: answer} if answer else {}

    def _validate(
        self, question: str, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> Dict[Text, Any]:
        answers = {**_answers(tracker), question: value}
        level = tracker.get_slot("crisis_level") or "urgent"
        result: Dict[Text, Any] = {question: value}
        context = None
        if question == SAFE_NOW and value == NO:
            context = _context(tracker)
            dispatcher.utter_message(
                response="utter_crisis_not_safe", emergency=context.resources.emergency
            )
        # A high-risk answer, or an emergency-level message, raises the protocol to
        # emergency: the patient is told to call now, and asked whether they are safe.
        if level != "emergency" and (
            risk_level(answers, level) == "emergency" or latest_level(tracker) == "emergency"
        ):
            context = context or _context(tracker)
            dispatcher.utter_message(
                response="utter_crisis_emergency", emergency=context.resources.emergency
            )
            result["crisis_level"] = "emergency"
        _record(tracker, answered(answers))
        return result


def _answers(tracker: Tracker) -> dict:
    return {q: tracker.get_slot(q) for q in QUESTIONS}


def _extractor(question: str):
    def extract(self, dispatcher, tracker, domain):
        return self._extract(question, tracker)

    extract.__doc__ = f"The answer to {question}: yes, no or declined."
    return extract


def _validator(question: str):
    def validate(self, slot_value, dispatcher, tracker, domain):
        return self._validate(question, slot_value, dispatcher, tracker)

    validate.__doc__ = f"Record the answer to {question}; escalate if it shows emergency risk."
    return validate


for _question in QUESTIONS:
    setattr(ValidateCssrsForm, f"extract_{_question}", _extractor(_question))
    setattr(ValidateCssrsForm, f"validate_{_question}", _validator(_question))


class ActionCrisisClose(Action):
    """The calm close, only after the screener: thanks, the safety plan (or the lines again)."""

    def name(self) -> Text:
        return "action_crisis_close"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        answers = _answers(tracker)
        completed = is_complete(answers, tracker.get_slot("crisis_level") or "urgent")
        _record(tracker, answered(answers), "completed" if completed else "stopped")
        context = _context(tracker)
        utter_all(dispatcher, crisis_close_reply(completed, context.resources, context.plan_text))
        return reset(SCREENER_SLOTS)


class ActionMedicalProtocol(Action):
    """A medical red flag: the clinic's medical contact, and emergency guidance if needed."""

    def name(self) -> Text:
        return "action_medical_protocol"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        context = _context(tracker)
        level = latest_safety(tracker)["level"]
        utter_all(dispatcher, medical_reply(level, context.resources, context.medical_contact))
        store_interrupted_checkin(tracker)
        # The screener, if one is running, goes on; any other form was closed.
        return reset(JOURNAL_SLOTS, GROUNDING_SLOTS, CHECKIN_SLOTS)
