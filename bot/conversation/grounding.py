"""Grounding exercises: which one, how far along, and what is stored."""
from __future__ import annotations

import re
from typing import Optional

from sqlalchemy.orm import Session

from bot.content.exercises import Exercise, exercise_library
from bot.storage.models import GroundingSession, utcnow

DEFAULT_EXERCISE = "five_senses"
_ANY = re.compile(
    r"\b(any|anything|whatever|you (choose|pick|decide)|dunno|idk|don'?t know|not sure|"
    r"surprise me|either|doesn'?t matter|your choice|random)\b"
)
_SEPARATORS = re.compile(r"[\s\-–—,./]+")


def _normalise(text: str) -> str:
    return " " + _SEPARATORS.sub(" ", (text or "").lower()).strip() + " "


def exercise_named_in(text: str, library: Optional[tuple[Exercise, ...]] = None) -> Optional[str]:
    """The id of the exercise a message names ("box breathing", "4-7-8"), if any."""
    library = library if library is not None else exercise_library()
    normalised = _normalise(text)
    candidates = [
        (len(alias), exercise.id)
        for exercise in library
        for alias in (exercise.aliases + (exercise.title.lower(), exercise.id.replace("_", " ")))
        if _normalise(alias) in normalised
    ]
    return max(candidates)[1] if candidates else None


def leaves_choice_to_us(text: str) -> bool:
    """True for "you choose", "any", "idk": the default exercise is then used."""
    return bool(_ANY.search((text or "").lower()))


def start_session(session: Session, patient_id: int, exercise_id: str, before: int) -> GroundingSession:
    """Store a started exercise with the distress rating taken before it."""
    row = GroundingSession(patient_id=patient_id, exercise_id=exercise_id, distress_before=before)
    session.add(row)
    session.flush()
    return row


def finish_session(
    session: Session,
    patient_id: int,
    session_id: int,
    after: Optional[int],
    completed: bool,
) -> GroundingSession:
    """Record how an exercise ended: the rating after it, and whether it was finished."""
    row = session.get(GroundingSession, session_id)
    if row is None or row.patient_id != patient_id:
        raise LookupError(f"grounding session {session_id} not found for this patient")
    row.distress_after = after
    row.completed = completed
    row.ended_at = utcnow()
    return row


def result_response(before: Optional[int], after: Optional[int]) -> str:
    """The domain response that reflects the change in distress back."""
    if before is None or after is None:
        return "utter_grounding_result"
    if after < before:
        return "utter_grounding_result_lower"
    if after > before:
        return "utter_grounding_result_higher"
    return "utter_grounding_result_same"
