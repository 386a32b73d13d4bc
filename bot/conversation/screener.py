"""The C-SSRS screener inside the crisis protocol: which question next, what the answers mean.

Questions (CLINICAL.md, Columbia screener, past month):
  crisis_safe_now  asked first at emergency level: are you somewhere safe right now?
  cssrs_q1         wished you were dead, or to go to sleep and not wake up
  cssrs_q2         actual thoughts of killing yourself
  cssrs_q3-q5      method, intention, plan: asked only if Q2 is "yes"
  cssrs_q6         ever done, started or prepared anything to end your life
  cssrs_q6_recent  was that within the past three months: asked if Q6 is "yes"

A "no" never ends the protocol: the screener runs to its end (Q6), and only
then does the calm close follow. A "declined" answer is kept as such; it is
not read as "no".
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable, Mapping, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.conversation.snapshot import SpoolRecord
from bot.escalation.alerts import raise_patient_alert
from bot.storage.models import CrisisScreening, LEVELS, utcnow
from bot.storage.patients import find_patient_by_sender

SAFE_NOW = "crisis_safe_now"
Q1, Q2, Q3, Q4, Q5, Q6, Q6_RECENT = (
    "cssrs_q1",
    "cssrs_q2",
    "cssrs_q3",
    "cssrs_q4",
    "cssrs_q5",
    "cssrs_q6",
    "cssrs_q6_recent",
)
QUESTIONS = (SAFE_NOW, Q1, Q2, Q3, Q4, Q5, Q6, Q6_RECENT)
YES, NO, DECLINED = "yes", "no", "declined"
# A yes to any of these is high risk (C-SSRS): recorded as emergency.
EMERGENCY_IF_YES = (Q4, Q5, Q6_RECENT)

_DECLINE = re.compile(
    r"\b(rather not|prefer not|don'?t want to (say|answer)|not (going to|gonna) (say|answer)|"
    r"skip|pass|no comment|none of your business)\b"
)
# Partial or uncertain answers are read as the answer that carries risk: the
# care team reviews them, and under-reading risk is the failure that matters.
_UNSURE = re.compile(
    r"\b(sometimes|kind of|kinda|sort of|a bit|a little|maybe|often|probably|"
    r"i guess|not sure|unsure|don'?t know|dont know|idk|once or twice|on and off)\b"
)
_NO = re.compile(r"^\s*(no+|nope|nah|never|not really|not at all|i have not|i haven'?t)\b")
_YES = re.compile(r"\b(yes|yeah|yep|yup|ya|once|twice|i did|i have)\b")


def questions_to_ask(answers: Mapping[str, Optional[str]], trigger_level: str) -> list[str]:
    """The questions of this run, in order, given the answers so far (C-SSRS skip logic)."""
    questions = [SAFE_NOW] if trigger_level == "emergency" else []
    questions += [Q1, Q2]
    if answers.get(Q2) == YES:
        questions += [Q3, Q4, Q5]
    questions.append(Q6)
    if answers.get(Q6) == YES:
        questions.append(Q6_RECENT)
    return questions


def is_complete(answers: Mapping[str, Optional[str]], trigger_level: str) -> bool:
    """True once every question of this run has an answer (declined counts)."""
    return all(answers.get(q) is not None for q in questions_to_ask(answers, trigger_level))


def risk_level(answers: Mapping[str, Optional[str]], trigger_level: str) -> str:
    """The level the answers show; never below the level that started the protocol."""
    emergency = any(answers.get(q) == YES for q in EMERGENCY_IF_YES) or answers.get(SAFE_NOW) == NO
    derived = "emergency" if emergency else "urgent"
    return worse(trigger_level, derived)


def worse(a: str, b: str) -> str:
    """The more severe of two levels."""
    return a if LEVELS.index(a) >= LEVELS.index(b) else b


def parse_answer(question: str, intent: Optional[str], text: str) -> Optional[str]:
    """yes / no / declined from a reply to `question`, or None if it is not an answer.

    A message the safety screen routed as a crisis while the screener runs is
    taken as "yes" (as "no" to "are you safe right now?"): it is a disclosure,
    and the conservative reading is the safe one. So are "sometimes" or "not sure".
    """
    risky = NO if question == SAFE_NOW else YES
    text = (text or "").strip().lower()
    if intent == "crisis":
        return risky
    if intent == "skip_prompt" or _DECLINE.search(text):
        return DECLINED
    if _UNSURE.search(text):
        return risky
    if intent == "deny":
        return NO
    if intent == "affirm":
        return YES
    if _NO.search(text):
        return NO
    if _YES.search(text):
        return YES
    return None


@dataclass(frozen=True)
class ScreeningSnapshot(SpoolRecord):
    """Everything known about one screener run at one step.

    Answers are only ever added and the status only moves forward, so a
    snapshot applied twice, or after a newer one, changes nothing.
    """

    KIND = "screening"

    key: str
    sender_id: str
    trigger_level: str
    answers: dict = field(default_factory=dict)
    status: str = "in_progress"
    started_at: Optional[str] = None


def apply_screening(session: Session, snapshot: ScreeningSnapshot) -> CrisisScreening:
    """Create or update the screening row for `snapshot.key`."""
    patient = find_patient_by_sender(session, snapshot.sender_id)
    if patient is None:
        raise LookupError("the screener's sender is not an enrolled patient")
    answers = {q: a for q, a in snapshot.answers.items() if q in QUESTIONS and a is not None}
    row = session.scalar(select(CrisisScreening).where(CrisisScreening.key == snapshot.key))
    if row is None:
        row = CrisisScreening(
            key=snapshot.key,
            patient_id=patient.id,
            trigger_level=snapshot.trigger_level,
            level=snapshot.trigger_level,
            answers={},
            status="in_progress",
            started_at=_parse_time(snapshot.started_at),
        )
        session.add(row)
    elif row.patient_id != patient.id:
        raise LookupError("screening key belongs to another patient")
    merged = {**answers, **(row.answers or {})}  # a stored answer is never changed
    row.answers = merged
    previous_level = row.level
    row.level = worse(row.level, risk_level(merged, row.trigger_level))
    if row.level != previous_level:
        # The answers raised the risk (C-SSRS intent, plan or recent behaviour):
        # the care team's alert must say so too, in this same transaction.
        raise_patient_alert(session, patient.id, row.level, ["suicidal_ideation"], utcnow())
    if row.status == "in_progress" and snapshot.status != "in_progress":
        row.status = snapshot.status
    session.flush()
    return row


def _parse_time(value: Optional[str]) -> datetime:
    return datetime.fromisoformat(value) if value else utcnow()


def answered(slots: Mapping[str, Optional[str]], questions: Iterable[str] = QUESTIONS) -> dict:
    """The answers among conversation slots, for a snapshot."""
    return {q: slots.get(q) for q in questions if slots.get(q) is not None}
