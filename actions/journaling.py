"""The journaling form: a prompt, the patient's words, saved and screened."""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from bot.journal import add_text, save_entry, start_draft
from bot.runtime import screen, session_factory
from bot.storage.patients import find_patient_by_sender

logger = logging.getLogger(__name__)


def _entry_id(tracker: Tracker) -> Optional[int]:
    value = tracker.get_slot("journal_entry_id")
    return int(value) if value is not None else None


class ActionAskJournalText(Action):
    """Opens a draft and offers a prompt that fits the patient's phase."""

    def name(self) -> Text:
        return "action_ask_journal_text"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        try:
            with session_factory().begin() as session:
                patient = find_patient_by_sender(session, tracker.sender_id)
                if patient is None:
                    dispatcher.utter_message(response="utter_not_enrolled")
                    return []
                entry, prompt = start_draft(session, patient)
                text = prompt.render(patient.intention)
                entry_id = entry.id
        except SQLAlchemyError:
            logger.warning("database unavailable when opening a journal draft")
            dispatcher.utter_message(response="utter_journal_unavailable")
            return []
        dispatcher.utter_message(text=text)
        return [SlotSet("journal_entry_id", float(entry_id)), SlotSet("journal_prompt_id", prompt.id)]


class ValidateJournalForm(FormValidationAction):
    """Persists each answer to the draft as soon as it arrives."""

    def name(self) -> Text:
        return "validate_journal_form"

    def validate_journal_text(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> Dict[Text, Any]:
        """Append the text to the draft entry."""
        entry_id = _entry_id(tracker)
        if entry_id is None or not str(slot_value or "").strip():
            return {"journal_text": None}
        try:
            with session_factory().begin() as session:
                patient = find_patient_by_sender(session, tracker.sender_id)
                add_text(session, patient.id, entry_id, str(slot_value))
        except (SQLAlchemyError, LookupError, AttributeError):
            logger.warning("could not append to journal draft %s", entry_id)
            dispatcher.utter_message(response="utter_journal_unavailable")
            return {"journal_text": None}
        return {"journal_text": slot_value}


class ActionSaveJournal(Action):
    """Saves the entry and stores the safety screen's assessment with it."""

    def name(self) -> Text:
        return "action_save_journal"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        entry_id = _entry_id(tracker)
        try:
            with session_factory().begin() as session:
                patient = find_patient_by_sender(session, tracker.sender_id)
                save_entry(session, patient.id, entry_id, screen())
        except (SQLAlchemyError, LookupError, AttributeError, TypeError):
            logger.warning("could not save journal entry %s", entry_id)
            dispatcher.utter_message(response="utter_journal_unavailable")
            return _reset()
        dispatcher.utter_message(response="utter_journal_saved")
        return _reset()


class ActionKeepJournalDraft(Action):
    """Leaves the journal form; what was written stays as a draft."""

    def name(self) -> Text:
        return "action_keep_journal_draft"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        return _reset()


def _reset() -> List[Dict[Text, Any]]:
    return [
        SlotSet("journal_text", None),
        SlotSet("journal_entry_id", None),
        SlotSet("journal_prompt_id", None),
    ]
