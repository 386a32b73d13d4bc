"""Grounding exercises: choose one, rate distress, paced steps, rate again, store."""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from actions.common import (
    FormValidation,
    GROUNDING_SLOTS,
    as_int,
    is_command,
    latest_entity,
    latest_intent,
    latest_text,
    rating_from_message,
    reset,
    valid_rating,
)
from bot.content.exercises import exercise_by_id, exercise_library
from bot.conversation.crisis import format_resources, load_crisis_context
from bot.conversation.grounding import (
    DEFAULT_EXERCISE,
    exercise_named_in,
    finish_session,
    leaves_choice_to_us,
    result_response,
    start_session,
)
from bot.storage.runtime import session_factory, settings
from bot.storage.patients import find_patient_by_sender

logger = logging.getLogger(__name__)

STILL_HIGH = 7
# During the steps these short messages steer the form; anything else means "next".
STEP_COMMANDS = frozenset({
    "stop", "pause", "goodbye", "start_journal", "check_in", "start_grounding", "help",
    "bot_challenge",
})


class ActionAskGroundingExercise(Action):
    """Asks which exercise, with one button per exercise in the content library."""

    def name(self) -> Text:
        return "action_ask_grounding_exercise"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        buttons = [
            {"title": e.title, "payload": f'/start_grounding{{"exercise": "{e.id}"}}'}
            for e in exercise_library()
        ]
        dispatcher.utter_message(response="utter_ask_grounding_exercise", buttons=buttons)
        return []


class ActionAskGroundingProgress(Action):
    """Shows the current step of the exercise (the first time, after its intro)."""

    def name(self) -> Text:
        return "action_ask_grounding_progress"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        exercise = exercise_by_id(tracker.get_slot("grounding_exercise"))
        if exercise is None:
            return []
        step = as_int(tracker.get_slot("grounding_step"))
        if step is None:
            dispatcher.utter_message(response="utter_grounding_intro", intro=exercise.intro)
            step = 0
        step = min(step, len(exercise.steps) - 1)
        last = step == len(exercise.steps) - 1
        dispatcher.utter_message(
            response="utter_grounding_last_step" if last else "utter_grounding_step",
            step=exercise.steps[step],
        )
        return [SlotSet("grounding_step", float(step))]


class ActionAskGroundingDistressAfter(Action):
    """Closes the exercise, then asks for the distress rating after it."""

    def name(self) -> Text:
        return "action_ask_grounding_distress_after"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        exercise = exercise_by_id(tracker.get_slot("grounding_exercise"))
        if exercise is not None:
            dispatcher.utter_message(response="utter_grounding_closing", closing=exercise.closing)
        dispatcher.utter_message(response="utter_ask_grounding_distress_after")
        return []


