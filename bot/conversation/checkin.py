"""Check-ins: mood, anxiety, sleep and lingering dissociation, in under a minute."""
from __future__ import annotations

import re
from typing import Optional

from sqlalchemy.orm import Session

from bot.storage.models import MoodCheckin

SLEEP_VALUES = ("well", "okay", "poorly", "barely")
DISSOCIATION_VALUES = ("none", "mild", "strong")
HIGH_ANXIETY = 7
LOW_MOOD = 3

_NUMBER = re.compile(r"(?<![\d.])(\d{1,3})(?:\.\d+)?(?!\d)")
_NUMBER_WORDS = {
    "zero": 0, "none": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
}
_WORDS = re.compile(r"[a-z']+")

# Checked in this order: the first phrase found wins ("not bad" before "bad").
_SLEEP_PHRASES = (
    ("barely", ("barely", "hardly", "didn't sleep", "didnt sleep", "did not sleep", "no sleep",
                "couldn't sleep", "couldnt sleep", "awake all night", "insomnia", "not at all")),
    ("okay", ("not bad", "okay", "ok", "alright", "all right", "so so", "so-so", "meh", "average",
              "fine-ish", "decent")),
    ("poorly", ("poor", "poorly", "bad", "badly", "restless", "not great", "not well", "woke up", "rough", "tossed",
                "broken", "light sleep", "terrible", "awful")),
    ("well", ("well", "great", "good", "fine", "solid", "deep", "like a baby", "rested", "amazing")),
)
_DISSOCIATION_PHRASES = (
    ("none", ("not at all", "no", "none", "nope", "nah", "present", "grounded", "back to normal",
              "all gone", "normal", "clear", "fine")),
    ("strong", ("a lot", "very", "really", "quite", "strong", "lots", "still floaty", "totally",
                "completely", "intense")),
    ("mild", ("a little", "a bit", "slightly", "somewhat", "kind of", "kinda", "sort of",
              "sometimes", "mild", "bit", "yes", "yeah", "floaty", "spacey")),
)


def parse_rating(text: str, entity_value=None) -> Optional[int]:
    """A 0-10 rating from a button entity or typed text; None if there is no number.

    Out-of-range numbers are returned as they are, so that the caller can say so.
    """
    if entity_value is not None:
        try:
            return int(float(entity_value))
        except (TypeError, ValueError):
            return None
    lowered = (text or "").lower()
    match = _NUMBER.search(lowered)
    if match:
        return int(match.group(1))
    for word in _WORDS.findall(lowered):
        if word in _NUMBER_WORDS:
            return _NUMBER_WORDS[word]
    return None


def is_valid_rating(value: Optional[int]) -> bool:
    """True for a whole number from 0 to 10."""
    return isinstance(value, int) and 0 <= value <= 10


def _phrase_match(text: str, table) -> Optional[str]:
    lowered = (text or "").lower()
    for value, phrases in table:
        if any(re.search(rf"(?<![a-z']){re.escape(p)}(?![a-z'])", lowered) for p in phrases):
            return value
    return None


def parse_sleep(text: str, entity_value: Optional[str] = None) -> Optional[str]:
    """well / okay / poorly / barely from a button or typed text."""
    if entity_value in SLEEP_VALUES:
        return entity_value
    return _phrase_match(text, _SLEEP_PHRASES)


def parse_dissociation(
    text: str, intent: Optional[str] = None, entity_value: Optional[str] = None
) -> Optional[str]:
    """none / mild / strong from a button, a yes or no, or typed text."""
    if entity_value in DISSOCIATION_VALUES:
        return entity_value
    if intent == "deny":
        return "none"
    found = _phrase_match(text, _DISSOCIATION_PHRASES)
    if found is None and intent == "affirm":
        return "mild"
    return found


def needs_grounding(mood: Optional[int], anxiety: Optional[int]) -> bool:
    """High anxiety (7 or more) or low mood (3 or less) leads to a grounding offer."""
    return (anxiety is not None and anxiety >= HIGH_ANXIETY) or (
        mood is not None and mood <= LOW_MOOD
    )


def lingering_dissociation(dissociation: Optional[str], phase: Optional[str]) -> bool:
    """Dissociation still present on a day after the session: worth telling the clinic."""
    return dissociation in ("mild", "strong") and phase not in (None, "same_day")


def save_checkin(
    session: Session,
    patient_id: int,
    mood: Optional[int],
    anxiety: Optional[int],
    sleep: Optional[str],
    dissociation: Optional[str],
) -> MoodCheckin:
    """Store one check-in; any answer may be missing (a check-in stopped early)."""
    checkin = MoodCheckin(
        patient_id=patient_id,
        mood=mood if is_valid_rating(mood) else None,
        anxiety=anxiety if is_valid_rating(anxiety) else None,
        sleep=sleep if sleep in SLEEP_VALUES else None,
        dissociation=dissociation if dissociation in DISSOCIATION_VALUES else None,
    )
    session.add(checkin)
    session.flush()
    return checkin
