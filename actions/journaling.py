"""The journaling form: a prompt, the patient's words, a follow-up, a reflection, saved.

Every step is written to a draft entry as it happens (bot.conversation.journal snapshots,
through the durable writer), so a conversation left halfway leaves a draft,
and a database that is away loses nothing.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import replace
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from actions.common import (
    FormValidation,
    JOURNAL_SLOTS,
    durable_writer,
    is_command,
    latest_intent,
    latest_level,
    latest_text,
    reset,
    safe_screen,
)
from bot.content.prompts import choose_prompt, prompt_by_id
from bot.conversation.crisis import format_resources, load_crisis_context
from bot.conversation.journal import DraftSnapshot, current_phase, recent_prompt_ids
from bot.course.phase import ONGOING
from bot.conversation.reflection import reflect
from bot.storage.runtime import session_factory, settings
from bot.storage.models import utcnow
from bot.storage.patients import find_patient_by_sender

logger = logging.getLogger(__name__)

# While writing, these short messages steer the form instead of being journal text.
WRITING_COMMANDS = frozenset({
    "stop", "pause", "goodbye", "skip_prompt", "another_prompt", "done", "start_grounding",
    "check_in", "start_journal", "help", "bot_challenge", "thanks",
})
FOLLOW_UP_COMMANDS = frozenset({
    "stop", "pause", "goodbye", "start_grounding", "check_in", "start_journal", "help",
    "bot_challenge", "thanks",
})
# Short answers to the optional follow-up question that mean "skip it".
FOLLOW_UP_SKIPS = frozenset({"skip_prompt", "another_prompt", "deny", "done"})
CARE_LEVELS = frozenset({"urgent", "emergency"})


def _snapshot(tracker: Tracker, **changes: Any) -> DraftSnapshot:
    """The entry as the conversation knows it now, with `changes` applied."""
    entry_id = tracker.get_slot("journal_entry_id")
    snapshot = DraftSnapshot(
        key=tracker.get_slot("journal_entry_key") or uuid.uuid4().hex,
        sender_id=tracker.sender_id,
        phase=tracker.get_slot("journal_phase") or ONGOING,
        prompt_id=tracker.get_slot("journal_prompt_id"),
        opened_at=tracker.get_slot("journal_opened_at") or utcnow().isoformat(),
        text=tracker.get_slot("journal_draft") or "",
        follow_up=tracker.get_slot("journal_follow_up") or None,
        entry_id=int(entry_id) if entry_id is not None else None,
    )
    return replace(snapshot, **changes)


def _write(tracker: Tracker, dispatcher: CollectingDispatcher, snapshot: DraftSnapshot, *, quiet: bool = False):
    """Write one step; say once per entry when it is kept in the spool.

    Raises LookupError for a sender who is not a patient, OSError if neither
    the database nor the local disk could take the step.
    """
    written = durable_writer().write(snapshot.to_record())
    events: List[Dict[Text, Any]] = []
    if written.stored:
        events.append(SlotSet("journal_entry_id", float(written.result.entry_id)))
    elif not tracker.get_slot("journal_spooled"):
        if not quiet:
            dispatcher.utter_message(response="utter_journal_kept_offline")
        events.append(SlotSet("journal_spooled", True))
    return written, events


def _choose(tracker: Tracker) -> tuple[str, Any, Optional[str]]:
    """Phase, prompt and the patient's intention; a generic prompt if the database is away."""
    skipped = tuple(tracker.get_slot("journal_skipped") or ())
    try:
        with session_factory()() as session:
            patient = find_patient_by_sender(session, tracker.sender_id)
            if patient is None:
                raise LookupError("not an enrolled patient")
            phase = current_phase(session, patient)
            recent = recent_prompt_ids(session, patient.id)
            intention = patient.intention
    except SQLAlchemyError:
        logger.warning("database unavailable when choosing a journaling prompt")
        phase, recent, intention = tracker.get_slot("journal_phase") or ONGOING, [], None
    return phase, choose_prompt(phase, recent, intention, skipped), intention


