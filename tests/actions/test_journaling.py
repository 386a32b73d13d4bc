"""Journaling: the phase picks the prompt, every step is a stored draft, saving screens it."""
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import delete, func, select

import actions.common
from actions.journaling import (
    ActionAskJournalFollowUp,
    ActionAskJournalText,
    ActionJournalNextPrompt,
    ActionKeepJournalDraft,
    ActionSaveJournal,
    ValidateJournalForm,
)
from bot.storage import runtime
from bot.storage.models import (
    AuditEvent,
    InfusionSession,
    IntegrationSession,
    JournalEntry,
    Patient,
    SafetyAssessment,
    utcnow,
)
from tests.actions.conftest import make_tracker, responses, run, slots_of
from tests.helpers import free_port

SENDER = "demo-jonah"


def _set_schedule(sessions, last_infusion, next_session, sender=SENDER):
    with sessions.begin() as session:
        patient = session.scalar(select(Patient).where(Patient.sender_id == sender))
        session.execute(delete(InfusionSession).where(InfusionSession.patient_id == patient.id))
        session.execute(delete(IntegrationSession).where(IntegrationSession.patient_id == patient.id))
        if last_infusion is not None:
            session.add(InfusionSession(patient_id=patient.id, occurred_at=last_infusion, route="IV"))
        if next_session is not None:
            session.add(IntegrationSession(patient_id=patient.id, scheduled_at=next_session))


def _local_midnight(sessions, sender=SENDER):
    with sessions() as session:
        zone = ZoneInfo(session.scalar(select(Patient.timezone).where(Patient.sender_id == sender)))
    local = utcnow().astimezone(zone)
    return datetime(local.year, local.month, local.day, tzinfo=zone)


def _entries(sessions, sender=SENDER):
    with sessions() as session:
        patient_id = session.scalar(select(Patient.id).where(Patient.sender_id == sender))
        return session.scalars(
            select(JournalEntry).where(JournalEntry.patient_id == patient_id).order_by(JournalEntry.id)
        ).all()


def _open(slots=None, sender=SENDER, text="i want to journal"):
    """Activate the form: the ask action opens a draft and offers a prompt."""
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(sender, text, "start_journal", slots=slots, active_loop="journal_form")
    events = run(ActionAskJournalText(), tracker, dispatcher)
    return {**(slots or {}), **slots_of(events)}, dispatcher


def _say(slots, text, intent="share_experience", requested="journal_text", sender=SENDER, safety=None):
    """One patient message while the form asks for `requested`; returns the new slots."""
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(
        sender, text, intent, safety=safety,
        slots={**slots, "requested_slot": requested}, form="journal_form",
    )
    events = run(ValidateJournalForm(), tracker, dispatcher)
    return {**slots, **slots_of(events)}, dispatcher


@pytest.mark.parametrize(
    "schedule, phase",
    [
        (lambda s: (_local_midnight(s), None), "same_day"),
        (lambda s: (utcnow() - timedelta(days=2), None), "days_after"),
        (lambda s: (utcnow() - timedelta(days=10), utcnow() + timedelta(hours=24)), "before_session"),
        (lambda s: (utcnow() - timedelta(days=10), None), "ongoing"),
    ],
)
def test_the_phase_chooses_the_prompt(runtime_db, schedule, phase):
    _set_schedule(runtime_db, *schedule(runtime_db))
    slots, dispatcher = _open()
    prefix = {"same_day": "sd.", "days_after": "da.", "before_session": "bs.", "ongoing": "og."}[phase]
    assert slots["journal_phase"] == phase
    assert slots["journal_prompt_id"].startswith(prefix)
    assert responses(dispatcher) == ["utter_journal_prompt"]
    assert dispatcher.messages[0]["prompt"] == slots["journal_prompt_text"]
    # The draft exists from the first step, with its phase and prompt.
    [entry] = _entries(runtime_db)
    assert (entry.status, entry.phase, entry.prompt_id, entry.text) == (
        "draft", phase, slots["journal_prompt_id"], ""
    )
    assert slots["journal_entry_id"] == entry.id


