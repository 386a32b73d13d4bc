"""What a patient writes and answers between sessions."""
from __future__ import annotations

from sqlalchemy import JSON, Boolean, CheckConstraint, Column, ForeignKey, Index, Integer, String, Text

from bot.storage.models.base import PHASES, ENTRY_STATUSES, DIRECTIONS, Base, utcnow, enum_check
from bot.storage.types import UTCDateTime


class JournalEntry(Base):
    """A journal entry; a draft until the patient finishes it."""

    __tablename__ = "journal_entry"
    __table_args__ = (
        enum_check("phase", PHASES, "ck_journal_phase"),
        enum_check("status", ENTRY_STATUSES, "ck_journal_status"),
        Index("ix_journal_patient_time", "patient_id", "created_at"),
    )

    id = Column(Integer, primary_key=True)
    patient_id = Column(ForeignKey("patient.id"), nullable=False)
    prompt_id = Column(String(64), nullable=True)
    phase = Column(String(20), nullable=False)
    text = Column(Text, nullable=False, default="")
    follow_up_text = Column(Text, nullable=True)
    status = Column(String(10), nullable=False, default="draft")
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<JournalEntry {self.id} patient={self.patient_id} {self.status}>"


class MoodCheckin(Base):
    """A short check-in: mood, anxiety, sleep and lingering dissociation."""

    __tablename__ = "mood_checkin"
    __table_args__ = (
        CheckConstraint("mood BETWEEN 0 AND 10", name="ck_checkin_mood"),
        CheckConstraint("anxiety BETWEEN 0 AND 10", name="ck_checkin_anxiety"),
        Index("ix_checkin_patient_time", "patient_id", "created_at"),
    )

    id = Column(Integer, primary_key=True)
    patient_id = Column(ForeignKey("patient.id"), nullable=False)
    mood = Column(Integer, nullable=True)
    anxiety = Column(Integer, nullable=True)
    sleep = Column(String(20), nullable=True)
    dissociation = Column(String(20), nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)

    def __repr__(self) -> str:
        return f"<MoodCheckin {self.id} patient={self.patient_id}>"


class GroundingSession(Base):
    """One grounding exercise with the 0-10 distress rating before and after."""

    __tablename__ = "grounding_session"
    __table_args__ = (Index("ix_grounding_patient_time", "patient_id", "started_at"),)

    id = Column(Integer, primary_key=True)
    patient_id = Column(ForeignKey("patient.id"), nullable=False)
    exercise_id = Column(String(64), nullable=False)
    distress_before = Column(Integer, nullable=True)
    distress_after = Column(Integer, nullable=True)
    completed = Column(Boolean, nullable=False, default=False)
    started_at = Column(UTCDateTime, nullable=False, default=utcnow)
    ended_at = Column(UTCDateTime, nullable=True)

    def __repr__(self) -> str:
        return f"<GroundingSession {self.id} {self.exercise_id}>"


class ChatMessage(Base):
    """One turn of a patient's conversation with the assistant."""

    __tablename__ = "chat_message"
    __table_args__ = (
        enum_check("direction", DIRECTIONS, "ck_message_direction"),
        Index("ix_message_patient_time", "patient_id", "created_at"),
    )

    id = Column(Integer, primary_key=True)
    patient_id = Column(ForeignKey("patient.id"), nullable=False)
    # Rasa's message id makes a redelivered event idempotent.
    external_id = Column(String(64), nullable=True, unique=True)
    direction = Column(String(10), nullable=False)
    text = Column(Text, nullable=False)
    intent = Column(String(64), nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)

    def __repr__(self) -> str:
        return f"<ChatMessage {self.id} {self.direction}>"


QUESTIONNAIRE_STATUSES = ("in_progress", "completed")


class QuestionnaireResponse(Base):
    """One PHQ-9 or GAD-7, answered in the chat one item at a time.

    `answers` maps item ids to 0-3. A response in progress is carried on where
    it stopped; `score` and `band` are set when the last item is answered.
    `crisis_at` is when an answer to a crisis item (PHQ-9 item 9) above 0
    started the crisis protocol.
    """

    __tablename__ = "questionnaire_response"
    __table_args__ = (
        enum_check("status", QUESTIONNAIRE_STATUSES, "ck_questionnaire_status"),
        Index("ix_questionnaire_patient_time", "patient_id", "started_at"),
    )

    id = Column(Integer, primary_key=True)
    # Chosen by the conversation, so a write retried from the spool is applied once.
    key = Column(String(64), nullable=False, unique=True)
    patient_id = Column(ForeignKey("patient.id"), nullable=False)
    instrument = Column(String(16), nullable=False)
    answers = Column(JSON, nullable=False, default=dict)
    status = Column(String(12), nullable=False, default="in_progress")
    score = Column(Integer, nullable=True)
    band = Column(String(32), nullable=True)
    crisis_at = Column(UTCDateTime, nullable=True)
    started_at = Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)
    completed_at = Column(UTCDateTime, nullable=True)

    def __repr__(self) -> str:
        return f"<QuestionnaireResponse {self.id} {self.instrument} {self.status}>"
