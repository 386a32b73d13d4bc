"""A whole journaling conversation over the REST channel, checked in the database."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.storage.models import (
    ChatMessage,
    Clinician,
    InfusionSession,
    JournalEntry,
    Patient,
    SafetyAssessment,
    utcnow,
)
from tests.servers import wait_for

pytestmark = pytest.mark.e2e

SENDER = "e2e-journal-rosa"


def _texts(replies):
    return " ".join(r.get("text", "") for r in replies)


@pytest.fixture(scope="module")
def patient_id(servers):
    """A patient of the demo clinic whose last infusion was two days ago."""
    with servers.sessions.begin() as session:
        therapist = session.scalar(select(Clinician).where(Clinician.role == "therapist"))
        patient = Patient(
            clinic_id=therapist.clinic_id,
            therapist_id=therapist.id,
            sender_id=SENDER,
            display_name="Rosa",
            pseudonym="P-E2E-ROSA",
            timezone="UTC",
            intention="To listen to my body.",
        )
        session.add(patient)
        session.flush()
        session.add(
            InfusionSession(patient_id=patient.id, occurred_at=utcnow() - timedelta(days=2), route="IV")
        )
        return patient.id


def _entries(servers, patient_id):
    with servers.sessions() as session:
        return session.scalars(
            select(JournalEntry).where(JournalEntry.patient_id == patient_id).order_by(JournalEntry.id)
        ).all()


def test_prompt_several_messages_done_follow_up_reflection_saved(servers, patient_id):
    prompt = _texts(servers.say(SENDER, "i want to journal"))
    assert "A day or two on, what meaning is starting to form" in prompt
    assert "done" in prompt

    first = "I keep coming back to the moment my chest felt warm and open."
    assert "Keep going" in _texts(servers.say(SENDER, first))
    # Each step is stored as it happens: the draft already holds the first message.
    [draft] = _entries(servers, patient_id)
    assert (draft.status, draft.text, draft.phase, draft.prompt_id) == (
        "draft", first, "days_after", "da.meaning"
    )

    second = "My sister was there in a memory, laughing by the lake."
    assert "Keep going" in _texts(servers.say(SENDER, second))

    follow_up = _texts(servers.say(SENDER, "done"))
    assert "remember about this in a month" in follow_up

    answer = "That I am allowed to feel open."
    closing = _texts(servers.say(SENDER, answer))
    assert "Thank you for putting this into words" in closing  # the reflection
    assert "“I keep coming back to the moment my chest felt warm and…”" in closing  # their own words
    assert "saved it to your journal" in closing

    [entry] = _entries(servers, patient_id)
    assert entry.status == "saved"
    assert entry.text == f"{first}\n{second}"
    assert entry.follow_up_text == answer
    with servers.sessions() as session:
        assessment = session.scalar(
            select(SafetyAssessment).where(SafetyAssessment.journal_entry_id == entry.id)
        )
    assert assessment.level == "none"


def test_the_next_entry_gets_a_prompt_not_answered_recently(servers, patient_id):
    prompt = _texts(servers.say(SENDER, "journal"))
    assert "A day or two on" not in prompt
    assert "To listen to my body." in prompt  # the intention prompt comes next for this phase
    assert "No problem" in _texts(servers.say(SENDER, "later"))
    drafts = [e for e in _entries(servers, patient_id) if e.status == "draft"]
    assert [d.prompt_id for d in drafts] == ["da.intention"]


def test_every_turn_of_the_conversation_is_recorded(servers, patient_id):
    def recorded(direction):
        with servers.sessions() as session:
            return session.scalars(
                select(ChatMessage.text).where(
                    ChatMessage.patient_id == patient_id, ChatMessage.direction == direction
                )
            ).all()

    # The recorder writes in order: once the last reply is in, every turn is.
    assert wait_for(lambda: any("kept your draft" in t for t in recorded("assistant")))
    texts = recorded("patient")
    assert "i want to journal" in texts and "done" in texts and "later" in texts
    assert any("saved it to your journal" in t for t in recorded("assistant"))