def test_the_intention_is_filled_into_an_intention_prompt(runtime_db):
    _set_schedule(runtime_db, utcnow() - timedelta(days=2), None)
    slots, dispatcher = _open(slots={"journal_skipped": ["da.meaning"]})
    assert slots["journal_prompt_id"] == "da.intention"
    assert "reaching out to my brother" in dispatcher.messages[0]["prompt"]


def test_a_prompt_answered_recently_is_not_offered_again(runtime_db):
    _set_schedule(runtime_db, utcnow() - timedelta(days=2), None)
    with runtime_db.begin() as session:
        patient_id = session.scalar(select(Patient.id).where(Patient.sender_id == SENDER))
        session.add(JournalEntry(patient_id=patient_id, prompt_id="da.meaning", phase="days_after",
                                 text="earlier", status="saved"))
    slots, _ = _open()
    assert slots["journal_prompt_id"] == "da.intention"


def test_a_whole_entry_several_messages_done_follow_up_reflection_saved(runtime_db, dispatcher):
    slots, _ = _open()
    slots, first = _say(slots, "I kept thinking about my brother and the lake we swam in as kids.")
    assert slots["journal_text"] is None  # the form keeps asking for more
    assert _entries(runtime_db)[0].text == "I kept thinking about my brother and the lake we swam in as kids."
    slots, second = _say(slots, "It was summer and the water was warm.")
    assert _entries(runtime_db)[0].text.endswith("\nIt was summer and the water was warm.")
    assert _entries(runtime_db)[0].status == "draft"

    slots, done = _say(slots, "done", intent="done")
    assert slots["journal_done"] is True
    assert slots["requested_slot"] == "journal_follow_up"

    ask = CollectingDispatcher()
    run(ActionAskJournalFollowUp(), make_tracker(SENDER, slots=slots), ask)
    assert responses(ask) == ["utter_journal_follow_up"]
    assert ask.messages[0]["question"]

    slots, _ = _say(slots, "The lake, and how calm he was.", requested="journal_follow_up")
    assert slots["journal_follow_up"] == "The lake, and how calm he was."
    assert slots["requested_slot"] is None  # the form is complete

    events = run(ActionSaveJournal(), make_tracker(SENDER, "...", slots=slots), dispatcher)
    said = responses(dispatcher)
    assert said[0].startswith("utter_journal_reflect_") and said[0] != "utter_journal_reflect_gentle"
    assert said[1] == "utter_journal_saved"
    assert "brother" in dispatcher.messages[0]["quote"]
    assert all(value is None for value in slots_of(events).values())

    [entry] = _entries(runtime_db)
    assert entry.status == "saved"
    assert entry.text == (
        "I kept thinking about my brother and the lake we swam in as kids.\n"
        "It was summer and the water was warm."
    )
    assert entry.follow_up_text == "The lake, and how calm he was."
    with runtime_db() as session:
        assessment = session.scalar(
            select(SafetyAssessment).where(SafetyAssessment.journal_entry_id == entry.id)
        )
    assert assessment.level == "none"


def test_done_before_writing_anything_asks_for_words(runtime_db):
    slots, _ = _open()
    slots, dispatcher = _say(slots, "done", intent="done")
    assert slots.get("journal_done") is None
    assert "utter_journal_nothing_yet" in responses(dispatcher)
    # Still writing: Rasa goes on asking for journal_text (the first empty slot).
    assert slots.get("requested_slot") in (None, "journal_text")


