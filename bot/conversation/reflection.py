"""A short reflection of a journal entry: its length, its themes, its own words.

This mirrors what the patient wrote; it never interprets or diagnoses. The
wording is in domain.yml; this module only chooses the response and fills in
the patient's words.
"""
from __future__ import annotations

import re
from typing import Iterable, Optional

from bot.content.themes import Theme, theme_library
from bot.conversation.utterance import Utterance

BRIEF_WORDS = 15
LONG_WORDS = 120
QUOTE_WORDS = 12
MAX_THEMES = 2
# Entries the screen flagged get a gentle acknowledgement and no quote:
# repeating someone's darkest sentence back to them is not a kindness.
GENTLE_LEVELS = frozenset({"review", "urgent", "emergency"})

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_TOKEN = re.compile(r"[a-z']+")


def _tokens(text: str) -> list[str]:
    """Lower-case words, with a possessive 's dropped ("grandmother's" is "grandmother")."""
    return [t[:-2] if t.endswith("'s") else t for t in _TOKEN.findall(text.lower().replace("’", "'"))]


def word_count(text: str) -> int:
    """Words in the entry, as a person would count them."""
    return len(text.split())


def themes_in(text: str, themes: Iterable[Theme]) -> list[Theme]:
    """Themes the text mentions, most mentioned first (ties in library order)."""
    tokens = _tokens(text)
    counted = [(sum(1 for t in tokens if t in theme.words), i, theme) for i, theme in enumerate(themes)]
    return [theme for hits, _, theme in sorted(counted, key=lambda c: (-c[0], c[1])) if hits]


def quote_from(text: str, themes: Iterable[Theme] = ()) -> str:
    """A short phrase in the patient's own words: the first sentence with a theme word, else the first."""
    sentences = [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]
    if not sentences:
        return ""
    words = set().union(*(t.words for t in themes)) if themes else set()
    chosen = next(
        (s for s in sentences if words & set(_tokens(s))), sentences[0]
    )
    parts = chosen.replace('"', "").split()
    clipped = len(parts) > QUOTE_WORDS
    phrase = " ".join(parts[:QUOTE_WORDS]).rstrip(".,;:!?-–— ")
    return f"{phrase}…" if clipped else phrase


def _join_labels(labels: list[str]) -> str:
    return labels[0] if len(labels) == 1 else f"{', '.join(labels[:-1])} and {labels[-1]}"


def reflect(
    text: str,
    level: str = "none",
    follow_up: str = "",
    themes: Optional[Iterable[Theme]] = None,
) -> Utterance:
    """The reflection to send once an entry is saved.

    Length and quote come from the entry itself; themes also from the answer
    to the follow-up question.
    """
    text = (text or "").strip()
    if level in GENTLE_LEVELS or not text:
        return Utterance("utter_journal_reflect_gentle")
    library = tuple(themes) if themes is not None else theme_library()
    found = themes_in(f"{text}\n{follow_up or ''}", library)[:MAX_THEMES]
    words = word_count(text)
    labels = _join_labels([t.label for t in found]) if found else ""
    if words >= LONG_WORDS:
        if found:
            return Utterance("utter_journal_reflect_long", {"words": words, "themes": labels})
        return Utterance("utter_journal_reflect_long_plain", {"words": words})
    quote = quote_from(text, found)
    if words < BRIEF_WORDS:
        return Utterance("utter_journal_reflect_brief", {"quote": quote})
    if found:
        return Utterance("utter_journal_reflect_themes", {"themes": labels, "quote": quote})
    return Utterance("utter_journal_reflect_quote", {"quote": quote})
