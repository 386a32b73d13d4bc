"""Preparation before an infusion: setting an intention, and the clinic's readiness checklist.

Intention (intention_form): the reflective questions of bot/content/preparation.yml,
then "in one sentence, what would you like to explore or heal?", read back for
confirmation. The steps live in `intention_answers`; the confirmed intention is
written through the durable writer and becomes the patient's current one.

Checklist (checklist_form): the clinic's items not yet confirmed for the next
infusion, one at a time, answered "ready" or "not yet" by button or in words.
Every answer is written at once, so what is still open shows on the Today page
even if the patient stops halfway.
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
from bot.content.preparation import CONFIRMED, NOT_YET, intention_questions, parse_readiness
from bot.conversation.preparation import (
    MAX_INTENTION_CHARS, IntentionSnapshot, PreparationSnapshot, answers_for, clinic_checklist,
    intention_history, next_infusion, open_items,
)
from bot.course.phase import describe_when
from bot.storage.models import utcnow
from bot.storage.patients import clinic_of, find_patient_by_sender
from bot.storage.runtime import session_factory

logger = logging.getLogger(__name__)

INTENTION_SLOTS = ("intention_key", "intention_answers", "intention_infusion_id", "intention_answer")
CHECKLIST_SLOTS = ("checklist_infusion_id", "checklist_items", "checklist_answers", "checklist_answer")
INTENTION_STEP, CONFIRM_STEP = "intention", "confirm"
_SKIP = ("skip", "pass", "next", "not sure", "idk", "dunno", "no idea", "dont know", "don't know")
READINESS_BUTTONS = [
    {"title": "Ready", "payload": '/inform_readiness{"readiness": "confirmed"}'},
    {"title": "Not yet", "payload": '/inform_readiness{"readiness": "not_yet"}'},
]


def _write(snapshot) -> None:
    try:
        durable_writer().write(snapshot.to_record())
    except Exception:
        # The conversation goes on; the spool keeps what it could.
        logger.exception("could not write or spool a %s record", snapshot.to_record()["kind"])


def _next_step(answers: dict) -> Optional[str]:
    for reflection in intention_questions().reflections:
        if reflection.id not in answers:
            return reflection.id
    if INTENTION_STEP not in answers:
        return INTENTION_STEP
    if CONFIRM_STEP not in answers:
        return CONFIRM_STEP
    return None


class ActionStartIntention(Action):
    """Opens the intention conversation, recalling the current intention if there is one."""

    def name(self) -> Text:
        return "action_start_intention"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[Text, Any]]:
        current, infusion_id = None, None
        try:
            with session_factory()() as session:
                patient = find_patient_by_sender(session, tracker.sender_id)
                if patient is not None:
                    current = patient.intention
                    infusion = next_infusion(session, patient.id)
                    infusion_id = infusion.id if infusion is not None else None
        except SQLAlchemyError:
            logger.warning("database unavailable; setting an intention without the earlier one")
        if current:
            dispatcher.utter_message(response="utter_intention_intro_again", intention=current)
        else:
            dispatcher.utter_message(response="utter_intention_intro")
        return [SlotSet("intention_key", uuid.uuid4().hex), SlotSet("intention_answers", {}),
                SlotSet("intention_infusion_id", infusion_id), SlotSet("intention_answer", None)]


class ActionAskIntentionAnswer(Action):
    """Asks the next reflective question, the one-sentence question, or for confirmation."""

    def name(self) -> Text:
        return "action_ask_intention_answer"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[Text, Any]]:
        answers = dict(tracker.get_slot("intention_answers") or {})
        step = _next_step(answers)
        questions = intention_questions()
        if step == CONFIRM_STEP:
            dispatcher.utter_message(response="utter_intention_confirm", intention=answers[INTENTION_STEP])
        elif step == INTENTION_STEP:
            dispatcher.utter_message(text=questions.question)
        elif step is not None:
            reflection = next(r for r in questions.reflections if r.id == step)
            dispatcher.utter_message(text=reflection.text, buttons=[{"title": "Skip", "payload": "/skip_prompt"}])
        return []


class ValidateIntentionForm(FormValidation):
    """Keeps each answer; reads the intention back and rephrases it on request."""

    def name(self) -> Text:
        return "validate_intention_form"

    async def extract_intention_answer(self, dispatcher, tracker: Tracker, domain) -> Dict[Text, Any]:
        """The reply to the step asked: `skip`, `yes`, `no`, `unclear` or `text:<words>`."""
        if tracker.get_slot("requested_slot") != "intention_answer":
            return {}
        if is_command(tracker, ("stop", "pause")):
            return {}  # the rules take over; a crisis interrupts
        text = latest_text(tracker)
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        if _next_step(dict(tracker.get_slot("intention_answers") or {})) == CONFIRM_STEP:
            reading = {"affirm": CONFIRMED, "deny": NOT_YET}.get(intent) or parse_readiness(text)
            return {"intention_answer": {CONFIRMED: "yes", NOT_YET: "no"}.get(reading, "unclear")}
        if intent == "skip_prompt" or text.lower().strip(" .!") in _SKIP or text.startswith("/"):
            return {"intention_answer": "skip"}
        return {"intention_answer": f"text:{' '.join(text.split())}"}

    def validate_intention_answer(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                  domain: DomainDict) -> Dict[Text, Any]:
        """Store the answer to the step; `done` once the intention read back is confirmed."""
        answers = dict(tracker.get_slot("intention_answers") or {})
        step = _next_step(answers)
        value = value if isinstance(value, str) else "unclear"
        if step == CONFIRM_STEP:
            if value == "yes":
                answers[CONFIRM_STEP] = "yes"
                return {"intention_answer": "done", "intention_answers": answers}
            if value == "no":
                answers.pop(INTENTION_STEP, None)
                dispatcher.utter_message(response="utter_intention_rephrase")
                return {"intention_answer": None, "intention_answers": answers}
            dispatcher.utter_message(response="utter_intention_confirm_unclear")
            return {"intention_answer": None}
        text = value[len("text:"):] if value.startswith("text:") else ""
        if step == INTENTION_STEP:
            if not text:
                dispatcher.utter_message(response="utter_intention_needed")
                return {"intention_answer": None}
            if len(text) > MAX_INTENTION_CHARS:
                dispatcher.utter_message(response="utter_intention_too_long", limit=MAX_INTENTION_CHARS)
                return {"intention_answer": None}
        if step is not None:
            answers[step] = text
        return {"intention_answer": None, "intention_answers": answers}


class ActionSaveIntention(Action):
    """Stores the confirmed intention (with its reflections) and says where it goes next."""

    def name(self) -> Text:
        return "action_save_intention"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[Text, Any]]:
        answers = dict(tracker.get_slot("intention_answers") or {})
        text = answers.get(INTENTION_STEP)
        if not text:
            return [SlotSet(name, None) for name in INTENTION_SLOTS]
        reflections = [{"id": r.id, "question": r.text, "answer": answers.get(r.id, "")}
                       for r in intention_questions().reflections]
        infusion_id = tracker.get_slot("intention_infusion_id")
        _write(IntentionSnapshot(tracker.get_slot("intention_key") or uuid.uuid4().hex, tracker.sender_id, text,
                                 reflections, int(infusion_id) if infusion_id is not None else None,
                                 utcnow().isoformat()))
        dispatcher.utter_message(response="utter_intention_saved", intention=text)
        if infusion_id is not None:
            dispatcher.utter_message(response="utter_offer_checklist")
        return [SlotSet(name, None) for name in INTENTION_SLOTS]


class ActionShowIntention(Action):
    """The patient's current intention and the ones before it."""

    def name(self) -> Text:
        return "action_show_intention"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[Text, Any]]:
        try:
            with session_factory()() as session:
                patient = find_patient_by_sender(session, tracker.sender_id)
                history = intention_history(session, patient.id) if patient is not None else []
                texts = [row.text for row in history]
        except SQLAlchemyError:
            logger.warning("database unavailable; cannot show the intention")
            dispatcher.utter_message(response="utter_intention_unavailable")
            return []
        if not texts:
            dispatcher.utter_message(response="utter_intention_none")
        elif len(texts) == 1:
            dispatcher.utter_message(response="utter_intention_current", intention=texts[0])
        else:
            earlier = "\n".join(f"• {text}" for text in texts[1:4])
            dispatcher.utter_message(response="utter_intention_current_and_earlier", intention=texts[0],
                                     earlier=earlier)
        return []


