"""Preparation before an infusion: the patient's intention and their readiness checklist."""
from __future__ import annotations

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, String, Text, UniqueConstraint

from bot.storage.models.base import Base, enum_check, utcnow
from bot.storage.types import UTCDateTime

INTENTION_SOURCES = ("chat", "clinician")
PREPARATION_STATUSES = ("confirmed", "not_yet")


class Intention(Base):
    """One version of a patient's intention, in their own words; every version is kept.

    The newest is the current one and is also kept on `Patient.intention`,
    where the journaling prompts read it.
    """

    __tablename__ = "intention"
    __table_args__ = (
        enum_check("source", INTENTION_SOURCES, "ck_intention_source"),
        Index("ix_intention_patient_time", "patient_id", "created_at"),
    )

    id = Column(Integer, primary_key=True)
    # Chosen by the conversation, so a write retried from the spool is applied once.
    key = Column(String(64), nullable=False, unique=True)
    patient_id = Column(ForeignKey("patient.id"), nullable=False)
    text = Column(Text, nullable=False)
    # The patient's answers to the reflective questions that led to it.
    reflections = Column(JSON, nullable=False, default=list)
    # The scheduled infusion it was set for, if there was one.
    infusion_id = Column(ForeignKey("infusion_session.id"), nullable=True)
    source = Column(String(12), nullable=False, default="chat")
    clinician_id = Column(ForeignKey("clinician.id"), nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)

    def __repr__(self) -> str:
        return f"<Intention {self.id} patient={self.patient_id}>"


class PreparationAnswer(Base):
    """The patient's answer to one item of the clinic's checklist, for one infusion."""

    __tablename__ = "preparation_answer"
    __table_args__ = (
        enum_check("status", PREPARATION_STATUSES, "ck_preparation_status"),
        UniqueConstraint("infusion_id", "item_id", name="uq_preparation_infusion_item"),
    )

    id = Column(Integer, primary_key=True)
    patient_id = Column(ForeignKey("patient.id"), nullable=False, index=True)
    infusion_id = Column(ForeignKey("infusion_session.id"), nullable=False)
    item_id = Column(String(64), nullable=False)
    status = Column(String(12), nullable=False)
    answered_at = Column(UTCDateTime, nullable=False, default=utcnow)

    def __repr__(self) -> str:
        return f"<PreparationAnswer {self.item_id} {self.status}>"