class ValidateGroundingForm(FormValidation):
    """Reads the exercise choice, the ratings and "next"/"done"; stores the session."""

    def name(self) -> Text:
        return "validate_grounding_form"

    def extract_grounding_exercise(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        """The exercise named in the message that started grounding, or chosen when asked."""
        requested = tracker.get_slot("requested_slot")
        if requested not in (None, "grounding_exercise") or tracker.get_slot("grounding_exercise"):
            return {}
        if is_command(tracker, ()):
            return {}
        chosen = latest_entity(tracker, "exercise")
        if exercise_by_id(chosen) is None:
            chosen = exercise_named_in(latest_text(tracker))
        if chosen is None and requested == "grounding_exercise":
            if leaves_choice_to_us(latest_text(tracker)) or latest_intent(tracker) in ("affirm", "next_step"):
                chosen = DEFAULT_EXERCISE
        return {"grounding_exercise": chosen} if chosen else {}

    def extract_grounding_distress_before(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        """A 0-10 rating from a button or typed text."""
        return rating_from_message(tracker, "grounding_distress_before")

    def extract_grounding_distress_after(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        """A 0-10 rating from a button or typed text."""
        return rating_from_message(tracker, "grounding_distress_after")

    def extract_grounding_progress(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        """"done" ends the steps; a command steers the form; anything else goes on."""
        if tracker.get_slot("requested_slot") != "grounding_progress":
            return {}
        if is_command(tracker, {"done"}) and latest_intent(tracker) == "done":
            return {"grounding_progress": "done"}
        if is_command(tracker, STEP_COMMANDS):
            return {}
        return {"grounding_progress": "next"}

    def validate_grounding_exercise(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> Dict[Text, Any]:
        """A known exercise id."""
        if exercise_by_id(slot_value) is None:
            dispatcher.utter_message(response="utter_grounding_exercise_unknown")
            return {"grounding_exercise": None}
        return {"grounding_exercise": slot_value}

    def validate_grounding_distress_before(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> Dict[Text, Any]:
        """A 0-10 rating; the session is stored as soon as it is known."""
        rating = valid_rating("grounding_distress_before", slot_value, dispatcher)
        if rating["grounding_distress_before"] is None:
            return rating
        value = as_int(slot_value)
        session_id = None
        try:
            with session_factory().begin() as session:
                patient = find_patient_by_sender(session, tracker.sender_id)
                if patient is not None:
                    session_id = start_session(
                        session, patient.id, tracker.get_slot("grounding_exercise"), value
                    ).id
        except SQLAlchemyError:
            logger.warning("database unavailable when starting a grounding session")
        return {
            "grounding_distress_before": float(value),
            "grounding_session_id": float(session_id) if session_id is not None else None,
            "grounding_step": None,
        }

    def validate_grounding_progress(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> Dict[Text, Any]:
        """Move to the next step; after the last one (or "done") the steps are over."""
        exercise = exercise_by_id(tracker.get_slot("grounding_exercise"))
        step = as_int(tracker.get_slot("grounding_step")) or 0
        if slot_value == "done" or exercise is None or step + 1 >= len(exercise.steps):
            return {"grounding_progress": "done"}
        return {"grounding_progress": None, "grounding_step": float(step + 1)}

    def validate_grounding_distress_after(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> Dict[Text, Any]:
        """A 0-10 rating."""
        return valid_rating("grounding_distress_after", slot_value, dispatcher)


def _finish(tracker: Tracker, after: Optional[int], completed: bool) -> bool:
    """Record how the exercise ended; False if it could not be stored."""
    session_id = as_int(tracker.get_slot("grounding_session_id"))
    if session_id is None:
        return False
    try:
        with session_factory().begin() as session:
            patient = find_patient_by_sender(session, tracker.sender_id)
            if patient is None:
                return False
            finish_session(session, patient.id, session_id, after, completed)
    except (SQLAlchemyError, LookupError):
        logger.warning("could not record the end of grounding session %s", session_id)
        return False
    return True


class ActionSaveGrounding(Action):
    """Stores the finished exercise and reflects the change in distress back."""

    def name(self) -> Text:
        return "action_save_grounding"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        before = as_int(tracker.get_slot("grounding_distress_before"))
        after = as_int(tracker.get_slot("grounding_distress_after"))
        stored = _finish(tracker, after, completed=True)
        dispatcher.utter_message(response=result_response(before, after), before=before, after=after)
        if not stored:
            dispatcher.utter_message(response="utter_grounding_not_saved")
        if after is not None and after >= STILL_HIGH:
            fallback = tracker.get_slot("crisis_resource_set") or settings().default_crisis_resource_set
            context = load_crisis_context(session_factory(), tracker.sender_id, fallback)
            dispatcher.utter_message(
                response="utter_grounding_still_high", resources=format_resources(context.resources)
            )
        return reset(GROUNDING_SLOTS)


class ActionStopGrounding(Action):
    """Records an exercise stopped early, and clears it."""

    def name(self) -> Text:
        return "action_stop_grounding"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        _finish(tracker, None, completed=False)
        return reset(GROUNDING_SLOTS)
