"""Answers to what patients ask, loaded from patient_questions.yml, and which one a message asks for.

Matching is deliberately simple and predictable: a topic matches when every
word of one of its phrases is in the message. Words of four letters or more
also match their longer forms ("prepar" in "preparing") and, from five letters,
near misspellings ("infusoin"), since patients type quickly and sometimes
while still dissociated. The topic with the longest matching phrase wins.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache
from pathlib import Path
from typing import Optional

from bot.content.schema import ContentError, check_record, check_unique_ids, load_yaml

QUESTIONS_FILE = Path(__file__).with_name("patient_questions.yml")
_ID = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
_WORD = re.compile(r"[a-z0-9]+")
MIN_PREFIX = 4
MIN_FUZZY = 5
FUZZY_RATIO = 0.8


@dataclass(frozen=True)
class Topic:
    """One question patients ask, and the clinic's answer."""

    id: str
    title: str
    phrases: tuple[tuple[str, ...], ...]
    answer: str


def load_topics(path: Path = QUESTIONS_FILE) -> tuple[Topic, ...]:
    """Load and check the topics."""
    data = check_record(load_yaml(path), str(path), ("version", "topics"), ("reviewed",))
    if not isinstance(data["topics"], list) or not data["topics"]:
        raise ContentError(f"{path}: 'topics' must be a non-empty list")
    topics = []
    for index, raw in enumerate(data["topics"]):
        where = f"{path}: topics[{index}]"
        check_record(raw, where, ("id", "title", "match", "answer"))
        if not isinstance(raw["id"], str) or not _ID.match(raw["id"]):
            raise ContentError(f"{where}: id must be lower-case letters, digits or '_'")
        if not isinstance(raw["match"], list) or not raw["match"]:
            raise ContentError(f"{where}: 'match' must be a non-empty list of phrases")
        phrases = tuple(tuple(words(str(phrase))) for phrase in raw["match"])
        if not all(phrases):
            raise ContentError(f"{where}: a 'match' phrase has no words")
        for field in ("title", "answer"):
            if not isinstance(raw[field], str) or not raw[field].strip():
                raise ContentError(f"{where}: '{field}' must be non-empty text")
        topics.append(Topic(raw["id"], raw["title"].strip(), phrases, " ".join(raw["answer"].split())))
    check_unique_ids((topic.id for topic in topics), str(path))
    return tuple(topics)


@lru_cache(maxsize=1)
def topics() -> tuple[Topic, ...]:
    """The packaged topics, loaded once per process."""
    return load_topics()


def topic_by_id(topic_id: str) -> Optional[Topic]:
    """The topic with this id, or None."""
    return next((topic for topic in topics() if topic.id == topic_id), None)


# Short forms patients type, read as the word they stand for.
SHORT_FORMS = {"wat": "what", "wht": "what", "wut": "what", "u": "you", "ur": "your", "r": "are",
               "tmrw": "tomorrow", "tmr": "tomorrow", "pls": "please"}


def words(text: str) -> list[str]:
    """Lower-case words, apostrophes dropped ("can't" is "cant"), short forms spelt out ("wat" is "what")."""
    found = _WORD.findall(text.lower().replace("'", "").replace("\u2019", ""))
    return [SHORT_FORMS.get(word, word) for word in found]


def match_topic(text: str, library: Optional[tuple[Topic, ...]] = None) -> Optional[Topic]:
    """The topic `text` asks about, or None."""
    said = words(text)
    if not said:
        return None
    best, best_length = None, 0
    for topic in library if library is not None else topics():
        for phrase in topic.phrases:
            if len(phrase) > best_length and all(_said(word, said) for word in phrase):
                best, best_length = topic, len(phrase)
    return best


def _said(word: str, said: list[str]) -> bool:
    for token in said:
        if token == word:
            return True
        if len(word) >= MIN_PREFIX and token.startswith(word):
            return True
        if len(word) >= MIN_FUZZY and len(token) >= MIN_FUZZY - 1 and \
                SequenceMatcher(None, word, token).ratio() >= FUZZY_RATIO:
            return True
    return False
