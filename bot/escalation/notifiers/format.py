"""Wording shared by the channels: one summary line, times in the clinic's zone."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.escalation.alerts import AlertView

STAGE_NAMES = {"therapist": "therapist", "on_call": "on-call clinician", "admin": "clinic admin"}


def local_time(moment: datetime, zone: str) -> str:
    """`2026-11-21 06:05 MST (13:05 UTC)` in the clinic's time zone."""
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        tz = timezone.utc
    local = moment.astimezone(tz)
    utc = moment.astimezone(timezone.utc)
    if local.utcoffset() == utc.utcoffset():
        return utc.strftime("%Y-%m-%d %H:%M UTC")
    return f"{local.strftime('%Y-%m-%d %H:%M %Z')} ({utc.strftime('%H:%M UTC')})"


def categories_text(categories: Iterable[str]) -> str:
    """`suicidal ideation, medical`."""
    return ", ".join(c.replace("_", " ") for c in categories) or "unspecified"


def headline(view: AlertView) -> str:
    """One line: level, pseudonym, categories, and what changed."""
    line = (f"{view.level.upper()} crisis alert for patient {view.patient_pseudonym}: "
            f"{categories_text(view.categories)}")
    if view.stage != "therapist":
        line += f" (not acknowledged; escalated to the {STAGE_NAMES[view.stage]})"
    elif view.revision > 1:
        line += " (update)"
    return line


def escalation_note(view: AlertView) -> str:
    """Why this alert reached someone beyond the therapist, if it did."""
    if view.stage == "therapist":
        return ""
    waited = f" within {view.ack_timeout_minutes} minutes" if view.ack_timeout_minutes else ""
    return (f"No one acknowledged this alert{waited}; it has been escalated to the "
            f"{STAGE_NAMES[view.stage]}.")