class ActionStartChecklist(Action):
    """Loads the clinic's checklist for the next infusion and what is still open in it."""

    def name(self) -> Text:
        return "action_start_checklist"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[Text, Any]]:
        try:
            with session_factory()() as session:
                patient = find_patient_by_sender(session, tracker.sender_id)
                infusion = next_infusion(session, patient.id) if patient is not None else None
                if infusion is None:
                    dispatcher.utter_message(response="utter_checklist_no_infusion")
                    return _closed()
                items = clinic_checklist(clinic_of(session, patient))
                open_now = open_items(items, answers_for(session, infusion.id))
                when = describe_when(infusion.occurred_at, utcnow(), patient.timezone)
                infusion_id = infusion.id
        except SQLAlchemyError:
            logger.warning("database unavailable; cannot walk the checklist now")
            dispatcher.utter_message(response="utter_checklist_unavailable")
            return _closed()
        if not open_now:
            dispatcher.utter_message(response="utter_checklist_all_ready", when=when)
            return _closed()
        if len(open_now) == len(items):
            dispatcher.utter_message(response="utter_checklist_intro", when=when, count=len(items))
        else:
            dispatcher.utter_message(response="utter_checklist_resume", when=when, ready=len(items) - len(open_now),
                                     count=len(items))
        return [SlotSet("checklist_infusion_id", infusion_id),
                SlotSet("checklist_items", [{"id": i.id, "text": i.text} for i in open_now]),
                SlotSet("checklist_answers", {}), SlotSet("checklist_answer", None), SlotSet("checklist_open", True)]


