"""Greeting the patient by name."""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from bot.runtime import session_factory
from bot.storage.patients import clinic_of, find_patient_by_sender

logger = logging.getLogger(__name__)


class ActionGreet(Action):
    """Greets an enrolled patient by name and remembers their clinic's resources."""

    def name(self) -> Text:
        return "action_greet"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        try:
            with session_factory()() as session:
                patient = find_patient_by_sender(session, tracker.sender_id)
                if patient is None:
                    dispatcher.utter_message(response="utter_not_enrolled")
                    return []
                name = patient.display_name
                resource_set = clinic_of(session, patient).crisis_resource_set
        except SQLAlchemyError:
            logger.warning("database unavailable while greeting; greeting without a name")
            dispatcher.utter_message(response="utter_greet_unknown_name")
            return []
        dispatcher.utter_message(response="utter_greet", name=name)
        return [SlotSet("crisis_resource_set", resource_set)]