def test_commands_steer_the_form_but_the_patients_own_words_are_kept(runtime_db):
    slots, _ = _open()
    form = ValidateJournalForm()
    short = make_tracker(SENDER, "stop", "stop", slots={**slots, "requested_slot": "journal_text"}, form="journal_form")
    assert form.extract_journal_text(CollectingDispatcher(), short, {}) == {}
    # Words the classifier may read as a command, but that are not one of its phrasings.
    for text, intent in [
        ("I wanted the music to stop but then it carried me somewhere warm and safe", "stop"),
        ("it was enough", "stop"),
        ("later it got easier", "pause"),
        ("I was done with fear", "done"),
    ]:
        prose = make_tracker(SENDER, text, intent, slots={**slots, "requested_slot": "journal_text"}, form="journal_form")
        assert form.extract_journal_text(CollectingDispatcher(), prose, {}) == {"journal_text": text}
        assert form.extract_journal_done(CollectingDispatcher(), prose, {}) == {}
    crisis = make_tracker(SENDER, "...", "crisis", slots={**slots, "requested_slot": "journal_text"}, form="journal_form")
    assert form.extract_journal_text(CollectingDispatcher(), crisis, {}) == {}


def test_a_review_level_message_gets_a_gentler_nudge_with_grounding(runtime_db):
    slots, _ = _open()
    review = {"level": "review", "categories": ["suicidal_ideation"], "findings": []}
    slots, _ = _say(slots, "during the session part of me wanted it all to end", safety=review)
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(SENDER, "...", "share_experience", safety=review, slots=slots, active_loop="journal_form")
    run(ActionAskJournalText(), tracker, dispatcher)
    assert responses(dispatcher) == ["utter_journal_keep_going_gentle"]


def test_skip_before_writing_swaps_the_prompt_on_the_same_draft(runtime_db):
    slots, _ = _open()
    first = slots["journal_prompt_id"]
    dispatcher = CollectingDispatcher()
    slots = {**slots, **slots_of(run(ActionJournalNextPrompt(), make_tracker(SENDER, "skip", "skip_prompt", slots=slots), dispatcher))}
    assert responses(dispatcher) == ["utter_journal_another"]
    slots, _ = _open(slots=slots)
    assert slots["journal_prompt_id"] != first
    [entry] = _entries(runtime_db)
    assert entry.prompt_id == slots["journal_prompt_id"]


def test_another_prompt_after_writing_keeps_the_draft_and_opens_a_new_one(runtime_db):
    slots, _ = _open()
    slots, _ = _say(slots, "The ceiling was breathing.")
    dispatcher = CollectingDispatcher()
    slots = {**slots, **slots_of(run(ActionJournalNextPrompt(), make_tracker(SENDER, "another one", "another_prompt", slots=slots), dispatcher))}
    assert responses(dispatcher) == ["utter_journal_new_prompt_kept"]
    slots, _ = _open(slots=slots)
    first, second = _entries(runtime_db)
    assert (first.status, first.text) == ("draft", "The ceiling was breathing.")
    assert second.status == "draft" and second.prompt_id != first.prompt_id


@pytest.mark.parametrize("intent", ["pause", "stop"])
def test_pause_or_stop_keeps_what_was_written_as_a_draft(runtime_db, intent):
    slots, _ = _open()
    slots, _ = _say(slots, "I felt so small and that was a relief.")
    events = run(ActionKeepJournalDraft(), make_tracker(SENDER, intent, intent, slots=slots), CollectingDispatcher())
    assert all(value is None for value in slots_of(events).values())
    [entry] = _entries(runtime_db)
    assert (entry.status, entry.text) == ("draft", "I felt so small and that was a relief.")


def test_a_conversation_abandoned_after_the_prompt_still_leaves_a_draft(runtime_db):
    _open()
    [entry] = _entries(runtime_db)
    assert entry.status == "draft"
    with runtime_db() as session:
        opened = session.scalar(select(AuditEvent).where(AuditEvent.object_id == str(entry.id)))
    assert opened.action == "journal_entry.opened" and opened.detail["key"]


