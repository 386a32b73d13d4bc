"""Preparation content: the default readiness checklist and the intention questions.

Loaded from preparation.yml with a schema check. A clinic's own checklist,
edited by its admin, is checked by `check_checklist` exactly like the file.
Typed answers to a checklist item are understood as well as its buttons:
"yep sorted" is confirmed, "not yet" or "no idea" is not yet.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional

from bot.content.schema import ContentError, check_record, check_unique_ids, load_yaml

PREPARATION_FILE = Path(__file__).with_name("preparation.yml")
CONFIRMED, NOT_YET = "confirmed", "not_yet"
MAX_ITEMS, MAX_ITEM_CHARS = 20, 400
_ID = re.compile(r"^[a-z0-9][a-z0-9_]{0,63}$")
# "not ready" holds "ready": a not-yet phrase is looked for first.
_NOT_YET = re.compile(
    r"\b(not yet|not sure|unsure|no idea|dunno|don'?t know|idk|not really|nope|nah|no|not|haven'?t|havent|"
    r"didn'?t|later|tomorrow|working on it|will do|need to|still need|gotta)\b")
_CONFIRMED = re.compile(
    r"\b(yes|yep|yeah|yup|ya|yea|ok|okay|k|done|sorted|ready|set|confirmed?|sure|of course|got it|all good|"
    r"check|checked|covered|arranged|booked|fine|i have|i do|i will|i know|definitely|absolutely)\b|👍|✅")


@dataclass(frozen=True)
class ChecklistItem:
    """One thing to have ready before an infusion."""

    id: str
    text: str


@dataclass(frozen=True)
class IntentionQuestions:
    """The reflective questions, then the one-sentence intention question."""

    reflections: tuple[ChecklistItem, ...]
    question: str


def check_checklist(raw: Any, where: str) -> tuple[ChecklistItem, ...]:
    """Check a checklist ([{id, text}, ...]) from the file or from a clinic's edit."""
    if not isinstance(raw, list) or not raw:
        raise ContentError(f"{where}: expected a non-empty list of items")
    if len(raw) > MAX_ITEMS:
        raise ContentError(f"{where}: at most {MAX_ITEMS} items")
    items = []
    for number, record in enumerate(raw, start=1):
        check_record(record, f"{where} item {number}", ("id", "text"))
        item_id, text = record["id"], record["text"]
        if not isinstance(item_id, str) or not _ID.match(item_id):
            raise ContentError(f"{where} item {number}: id must be lower-case letters, digits and _")
        if not isinstance(text, str) or not text.strip():
            raise ContentError(f"{where} item {number}: text is empty")
        if len(text) > MAX_ITEM_CHARS:
            raise ContentError(f"{where} item {number}: text is longer than {MAX_ITEM_CHARS} characters")
        items.append(ChecklistItem(item_id, " ".join(text.split())))
    check_unique_ids((item.id for item in items), where)
    return tuple(items)


def load_preparation(path: Path = PREPARATION_FILE) -> tuple[tuple[ChecklistItem, ...], IntentionQuestions]:
    """The default checklist and the intention questions, schema-checked."""
    raw = check_record(load_yaml(path), str(path), ("version", "checklist", "intention"))
    if raw["version"] != 1:
        raise ContentError(f"{path}: unsupported version {raw['version']!r}")
    checklist = check_checklist(raw["checklist"], f"{path} checklist")
    intention = check_record(raw["intention"], f"{path} intention", ("reflections", "question"))
    reflections = check_checklist(intention["reflections"], f"{path} intention reflections")
    question = intention["question"]
    if not isinstance(question, str) or not question.strip():
        raise ContentError(f"{path} intention: question is empty")
    return checklist, IntentionQuestions(reflections, question.strip())


@lru_cache(maxsize=1)
def _loaded() -> tuple[tuple[ChecklistItem, ...], IntentionQuestions]:
    return load_preparation()


def default_checklist() -> tuple[ChecklistItem, ...]:
    """The checklist a clinic has until its admin edits it."""
    return _loaded()[0]


def intention_questions() -> IntentionQuestions:
    """The guided questions that lead to an intention."""
    return _loaded()[1]


def checklist_from_stored(stored: Any) -> tuple[ChecklistItem, ...]:
    """A clinic's stored checklist, or the default when it has none."""
    if stored is None:
        return default_checklist()
    return check_checklist(stored, "the clinic's preparation checklist")


def parse_readiness(text: str) -> Optional[str]:
    """`confirmed`, `not_yet`, or None when a typed answer says neither."""
    lowered = " ".join(text.lower().replace("’", "'").split())
    if not lowered:
        return None
    if lowered in (CONFIRMED, NOT_YET):
        return lowered
    if _NOT_YET.search(lowered):
        return NOT_YET
    if _CONFIRMED.search(lowered):
        return CONFIRMED
    return None


def new_item_id(text: str, taken: set[str]) -> str:
    """A stable id for an item a clinic adds: from its first words, unique in the list."""
    base = "_".join(re.findall(r"[a-z0-9]+", text.lower())[:4])[:48] or "item"
    if not base[0].isalnum():
        base = "item_" + base
    candidate, number = base, 2
    while candidate in taken:
        candidate, number = f"{base}_{number}", number + 1
    return candidate