def _closed() -> List[Dict[Text, Any]]:
    """Nothing to walk through: the rules end here instead of opening the form."""
    return [SlotSet(name, None) for name in CHECKLIST_SLOTS] + [SlotSet("checklist_open", False)]


def _next_item(tracker: Tracker) -> Optional[dict]:
    answers = tracker.get_slot("checklist_answers") or {}
    return next((item for item in tracker.get_slot("checklist_items") or [] if item["id"] not in answers), None)


class ActionAskChecklistAnswer(Action):
    """Asks about the next open item, with Ready and Not yet buttons."""

    def name(self) -> Text:
        return "action_ask_checklist_answer"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[Text, Any]]:
        item = _next_item(tracker)
        if item is not None:
            items = tracker.get_slot("checklist_items") or []
            number = items.index(item) + 1
            dispatcher.utter_message(text=f"{number} of {len(items)}: {item['text']}", buttons=READINESS_BUTTONS)
        return []


class ValidateChecklistForm(FormValidation):
    """Writes each answer at once; asks again, gently, when an answer is unclear."""

    def name(self) -> Text:
        return "validate_checklist_form"

    async def extract_checklist_answer(self, dispatcher, tracker: Tracker, domain) -> Dict[Text, Any]:
        """Ready or not yet, from the button or typed words."""
        if tracker.get_slot("requested_slot") != "checklist_answer":
            return {}
        if is_command(tracker, ("stop", "pause")):
            return {}
        entity = latest_entity(tracker, "readiness")
        reading = entity if entity in (CONFIRMED, NOT_YET) else parse_readiness(latest_text(tracker))
        return {"checklist_answer": reading or "unclear"}

    def validate_checklist_answer(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                  domain: DomainDict) -> Dict[Text, Any]:
        """Store the answer; done when no item is left."""
        if value == "done":
            return {"checklist_answer": value}
        if value not in (CONFIRMED, NOT_YET):
            dispatcher.utter_message(response="utter_checklist_unclear")
            return {"checklist_answer": None}
        item = _next_item(tracker)
        if item is None:
            return {"checklist_answer": "done"}
        answers = dict(tracker.get_slot("checklist_answers") or {})
        answers[item["id"]] = value
        infusion_id = tracker.get_slot("checklist_infusion_id")
        if infusion_id is not None:
            _write(PreparationSnapshot(tracker.sender_id, int(infusion_id), item["id"], value,
                                       utcnow().isoformat()))
        done = all(i["id"] in answers for i in tracker.get_slot("checklist_items") or [])
        return {"checklist_answer": "done" if done else None, "checklist_answers": answers}


class ActionChecklistDone(Action):
    """What is ready and what is still to do."""

    def name(self) -> Text:
        return "action_checklist_done"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[Text, Any]]:
        if tracker.get_slot("checklist_answer") == "done":
            answers = tracker.get_slot("checklist_answers") or {}
            left = [item["text"] for item in tracker.get_slot("checklist_items") or []
                    if answers.get(item["id"]) != CONFIRMED]
            if left:
                dispatcher.utter_message(response="utter_checklist_left",
                                         left="\n".join(f"• {text}" for text in left))
            else:
                dispatcher.utter_message(response="utter_checklist_done")
        return [SlotSet(name, None) for name in CHECKLIST_SLOTS]
