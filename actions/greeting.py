"""Greeting the patient by name, with a journaling offer that fits their phase."""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from bot.conversation.journal import last_infusion_at, next_integration_at
from bot.course.phase import BEFORE_SESSION, DAYS_AFTER, ONGOING, SAME_DAY, integration_phase, is_day_after
from bot.storage.runtime import session_factory
from bot.storage.models import utcnow
from bot.storage.patients import clinic_of, find_patient_by_sender

logger = logging.getLogger(__name__)

# One message: the greeting, that it is automated, and a journaling offer for the phase.
GREETINGS = {
    SAME_DAY: "utter_greet_same_day",
    DAYS_AFTER: "utter_greet_days_after",
    BEFORE_SESSION: "utter_greet_before_session",
    ONGOING: "utter_greet_ongoing",
}


class ActionGreet(Action):
    """Greets an enrolled patient by name, offers journaling for their phase, remembers their clinic."""

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
                now = utcnow()
                last = last_infusion_at(session, patient, now)
                phase = integration_phase(now, last, next_integration_at(session, patient.id, now), patient.timezone)
                day_after = is_day_after(now, last, patient.timezone)
        except SQLAlchemyError:
            logger.warning("database unavailable while greeting; greeting without a name")
            dispatcher.utter_message(response="utter_greet_unknown_name")
            return []
        # The day after an infusion is when red flags show: a short check-in comes first.
        greeting = "utter_greet_day_after" if phase == DAYS_AFTER and day_after else GREETINGS[phase]
        dispatcher.utter_message(response=greeting, name=name)
        return [SlotSet("crisis_resource_set", resource_set), SlotSet("journal_phase", phase)]