class ActionAskJournalText(Action):
    """Offers a prompt that fits the patient's phase (opening a draft), or invites more."""

    def name(self) -> Text:
        return "action_ask_journal_text"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        if tracker.get_slot("journal_prompt_id") is None:
            return self._open(dispatcher, tracker)
        if not tracker.get_slot("journal_draft"):
            dispatcher.utter_message(
                response="utter_journal_prompt", prompt=tracker.get_slot("journal_prompt_text")
            )
            return []
        if latest_level(tracker) == "review":
            dispatcher.utter_message(response="utter_journal_keep_going_gentle")
        else:
            dispatcher.utter_message(response="utter_journal_keep_going")
        return []

    def _open(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> List[Dict[Text, Any]]:
        try:
            phase, prompt, intention = _choose(tracker)
        except LookupError:
            dispatcher.utter_message(response="utter_not_enrolled")
            return []
        text = prompt.render(intention)
        key = tracker.get_slot("journal_entry_key") or uuid.uuid4().hex
        opened_at = tracker.get_slot("journal_opened_at") or utcnow().isoformat()
        events: List[Dict[Text, Any]] = [
            SlotSet("journal_entry_key", key),
            SlotSet("journal_opened_at", opened_at),
            SlotSet("journal_phase", phase),
            SlotSet("journal_prompt_id", prompt.id),
            SlotSet("journal_prompt_text", text),
        ]
        snapshot = _snapshot(tracker, key=key, opened_at=opened_at, phase=phase, prompt_id=prompt.id)
        try:
            _, write_events = _write(tracker, dispatcher, snapshot)
        except LookupError:
            dispatcher.utter_message(response="utter_not_enrolled")
            return []
        except OSError:
            logger.exception("a journal draft could be neither stored nor spooled")
            dispatcher.utter_message(response="utter_journal_unavailable")
            return []
        dispatcher.utter_message(response="utter_journal_prompt", prompt=text)
        return events + write_events


class ActionAskJournalFollowUp(Action):
    """Asks the prompt's follow-up question; the patient may skip it."""

    def name(self) -> Text:
        return "action_ask_journal_follow_up"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        prompt = prompt_by_id(tracker.get_slot("journal_prompt_id"))
        if prompt is not None and prompt.follow_up:
            dispatcher.utter_message(response="utter_journal_follow_up", question=prompt.follow_up)
        return []


class ValidateJournalForm(FormValidation):
    """Writes each message to the draft as it arrives; "done" moves on to the follow-up."""

    def name(self) -> Text:
        return "validate_journal_form"

    async def required_slots(
        self,
        domain_slots: List[Text],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> List[Text]:
        """Writing until "done"; then the follow-up, if the prompt has one."""
        prompt = prompt_by_id(tracker.get_slot("journal_prompt_id"))
        follow_up = ["journal_follow_up"] if prompt is None or prompt.follow_up else []
        if tracker.get_slot("journal_done"):
            return ["journal_done", *follow_up]
        return ["journal_text", "journal_done", *follow_up]

    def extract_journal_text(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        """Any message while writing is journal text, unless it is a short command."""
        if tracker.get_slot("requested_slot") != "journal_text":
            return {}
        text = latest_text(tracker)
        if not text or is_command(tracker, WRITING_COMMANDS):
            return {}
        return {"journal_text": text}

    def extract_journal_done(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        """A short "done" while writing ends the writing step."""
        if tracker.get_slot("requested_slot") == "journal_text" and is_command(tracker, {"done"}):
            if latest_intent(tracker) == "done":
                return {"journal_done": True}
        return {}

    def extract_journal_follow_up(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        """The follow-up answer; a short skip, no or done leaves it empty."""
        if tracker.get_slot("requested_slot") != "journal_follow_up":
            return {}
        if is_command(tracker, FOLLOW_UP_COMMANDS):
            return {}
        if is_command(tracker, FOLLOW_UP_SKIPS):
            return {"journal_follow_up": ""}
        return {"journal_follow_up": latest_text(tracker)}

    def validate_journal_text(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> Dict[Text, Any]:
        """Append the message to the draft and write it at once."""
        message = str(slot_value or "").strip()
        if not message:
            return {"journal_text": None}
        draft = tracker.get_slot("journal_draft") or ""
        text = f"{draft}\n{message}" if draft else message
        try:
            _, events = _write(tracker, dispatcher, _snapshot(tracker, text=text))
        except LookupError:
            dispatcher.utter_message(response="utter_not_enrolled")
            return {"journal_text": None}
        except OSError:
            logger.exception("a journal step could be neither stored nor spooled")
            dispatcher.utter_message(response="utter_journal_not_kept")
            events = []
        # The slot stays empty, so the form keeps asking for more until "done".
        return {"journal_text": None, "journal_draft": text, **_as_slots(events)}

    def validate_journal_done(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> Dict[Text, Any]:
        """Done only once something is written."""
        if not slot_value:
            return {"journal_done": None}
        if not (tracker.get_slot("journal_draft") or "").strip():
            dispatcher.utter_message(response="utter_journal_nothing_yet")
            return {"journal_done": None}
        return {"journal_done": True}

    def validate_journal_follow_up(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> Dict[Text, Any]:
        """Write the follow-up answer with the draft (an empty answer is a skip)."""
        answer = str(slot_value or "").strip()
        events: list = []
        if answer:
            try:
                _, events = _write(tracker, dispatcher, _snapshot(tracker, follow_up=answer))
            except (LookupError, OSError):
                logger.warning("a follow-up answer was not written; it is written with the save")
        return {"journal_follow_up": answer, **_as_slots(events)}


class ActionJournalNextPrompt(Action):
    """Skip or another prompt: a different prompt; anything written stays as a draft."""

    def name(self) -> Text:
        return "action_journal_next_prompt"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        skipped = list(tracker.get_slot("journal_skipped") or [])
        current = tracker.get_slot("journal_prompt_id")
        if current and current not in skipped:
            skipped.append(current)
        events = [SlotSet("journal_skipped", skipped), SlotSet("journal_prompt_id", None)]
        if (tracker.get_slot("journal_draft") or "").strip():
            # The written draft is kept as it is; the next prompt opens a new one.
            dispatcher.utter_message(response="utter_journal_new_prompt_kept")
            events += [
                SlotSet(name, None)
                for name in ("journal_entry_key", "journal_entry_id", "journal_opened_at",
                             "journal_draft", "journal_prompt_text", "journal_spooled")
            ]
        else:
            dispatcher.utter_message(response="utter_journal_another")
        return events


class ActionSaveJournal(Action):
    """Saves the entry (screened, with its assessment), reflects it back, says it is saved."""

    def name(self) -> Text:
        return "action_save_journal"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        text = tracker.get_slot("journal_draft") or ""
        try:
            written, _ = _write(tracker, dispatcher, _snapshot(tracker, status="saved"), quiet=True)
        except LookupError:
            dispatcher.utter_message(response="utter_not_enrolled")
            return reset(JOURNAL_SLOTS)
        except OSError:
            logger.exception("a journal entry could be neither saved nor spooled")
            dispatcher.utter_message(response="utter_journal_not_kept")
            return reset(JOURNAL_SLOTS)
        assessment = written.result.assessment if written.stored else None
        level = (assessment or safe_screen(text).to_dict())["level"]
        reflection = reflect(text, level, tracker.get_slot("journal_follow_up") or "")
        dispatcher.utter_message(response=reflection.response, **reflection.variables)
        dispatcher.utter_message(
            response="utter_journal_saved" if written.stored else "utter_journal_saved_offline"
        )
        if level in CARE_LEVELS:
            fallback = tracker.get_slot("crisis_resource_set") or settings().default_crisis_resource_set
            context = load_crisis_context(session_factory(), tracker.sender_id, fallback)
            dispatcher.utter_message(
                response="utter_journal_saved_care", resources=format_resources(context.resources)
            )
        elif level == "review":
            dispatcher.utter_message(response="utter_offer_grounding")
        return reset(JOURNAL_SLOTS)


class ActionKeepJournalDraft(Action):
    """Leaves the journal form: every step is already written, so the draft is kept."""

    def name(self) -> Text:
        return "action_keep_journal_draft"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        return reset(JOURNAL_SLOTS)


def _as_slots(events: list) -> Dict[Text, Any]:
    return {event["name"]: event["value"] for event in events if event.get("event") == "slot"}
