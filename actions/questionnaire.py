"""PHQ-9 and GAD-7 in the chat: one item at a time with the published answers as buttons.

The run lives in slots (instrument, key, answers) and in the database, where
every answer is written as a snapshot (bot.conversation.questionnaire). "Can
I do the questionnaire" starts one, or carries on the one left unfinished.
An answer above 0 to PHQ-9 item 9 ends the questions and starts the crisis
protocol at once (`questionnaire_crisis`, and a rule runs the C-SSRS screener
next); the alert is raised with that answer's snapshot.
"""
from __future__ import annotations

import logging
import uuid
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from actions.common import FormValidation, durable_writer, is_command, latest_entity, latest_text
from actions.crisis import start_crisis_protocol
from bot.content.questionnaires import Instrument, parse_answer, questionnaires
from bot.conversation.questionnaire import QuestionnaireSnapshot, crisis_answer, in_progress
from bot.storage.models import utcnow
from bot.storage.runtime import session_factory

logger = logging.getLogger(__name__)

QUESTIONNAIRE_SLOTS = ("questionnaire_instrument", "questionnaire_key", "questionnaire_answers",
                       "questionnaire_started_at", "questionnaire_answer")
_ANXIETY_WORDS = ("anxiety", "anxious", "gad", "worry", "worried", "nervous")


def _instrument(tracker: Tracker) -> Instrument:
    return questionnaires().get(tracker.get_slot("questionnaire_instrument") or "phq9")


def _answers(tracker: Tracker) -> dict:
    return dict(tracker.get_slot("questionnaire_answers") or {})


def chosen_instrument(text: str, entity: Optional[str]) -> str:
    """GAD-7 when the patient asks about anxiety (or its button), PHQ-9 otherwise."""
    if entity in ("phq9", "gad7"):
        return entity
    lowered = text.lower()
    return "gad7" if any(word in lowered for word in _ANXIETY_WORDS) else "phq9"


class ActionStartQuestionnaire(Action):
    """Starts a PHQ-9 or GAD-7, or carries on the one left unfinished."""

    def name(self) -> Text:
        return "action_start_questionnaire"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[Text, Any]]:
        instrument_id = chosen_instrument(latest_text(tracker), latest_entity(tracker, "instrument"))
        instrument = questionnaires().get(instrument_id)
        key, answers, started_at = None, {}, None
        if tracker.get_slot("questionnaire_instrument") == instrument_id and tracker.get_slot("questionnaire_key"):
            key, answers = tracker.get_slot("questionnaire_key"), _answers(tracker)
            started_at = tracker.get_slot("questionnaire_started_at")
        else:
            try:
                with session_factory()() as session:
                    row = in_progress(session, tracker.sender_id, instrument_id)
                    if row is not None:
                        key, answers, started_at = row.key, dict(row.answers or {}), row.started_at.isoformat()
            except SQLAlchemyError:
                logger.warning("database unavailable; starting the questionnaire afresh")
        if key is None or instrument.next_item(answers) is None:
            key, answers, started_at = uuid.uuid4().hex, {}, utcnow().isoformat()
            dispatcher.utter_message(response="utter_questionnaire_intro", title=instrument.title,
                                     count=len(instrument.items))
        else:
            dispatcher.utter_message(response="utter_questionnaire_resume", title=instrument.title,
                                     done=len(answers), count=len(instrument.items))
        return [SlotSet("questionnaire_instrument", instrument_id), SlotSet("questionnaire_key", key),
                SlotSet("questionnaire_answers", answers), SlotSet("questionnaire_started_at", started_at),
                SlotSet("questionnaire_answer", None)]


class ActionAskQuestionnaireAnswer(Action):
    """Asks the next item, with the four published answers as buttons."""

    def name(self) -> Text:
        return "action_ask_questionnaire_answer"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[Text, Any]]:
        instrument = _instrument(tracker)
        answers = _answers(tracker)
        item = instrument.next_item(answers)
        if item is None:
            return []
        number = instrument.items.index(item) + 1
        buttons = [{"title": text, "payload": f'/inform_rating{{"rating": {value}}}'}
                   for value, text in questionnaires().options]
        dispatcher.utter_message(text=f"{instrument.stem}\n\n{number} of {len(instrument.items)}: {item.text}",
                                 buttons=buttons)
        return []


class ValidateQuestionnaireForm(FormValidation):
    """Records each answer; asks again, gently, when an answer is unclear."""

    def name(self) -> Text:
        return "validate_questionnaire_form"

    async def extract_questionnaire_answer(self, dispatcher, tracker: Tracker, domain) -> Dict[Text, Any]:
        """The answer to the item asked: a button's value or a typed answer."""
        if tracker.get_slot("requested_slot") != "questionnaire_answer":
            return {}
        if is_command(tracker, ("stop", "pause")):
            return {}  # the rules take over: stop or pause keeps the answers; a crisis interrupts
        entity = latest_entity(tracker, "rating")
        value = parse_answer(entity if entity is not None else latest_text(tracker))
        return {"questionnaire_answer": "unclear" if value is None else f"value:{value}"}

    def validate_questionnaire_answer(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                      domain: DomainDict) -> Dict[Text, Any]:
        """Store the answer; done or crisis when the questions end, otherwise ask the next."""
        if not isinstance(value, str) or not value.startswith("value:"):
            dispatcher.utter_message(response="utter_questionnaire_unclear")
            return {"questionnaire_answer": None}
        instrument = _instrument(tracker)
        answers = _answers(tracker)
        item = instrument.next_item(answers)
        if item is None:
            return {"questionnaire_answer": "done"}
        answers[item.id] = int(value.split(":", 1)[1])
        crisis = crisis_answer(instrument, answers)
        snapshot = QuestionnaireSnapshot(tracker.get_slot("questionnaire_key") or uuid.uuid4().hex,
                                         tracker.sender_id, instrument.id, answers,
                                         tracker.get_slot("questionnaire_started_at"))
        try:
            durable_writer().write(snapshot.to_record())  # raises the alert of a crisis answer
        except Exception:
            # The crisis protocol must not wait on, or fail with, the write.
            logger.exception("could not write or spool a questionnaire answer")
        if crisis:
            return {"questionnaire_answer": "crisis", "questionnaire_answers": answers}
        done = instrument.next_item(answers) is None
        return {"questionnaire_answer": "done" if done else None, "questionnaire_answers": answers}


class ActionQuestionnaireDone(Action):
    """The score and its band; or, after a positive item 9, the crisis protocol."""

    def name(self) -> Text:
        return "action_questionnaire_done"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[Text, Any]]:
        if tracker.get_slot("questionnaire_answer") == "crisis":
            dispatcher.utter_message(response="utter_questionnaire_item9")
            return [SlotSet("questionnaire_crisis", True)] + start_crisis_protocol(dispatcher, tracker, "urgent") + \
                [SlotSet(name, None) for name in QUESTIONNAIRE_SLOTS]
        instrument = _instrument(tracker)
        answers = _answers(tracker)
        total = instrument.score(answers)
        dispatcher.utter_message(response="utter_questionnaire_done", name=instrument.name, score=total,
                                 maximum=instrument.max_score, band=instrument.band(total))
        return [SlotSet("questionnaire_crisis", False)] + [SlotSet(name, None) for name in QUESTIONNAIRE_SLOTS]
