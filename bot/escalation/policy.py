"""Alert policy as pure functions. Every function that needs the time takes `now`.

Nothing here touches the database or the network, so every rule can be tested
with a plain clock and plain data.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Iterable, Mapping, Optional, Sequence

LEVELS = ("none", "review", "urgent", "emergency")
ALERT_LEVELS = frozenset({"urgent", "emergency"})
STAGES = ("therapist", "on_call", "admin")
# Findings in these categories also go to the clinic's medical contact.
MEDICAL_CATEGORIES = frozenset({"medical", "substance_misuse"})


def level_rank(level: str) -> int:
    """Position of `level` from `none` (0) to `emergency` (3)."""
    return LEVELS.index(level)


def needs_alert(level: str) -> bool:
    """Whether an assessment at `level` pages someone (`review` goes to the digest)."""
    return level in ALERT_LEVELS


def worse_level(a: str, b: str) -> str:
    """The more severe of two levels."""
    return a if level_rank(a) >= level_rank(b) else b


# -- episodes ---------------------------------------------------------------------


def joins_episode(
    *, status: str, last_activity_at: datetime, at: datetime, window_minutes: int
) -> bool:
    """Whether a crisis assessment at `at` belongs to an existing alert.

    An episode is an alert that is not resolved and whose latest crisis message
    is at most `window_minutes` away. A window of 0 makes every message its own alert.
    """
    if window_minutes <= 0 or status == "resolved":
        return False
    return abs(at - last_activity_at) <= timedelta(minutes=window_minutes)


@dataclass(frozen=True)
class EpisodeUpdate:
    """What a new assessment changes in the alert it joins."""

    level: str
    categories: tuple[str, ...]
    level_raised: bool
    added_categories: tuple[str, ...]

    @property
    def renotify(self) -> bool:
        """Recipients hear again only about a worse level or a new category."""
        return self.level_raised or bool(self.added_categories)


def merge_into_episode(
    alert_level: str, alert_categories: Sequence[str], level: str, categories: Sequence[str]
) -> EpisodeUpdate:
    """Fold an assessment into its episode's alert: worst level, union of categories."""
    added = tuple(c for c in dict.fromkeys(categories) if c not in alert_categories)
    return EpisodeUpdate(
        level=worse_level(alert_level, level),
        categories=tuple(alert_categories) + added,
        level_raised=level_rank(level) > level_rank(alert_level),
        added_categories=added,
    )


# -- routing ----------------------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    """A person or team an alert is addressed to."""

    role: str  # therapist, on_call, admin or medical
    email: str
    name: str
    clinician_id: Optional[int] = None


@dataclass(frozen=True)
class Roster:
    """Who can be reached for one patient: only active clinicians belong here."""

    therapist: Optional[Recipient]
    on_call: tuple[Recipient, ...] = ()
    admins: tuple[Recipient, ...] = ()
    medical: Optional[Recipient] = None


def recipients(level: str, categories: Iterable[str], stage: str, roster: Roster) -> list[Recipient]:
    """Who an alert goes to, in order of responsibility, without duplicates.

    - the assigned therapist; if there is none (inactive), the on-call clinician;
    - `emergency`, or the `on_call` stage: also the on-call clinician;
    - the `admin` stage: also the clinic admins;
    - `medical` or `substance_misuse` findings: also the clinic's medical contact.
    A stage whose people are missing falls through to the next stage's people.
    """
    on_call = roster.on_call or roster.admins
    chosen: list[Recipient] = []
    if roster.therapist is not None:
        chosen.append(roster.therapist)
    else:
        chosen.extend(on_call)
    stage_index = STAGES.index(stage)
    if level == "emergency" or stage_index >= 1:
        chosen.extend(on_call)
    if stage_index >= 2:
        chosen.extend(roster.admins)
    if roster.medical is not None and MEDICAL_CATEGORIES.intersection(categories):
        chosen.append(roster.medical)
    unique: dict[str, Recipient] = {}
    for person in chosen:
        unique.setdefault(person.email.lower(), person)
    return list(unique.values())


# -- escalation -------------------------------------------------------------------


def next_stage(stage: str) -> Optional[str]:
    """The stage after `stage`, or None after the last one."""
    index = STAGES.index(stage)
    return STAGES[index + 1] if index + 1 < len(STAGES) else None


def escalation_deadline(
    stage: str, level: str, stage_started_at: datetime, timeouts: Mapping[str, int]
) -> Optional[datetime]:
    """When an unacknowledged alert at `stage` moves on; None if it never does."""
    if next_stage(stage) is None or level not in timeouts:
        return None
    return stage_started_at + timedelta(minutes=timeouts[level])


def due_escalation(
    *,
    status: str,
    stage: str,
    level: str,
    stage_started_at: datetime,
    now: datetime,
    timeouts: Mapping[str, int],
) -> Optional[str]:
    """The stage an alert must move to now, or None (acknowledged, not yet due, or last stage)."""
    if status != "open":
        return None
    deadline = escalation_deadline(stage, level, stage_started_at, timeouts)
    if deadline is None or now < deadline:
        return None
    return next_stage(stage)


# -- retries ----------------------------------------------------------------------


def backoff_seconds(
    attempt: int, base_seconds: float, max_seconds: float, rand: Callable[[], float]
) -> float:
    """Delay before retry number `attempt` (1, 2, ...): exponential, capped, with jitter.

    The ceiling doubles from `base_seconds` up to `max_seconds`; the delay is
    between half the ceiling and the ceiling ("equal jitter"), so retries of
    many alerts spread out but never come sooner than half the schedule.
    """
    ceiling = min(max_seconds, base_seconds * 2 ** max(0, attempt - 1))
    return ceiling / 2 + rand() * ceiling / 2


# -- digest -----------------------------------------------------------------------


def digest_due(local_now: datetime, hour: int) -> bool:
    """Whether today's digest may go out: at or after `hour` local time (-1: never)."""
    return 0 <= hour <= local_now.hour