def test_a_saved_entry_is_screened_and_a_worrying_one_gets_care_and_the_clinics_lines(runtime_db):
    slots, _ = _open()
    slots, _ = _say(slots, "Some days it feels URGENT and heavy.")
    slots, _ = _say(slots, "done", intent="done")
    slots, _ = _say(slots, "skip", intent="skip_prompt", requested="journal_follow_up")
    assert slots["journal_follow_up"] == ""
    dispatcher = CollectingDispatcher()
    run(ActionSaveJournal(), make_tracker(SENDER, "skip", slots=slots), dispatcher)
    assert responses(dispatcher) == [
        "utter_journal_reflect_gentle", "utter_journal_saved", "utter_journal_saved_care",
    ]
    assert "988" in dispatcher.messages[2]["resources"]
    [entry] = _entries(runtime_db)
    with runtime_db() as session:
        assessment = session.scalar(select(SafetyAssessment).where(SafetyAssessment.journal_entry_id == entry.id))
    assert entry.status == "saved" and assessment.level == "urgent"


def test_a_review_level_entry_is_saved_then_grounding_is_offered(runtime_db):
    slots, _ = _open()
    slots, _ = _say(slots, "A REVIEW kind of memory came back.")
    slots, _ = _say(slots, "done", intent="done")
    slots, _ = _say(slots, "no", intent="deny", requested="journal_follow_up")
    dispatcher = CollectingDispatcher()
    run(ActionSaveJournal(), make_tracker(SENDER, "no", slots=slots), dispatcher)
    assert responses(dispatcher) == [
        "utter_journal_reflect_gentle", "utter_journal_saved", "utter_offer_grounding",
    ]


def _database_down(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"postgresql://kap@127.0.0.1:{free_port()}/kap")
    runtime.settings.cache_clear()
    runtime.session_factory.cache_clear()
    actions.common.durable_writer().stop()
    actions.common.durable_writer.cache_clear()


def _database_back(monkeypatch, settings):
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    runtime.settings.cache_clear()
    runtime.session_factory.cache_clear()
    actions.common.durable_writer().stop()
    actions.common.durable_writer.cache_clear()
    writer = actions.common.durable_writer()
    writer.drainer.drain_once()
    return writer


def test_with_the_database_down_nothing_written_is_lost(runtime_db, settings, monkeypatch):
    _set_schedule(runtime_db, utcnow() - timedelta(days=2), None)
    _database_down(monkeypatch)

    slots, opened = _open(slots={"journal_phase": "days_after"})
    assert responses(opened) == ["utter_journal_kept_offline", "utter_journal_prompt"]
    assert slots["journal_spooled"] is True and slots.get("journal_entry_id") is None
    slots, first = _say(slots, "The music took me somewhere far away.")
    assert responses(first) == []  # told once per entry, not at every message
    slots, _ = _say(slots, "I saw my dad and we were ok.")
    assert _entries(runtime_db) == []
    # Three steps kept on disk (a file may be claimed by the background writer's retry).
    spooled = list((settings.spool_dir / "records").glob("*.json*"))
    assert len(spooled) == 3

    _database_back(monkeypatch, settings)
    [entry] = _entries(runtime_db)
    assert entry.status == "draft" and entry.phase == "days_after"
    assert entry.text == "The music took me somewhere far away.\nI saw my dad and we were ok."
    assert list((settings.spool_dir / "records").glob("*.json*")) == []


def test_saving_while_the_database_is_down_is_kept_and_saved_later(runtime_db, settings, monkeypatch):
    slots, _ = _open()
    slots, _ = _say(slots, "The ceiling was breathing.")
    slots, _ = _say(slots, "done", intent="done")
    slots, _ = _say(slots, "It felt alive.", requested="journal_follow_up")
    _database_down(monkeypatch)
    dispatcher = CollectingDispatcher()
    run(ActionSaveJournal(), make_tracker(SENDER, "...", slots=slots), dispatcher)
    assert responses(dispatcher)[1] == "utter_journal_saved_offline"
    assert _entries(runtime_db)[0].status == "draft"

    writer = _database_back(monkeypatch, settings)
    [entry] = _entries(runtime_db)
    assert entry.status == "saved" and entry.follow_up_text == "It felt alive."
    with runtime_db() as session:
        count = session.scalar(
            select(func.count()).select_from(SafetyAssessment).where(SafetyAssessment.journal_entry_id == entry.id)
        )
    assert count == 1
    # Writing the same records again changes nothing.
    assert writer.drainer.drain_once() == 0
