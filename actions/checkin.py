"""Check-ins: mood, anxiety, sleep and lingering dissociation, stored as a MoodCheckin."""
from __future__ import annotations

import logging
import threading
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from actions.common import (
    FormValidation,
    CHECKIN_SLOTS,
    as_int,
    is_command,
    latest_entity,
    latest_intent,
    latest_text,
    rating_from_message,
    reset,
    valid_rating,
)
from bot.conversation.checkin import (
    lingering_dissociation,
    needs_grounding,
    parse_dissociation,
    parse_sleep,
    save_checkin,
)
from bot.conversation.journal import current_phase
from bot.storage.runtime import session_factory
from bot.storage.patients import clinic_of, find_patient_by_sender

logger = logging.getLogger(__name__)


class ValidateCheckinForm(FormValidation):
    """Reads each answer from a quick-reply button or a few typed words."""

    def name(self) -> Text:
        return "validate_checkin_form"

    @staticmethod
    def _asked(tracker: Tracker, slot: str) -> bool:
        return tracker.get_slot("requested_slot") == slot and not is_command(tracker, ())

    def extract_checkin_mood(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        """Mood from 0 to 10."""
        return rating_from_message(tracker, "checkin_mood")

    def extract_checkin_anxiety(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        """Anxiety from 0 to 10."""
        return rating_from_message(tracker, "checkin_anxiety")

    def extract_checkin_sleep(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        """well / okay / poorly / barely."""
        if not self._asked(tracker, "checkin_sleep"):
            return {}
        value = parse_sleep(latest_text(tracker), latest_entity(tracker, "sleep_quality"))
        return {"checkin_sleep": value} if value else {}

    def extract_checkin_dissociation(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        """none / mild / strong."""
        if not self._asked(tracker, "checkin_dissociation"):
            return {}
        value = parse_dissociation(
            latest_text(tracker), latest_intent(tracker), latest_entity(tracker, "dissociation")
        )
        return {"checkin_dissociation": value} if value else {}

    def validate_checkin_mood(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        """0 to 10."""
        return valid_rating("checkin_mood", slot_value, dispatcher)

    def validate_checkin_anxiety(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        """0 to 10."""
        return valid_rating("checkin_anxiety", slot_value, dispatcher)


def _store(tracker: Tracker) -> tuple[bool, Optional[str], Optional[str]]:
    """Store the answers given so far; (stored, phase, clinic medical contact)."""
    return _store_answers(tracker.sender_id, {name: tracker.get_slot(name) for name in CHECKIN_SLOTS})


def _store_answers(sender_id: str, answers: Dict[str, Any]) -> tuple[bool, Optional[str], Optional[str]]:
    if all(value is None for value in answers.values()):
        return False, None, None
    try:
        with session_factory().begin() as session:
            patient = find_patient_by_sender(session, sender_id)
            if patient is None:
                return False, None, None
            save_checkin(
                session,
                patient.id,
                as_int(answers["checkin_mood"]),
                as_int(answers["checkin_anxiety"]),
                answers["checkin_sleep"],
                answers["checkin_dissociation"],
            )
            phase = current_phase(session, patient)
            contact = clinic_of(session, patient).medical_contact or "your clinic"
    except SQLAlchemyError:
        logger.warning("database unavailable when saving a check-in")
        return False, None, None
    return True, phase, contact


class ActionSaveCheckin(Action):
    """Stores the check-in; high anxiety or low mood sets distress_high (a grounding offer follows)."""

    def name(self) -> Text:
        return "action_save_checkin"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        stored, phase, contact = _store(tracker)
        dispatcher.utter_message(response="utter_checkin_saved" if stored else "utter_checkin_not_saved")
        if stored and lingering_dissociation(tracker.get_slot("checkin_dissociation"), phase):
            dispatcher.utter_message(response="utter_checkin_dissociation_note", contact=contact)
        distressed = needs_grounding(
            as_int(tracker.get_slot("checkin_mood")), as_int(tracker.get_slot("checkin_anxiety"))
        )
        return [SlotSet("distress_high", distressed)] + reset(CHECKIN_SLOTS)


class ActionStopCheckin(Action):
    """A check-in stopped early: the answers given so far are stored."""

    def name(self) -> Text:
        return "action_stop_checkin"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        _store(tracker)
        return reset(CHECKIN_SLOTS)


def store_interrupted_checkin(tracker: Tracker) -> Optional[threading.Thread]:
    """Store a check-in that a crisis interrupted, in the background; the thread, if any.

    The ratings a patient gave just before a crisis matter to the therapist, but
    the crisis reply must never wait on the database: the answers are copied now
    and written by a short-lived thread (a database that is down loses only this
    partial check-in, and says so in the log).
    """
    answers = {name: tracker.get_slot(name) for name in CHECKIN_SLOTS}
    if all(value is None for value in answers.values()):
        return None
    thread = threading.Thread(
        target=_store_answers, args=(tracker.sender_id, answers), name="interrupted-checkin", daemon=True
    )
    thread.start()
    return thread
