"""When the assistant offers a PHQ-9 or GAD-7: a clinic setting, decided here.

A clinic chooses, for each instrument, any of: before each infusion (when one
is scheduled within the preparation window and the instrument has not been
completed since the window opened) and weekly during a course (an infusion in
the last four weeks or one scheduled, and none completed in the last seven
days). The patient can start either at any time whatever the setting.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Mapping, Optional

from bot.course.phase import PREPARATION_WINDOW, in_preparation_window

BEFORE_INFUSION, WEEKLY = "before_infusion", "weekly"
OFFER_KINDS = (BEFORE_INFUSION, WEEKLY)
INSTRUMENTS = ("phq9", "gad7")
DEFAULT_OFFERS: dict[str, tuple[str, ...]] = {"phq9": (BEFORE_INFUSION, WEEKLY), "gad7": (WEEKLY,)}
COURSE_RECENT = timedelta(days=28)
WEEK = timedelta(days=7)


class OffersError(ValueError):
    """A questionnaire-offer setting is malformed; the message is one line."""


def check_offers(raw: Any) -> dict[str, tuple[str, ...]]:
    """A stored setting as {instrument: kinds}; None means the default."""
    if raw is None:
        return dict(DEFAULT_OFFERS)
    if not isinstance(raw, dict) or set(raw) - set(INSTRUMENTS):
        raise OffersError(f"questionnaire offers must map {' and '.join(INSTRUMENTS)} to when they are offered")
    offers = {}
    for instrument in INSTRUMENTS:
        kinds = raw.get(instrument, [])
        if not isinstance(kinds, (list, tuple)) or set(kinds) - set(OFFER_KINDS):
            raise OffersError(f"{instrument} can be offered only {' or '.join(OFFER_KINDS)}")
        offers[instrument] = tuple(kind for kind in OFFER_KINDS if kind in kinds)
    return offers


def due_questionnaire(
    offers: Mapping[str, tuple[str, ...]],
    now: datetime,
    *,
    next_infusion: Optional[datetime],
    last_infusion: Optional[datetime],
    last_completed: Mapping[str, Optional[datetime]],
) -> Optional[str]:
    """The instrument to offer now (PHQ-9 before GAD-7), or None."""
    for instrument in INSTRUMENTS:
        kinds = offers.get(instrument, ())
        done = last_completed.get(instrument)
        if BEFORE_INFUSION in kinds and in_preparation_window(now, next_infusion):
            if done is None or done < next_infusion - PREPARATION_WINDOW:
                return instrument
        in_course = next_infusion is not None or (last_infusion is not None and now - last_infusion <= COURSE_RECENT)
        if WEEKLY in kinds and in_course and (done is None or now - done >= WEEK):
            return instrument
    return None
