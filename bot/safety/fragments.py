"""Screening a message together with the sender's message just before it.

A patient who is dissociated after a dose may type one sentence in pieces:
"i want to", then "die". Each message is screened on its own; a finding that
only appears when a message is read straight after the previous one (sent
within FRAGMENT_SECONDS, and not ended with sentence punctuation) is added to
the later message's assessment, marked "with previous message". Findings wholly
inside the previous message are not repeated, so a crisis message does not
make the next reply ("yes") a crisis again.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from typing import Callable, Optional, Tuple

from bot.safety.model import Assessment, Finding, assessment_from_findings

logger = logging.getLogger(__name__)

# A piece typed more than this long after the last one is read on its own.
FRAGMENT_SECONDS = 120.0
# The part of a previous message that is joined: enough for the sentence it ends.
PREVIOUS_CHARS = 300
CONTINUED = "with previous message"
# The message metadata key under which a channel passes the previous message on.
PREVIOUS_TEXT_KEY = "previous_text"
_CLOSED = tuple(".!?")


def screen_with_previous(
    screen: Callable[[str], Assessment], previous: Optional[str], text: str
) -> Assessment:
    """`text`'s assessment, plus findings that span the join with `previous`.

    `previous` is the sender's message before this one, or None. Offsets in the
    added findings are offsets in `text`; their span starts at 0.
    """
    alone = screen(text)
    try:
        return _with_join(screen, alone, previous, text)
    except Exception:
        # The message's own assessment stands; reading across the join is an extra.
        logger.exception("screening across the previous message failed; the message alone is used")
        return alone


def _with_join(screen: Callable[[str], Assessment], alone: Assessment, previous: Optional[str], text: str) -> Assessment:
    previous = (previous or "").rstrip()[-PREVIOUS_CHARS:]
    current = text.lstrip()
    if not previous or not current or previous.endswith(_CLOSED) or previous.startswith("/"):
        return alone
    joined = f"{previous} {current}"
    boundary = len(previous) + 1
    lead = len(text) - len(current)
    added = []
    for finding in screen(joined).findings:
        # Only what spans the join is new; a denial read across it adds nothing to act on.
        if not (finding.start < boundary < finding.end) or finding.level == "none" or finding.category == "screen_error":
            continue
        end = finding.end - boundary + lead
        added.append(
            Finding(
                rule=finding.rule,
                category=finding.category,
                level=finding.level,
                start=lead,
                end=end,
                text=text[lead:end],
                modifiers=finding.modifiers + (CONTINUED,),
            )
        )
    if not added:
        return alone
    return assessment_from_findings(alone.findings + tuple(added))


class RecentMessages:
    """The last message of each sender, kept for `ttl` seconds, in memory only.

    Bounded: the least recently heard senders are forgotten first. Thread-safe.
    """

    def __init__(
        self, max_senders: int = 10_000, clock: Callable[[], float] = time.monotonic, ttl: float = FRAGMENT_SECONDS
    ) -> None:
        self._max = max_senders
        self._clock = clock
        self._ttl = ttl
        self._items: "OrderedDict[str, Tuple[float, str]]" = OrderedDict()
        self._lock = threading.Lock()

    def swap(self, sender: str, text: str) -> Optional[str]:
        """Remember `text` as the sender's last message; return the one before it, if recent."""
        now = self._clock()
        with self._lock:
            previous = self._items.pop(sender, None)
            self._store(sender, now, text)
        return previous[1] if previous is not None and now - previous[0] <= self._ttl else None

    def get(self, sender: str) -> Optional[str]:
        """The sender's remembered text, if it is recent."""
        with self._lock:
            item = self._items.get(sender)
        if item is None or self._clock() - item[0] > self._ttl:
            return None
        return item[1]

    def take(self, sender: str) -> Optional[str]:
        """The sender's remembered text, if it is recent, forgotten as it is read (single use)."""
        now = self._clock()
        with self._lock:
            item = self._items.pop(sender, None)
        return item[1] if item is not None and now - item[0] <= self._ttl else None

    def put(self, sender: str, text: Optional[str]) -> None:
        """Remember `text` for the sender (None forgets what was there)."""
        now = self._clock()
        with self._lock:
            self._items.pop(sender, None)
            if text is not None:
                self._store(sender, now, text)

    def _store(self, sender: str, now: float, text: str) -> None:
        self._items[sender] = (now, text)
        while len(self._items) > self._max:
            self._items.popitem(last=False)
