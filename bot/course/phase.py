"""Where a patient is in the integration cycle, from their infusion dates."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Optional
from zoneinfo import ZoneInfo

SAME_DAY, DAYS_AFTER, BEFORE_SESSION, ONGOING = (
    "same_day",
    "days_after",
    "before_session",
    "ongoing",
)
BEFORE_SESSION_WINDOW = timedelta(hours=48)


def integration_phase(
    now: datetime,
    last_infusion: Optional[datetime],
    next_session: Optional[datetime],
    timezone: str = "UTC",
) -> str:
    """The journaling phase: same day, 1-3 days after, before the next session, or ongoing.

    Days are counted in the patient's own time zone, so an infusion at 4 pm
    and a message at 11 pm are the same day.
    """
    zone = ZoneInfo(timezone)
    if last_infusion is not None and last_infusion <= now:
        days = (now.astimezone(zone).date() - last_infusion.astimezone(zone).date()).days
        if days == 0:
            return SAME_DAY
        if 1 <= days <= 3:
            return DAYS_AFTER
    if next_session is not None and now <= next_session <= now + BEFORE_SESSION_WINDOW:
        return BEFORE_SESSION
    return ONGOING


def is_day_after(now: datetime, last_infusion: Optional[datetime], timezone: str = "UTC") -> bool:
    """True on the calendar day after the last infusion, in the patient's zone: when red flags show."""
    if last_infusion is None or last_infusion > now:
        return False
    zone = ZoneInfo(timezone)
    return (now.astimezone(zone).date() - last_infusion.astimezone(zone).date()).days == 1

# How far ahead of a scheduled infusion the greeting offers preparation.
PREPARATION_WINDOW = timedelta(hours=72)


def in_preparation_window(now: datetime, next_infusion: Optional[datetime]) -> bool:
    """True when an infusion is scheduled within the next 72 hours."""
    return next_infusion is not None and now < next_infusion <= now + PREPARATION_WINDOW


def describe_when(at: datetime, now: datetime, timezone: str = "UTC") -> str:
    """'today at 10:00', 'tomorrow at 09:30' or 'on Friday at 14:00', in the patient's zone."""
    zone = ZoneInfo(timezone)
    local, today = at.astimezone(zone), now.astimezone(zone).date()
    days = (local.date() - today).days
    day = "today" if days == 0 else "tomorrow" if days == 1 else f"on {local.strftime('%A')}"
    if days > 6:
        day = f"on {local.strftime('%A')} {local.day} {local.strftime('%B')}"
    return f"{day} at {local.strftime('%H:%M')}"
