"""Conversations over the REST channel of the running servers, checked in the database."""
import urllib.error

import pytest
from sqlalchemy import func, select

from bot.clinic.enrolment import enrol_patient
from bot.storage.models import ChatMessage, Clinic, Clinician, JournalEntry, Patient, SafetyAssessment
from tests.servers import chat_token, post_json

pytestmark = pytest.mark.e2e


def _texts(replies):
    return " ".join(r.get("text", "") for r in replies)


def _patient_id(servers, sender):
    with servers.sessions() as session:
        return session.scalar(select(Patient.id).where(Patient.sender_id == sender))


def _assessments(servers, sender):
    with servers.sessions() as session:
        return session.execute(
            select(SafetyAssessment, ChatMessage.text)
            .join(ChatMessage, SafetyAssessment.chat_message_id == ChatMessage.id)
            .where(SafetyAssessment.patient_id == _patient_id(servers, sender))
            .order_by(SafetyAssessment.id)
        ).all()


def _crisis_assessment(servers, sender, text):
    """The stored assessment of the sender's last message `text`, which must be a crisis."""
    servers.settle()
    rows = [r for r in _assessments(servers, sender) if r[1] == text]
    assessment = rows[-1][0]
    assert assessment.level in ("urgent", "emergency")
    assert "suicidal_ideation" in assessment.categories
    return assessment


def test_hi_gets_a_greeting_with_the_patient_name_and_is_recorded(servers):
    replies = servers.say("demo-ava", "hi")
    assert "Hi Ava" in _texts(replies)
    servers.settle()
    rows = _assessments(servers, "demo-ava")
    assessment, text = rows[-1]
    assert text == "hi" and assessment.level == "none"
    with servers.sessions() as session:
        said = session.scalars(
            select(ChatMessage.text).where(ChatMessage.direction == "assistant")
        ).all()
    assert any("Hi Ava" in s for s in said)


def test_a_stranger_is_refused_politely_and_stored_nowhere(servers):
    servers.settle()
    with servers.sessions() as session:
        before = session.scalar(select(func.count()).select_from(ChatMessage))
    replies = servers.say("someone-unknown", "hi, i want to kill myself")
    assert "for enrolled patients of the clinic" in _texts(replies)
    assert "emergency number" in _texts(replies)
    with servers.sessions() as session:
        assert session.scalar(select(func.count()).select_from(ChatMessage)) == before
    assert list(servers.settings.spool_dir.glob("turns/*.json")) == []


@pytest.mark.parametrize(
    "body, status, reason",
    [
        (b'{"sender": "demo-ava", "message": "caf\xe9"}', 400, "not valid UTF-8"),
        (b'{"sender": "demo-ava", "message": ""}', 400, "'message' is empty"),
        (b'{"sender": "demo-ava"', 400, "not valid JSON"),
    ],
)
def test_bad_requests_get_one_clear_error(servers, body, status, reason):
    with pytest.raises(urllib.error.HTTPError) as caught:
        post_json(f"{servers.rasa_url}/webhooks/rest/webhook", body, token=chat_token("demo-ava"))
    assert caught.value.code == status
    assert reason in caught.value.read().decode("utf-8")


def test_a_journal_entry_is_saved_after_done(servers):
    sender = "demo-jonah"
    prompt = _texts(servers.say(sender, "i want to journal"))
    assert prompt.strip()
    entry_text = "I kept thinking about my brother and the lake we swam in as kids."
    servers.say(sender, entry_text)
    servers.say(sender, "done")
    saved = _texts(servers.say(sender, "skip"))
    assert "saved" in saved.lower()
    with servers.sessions() as session:
        entry = session.scalar(
            select(JournalEntry)
            .where(JournalEntry.patient_id == _patient_id(servers, sender))
            .order_by(JournalEntry.id.desc())
        )
        assert entry.status == "saved" and entry.text == entry_text
        assert entry.phase == "days_after" and entry.prompt_id.startswith("da.")
        assessment = session.scalar(
            select(SafetyAssessment).where(SafetyAssessment.journal_entry_id == entry.id)
        )
        assert assessment.level == "none"


def test_a_crisis_in_the_middle_of_journaling_gets_the_crisis_protocol(servers):
    sender = "demo-ava"
    servers.say(sender, "can i write about my session")
    replies = _texts(servers.say(sender, "i want to kil myself"))
    assert "988" in replies
    assert "care team know" in replies
    assert "safety plan" in replies
    assessment = _crisis_assessment(servers, sender, "i want to kil myself")
    assert assessment.findings and assessment.findings[0]["rule"]
    with servers.sessions() as session:
        drafts = session.scalars(
            select(JournalEntry).where(
                JournalEntry.patient_id == _patient_id(servers, sender),
                JournalEntry.status == "draft",
            )
        ).all()
    assert drafts, "the interrupted journal entry is kept as a draft"
    # The journaling form is not resumed: the crisis protocol goes on instead.
    after = _texts(servers.say(sender, "thanks"))
    assert "journal" not in after.lower()


def test_a_sentence_typed_in_two_pieces_is_screened_as_one(servers):
    sender = "demo-ava"
    first = _texts(servers.say(sender, "honestly i just want to"))
    assert "988" not in first
    replies = _texts(servers.say(sender, "die"))
    assert "988" in replies
    assert "care team know" in replies
    finding = _crisis_assessment(servers, sender, "die").findings[0]
    assert "with previous message" in finding["modifiers"]
    assert (finding["start"], finding["end"], finding["text"]) == (0, 3, "die")


GROUNDING_OFFER = "guide you through a short grounding exercise"


def test_a_review_level_message_gets_its_reply_then_a_grounding_offer_and_the_next_does_not(servers):
    with servers.sessions.begin() as session:
        clinic = session.scalar(select(Clinic))
        therapist = session.scalar(select(Clinician).where(Clinician.role == "therapist"))
        sender = enrol_patient(session, clinic, display_name="Sky", code="E2E-REVIEW",
                               therapist_id=therapist.id).sender_id
    servers.say(sender, "hi")
    replies = servers.say(sender, "during the session i wanted to die just to make it stop")
    assert GROUNDING_OFFER in replies[-1].get("text", "") and len(replies) >= 2, replies
    assert "988" not in _texts(replies), "review pages no one and is not a crisis"
    assert GROUNDING_OFFER not in _texts(servers.say(sender, "it felt like being reborn"))
    servers.settle()
    levels = [row[0].level for row in _assessments(servers, sender)]
    assert levels[-2:] == ["review", "none"]
