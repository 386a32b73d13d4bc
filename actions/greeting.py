"""Greeting the patient by name, with an offer that fits where they are in their course.

The day of an infusion offers same-day journaling, the day after a check-in;
otherwise an infusion scheduled within 72 hours offers preparation (intention
and checklist); otherwise the journaling phase decides. A questionnaire the
clinic wants now (bot/course/offers.py) is added as one more button.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from bot.content.questionnaires import questionnaires
from bot.conversation.journal import last_infusion_at, next_integration_at
from bot.conversation.preparation import next_infusion
from bot.conversation.questionnaire import last_completed
from bot.course.offers import OffersError, check_offers, due_questionnaire
from bot.course.phase import (
    BEFORE_SESSION, DAYS_AFTER, ONGOING, SAME_DAY, describe_when, in_preparation_window, integration_phase,
    is_day_after,
)
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


def _due(clinic, session, patient_id: int, now, upcoming_at, last) -> Optional[str]:
    """The questionnaire to offer now; none if the clinic's setting is malformed (logged)."""
    try:
        offers = check_offers(clinic.questionnaire_offers)
    except OffersError as exc:
        logger.error("clinic %s has malformed questionnaire offers (%s); offering none", clinic.id, exc)
        return None
    return due_questionnaire(offers, now, next_infusion=upcoming_at, last_infusion=last,
                             last_completed=last_completed(session, patient_id))


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
                clinic = clinic_of(session, patient)
                resource_set = clinic.crisis_resource_set
                now = utcnow()
                last = last_infusion_at(session, patient, now)
                phase = integration_phase(now, last, next_integration_at(session, patient.id, now), patient.timezone)
                day_after = is_day_after(now, last, patient.timezone)
                upcoming = next_infusion(session, patient.id, now)
                upcoming_at = upcoming.occurred_at if upcoming is not None else None
                due = _due(clinic, session, patient.id, now, upcoming_at, last)
        except SQLAlchemyError:
            logger.warning("database unavailable while greeting; greeting without a name")
            dispatcher.utter_message(response="utter_greet_unknown_name")
            return []
        buttons = []
        if due is not None:
            buttons = [{"title": questionnaires().get(due).title,
                        "payload": f'/start_questionnaire{{"instrument": "{due}"}}'}]
        # The day after an infusion is when red flags show: a short check-in comes first.
        if phase == DAYS_AFTER and day_after:
            dispatcher.utter_message(response="utter_greet_day_after", name=name, buttons=buttons)
        elif phase != SAME_DAY and in_preparation_window(now, upcoming_at):
            dispatcher.utter_message(response="utter_greet_preparation", name=name, buttons=buttons,
                                     when=describe_when(upcoming_at, now, patient.timezone))
        else:
            dispatcher.utter_message(response=GREETINGS[phase], name=name, buttons=buttons)
        return [SlotSet("crisis_resource_set", resource_set), SlotSet("journal_phase", phase)]
