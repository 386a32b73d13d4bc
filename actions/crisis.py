"""The crisis and medical red-flag protocols."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import latest_safety, utter_all
from bot.crisis import crisis_reply, load_crisis_context, medical_reply
from bot.runtime import session_factory, settings


def _context(tracker: Tracker):
    fallback = tracker.get_slot("crisis_resource_set") or settings().default_crisis_resource_set
    return load_crisis_context(session_factory(), tracker.sender_id, fallback)


class ActionCrisisProtocol(Action):
    """Crisis resources at once, the care team notified, then the safety plan."""

    def name(self) -> Text:
        return "action_crisis_protocol"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        context = _context(tracker)
        level = latest_safety(tracker)["level"]
        utter_all(dispatcher, crisis_reply(level, context.resources, context.plan_text))
        return [SlotSet("journal_text", None), SlotSet("journal_entry_id", None)]


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
        return [SlotSet("journal_text", None), SlotSet("journal_entry_id", None)]
