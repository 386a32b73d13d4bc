"""Reading a reply together with the closed question it answers.

The assistant asks closed questions with buttons: the preparation checklist
("Someone will take me home afterwards ..." Ready / Not yet) and the items of
the validated questionnaires. Patients often type the answer instead, and a
short typed answer can read like a covert goodbye on its own: "ive arranged
it", "its all taken care of". The phrase rules read such answers as answers
(they need more words than that to fire), but the learned reader has never
seen the question and scores them as preparations for death.

So a reply to a closed question that is made only of an answer's words
("ive arranged it", "its all taken care of", "not yet", "nearly every day":
the lexicon's PLAIN_ANSWER), and whose only finding at `urgent` or above comes
from the learned reader, is lowered to `review`: the therapist still sees it,
nobody is paged. A phrase rule's finding is never lowered, and a reply with
any other word ("ready. ive taken all my pills", "wont need a ride where im
going") is read as it stands.
"""
from __future__ import annotations

import re
from dataclasses import replace
from functools import lru_cache
from typing import Callable, FrozenSet, Optional, Tuple

from bot.safety.fragments import screen_with_previous
from bot.safety.model import Assessment, assessment_from_findings, cap_level, level_rank
from bot.safety.rules import load_lexicon

# The message metadata key under which a channel passes the closed question the
# assistant asked just before this message.
ANSWERING_KEY = "answering"
# Replies longer than this are read as they stand, question or not.
MAX_ANSWER_WORDS = 8
AS_ANSWER = "answer to the assistant's question"
_URGENT = level_rank("urgent")
_WORD = re.compile(r"[a-z0-9']+")


@lru_cache(maxsize=1)
def _plain_answer() -> Tuple[FrozenSet[Tuple[str, ...]], int]:
    phrases = frozenset(tuple(_WORD.findall(p.lower())) for p in load_lexicon()["PLAIN_ANSWER"])
    return phrases, max(len(p) for p in phrases)


def is_plain_answer(text: str) -> bool:
    """True if `text` is made only of an answer's words (punctuation and emoji aside), and has a word."""
    words = _WORD.findall(text.lower().replace("\u2019", "'"))
    if not words or len(words) > MAX_ANSWER_WORDS:
        return False
    phrases, longest = _plain_answer()
    i = 0
    while i < len(words):
        for n in range(min(longest, len(words) - i), 0, -1):
            if tuple(words[i : i + n]) in phrases:
                i += n
                break
        else:
            return False
    return True


def read_as_answer(assessment: Assessment, question: Optional[str], text: str) -> Assessment:
    """`assessment`, with learned findings capped at `review` if `text` is a plain answer to `question`."""
    if not question:
        return assessment
    paging = [f for f in assessment.findings if level_rank(f.level) >= _URGENT]
    if not paging or any(not f.rule.startswith("learned.") for f in paging) or not is_plain_answer(text):
        return assessment
    findings = tuple(
        replace(f, level=cap_level(f.level, "review"), modifiers=f.modifiers + (AS_ANSWER,))
        if f.rule.startswith("learned.") and level_rank(f.level) >= _URGENT
        else f
        for f in assessment.findings
    )
    return assessment_from_findings(findings)


def screen_reply(
    screen: Callable[[str], Assessment], text: str, previous: Optional[str] = None, question: Optional[str] = None
) -> Assessment:
    """Screen a patient's message: read after their previous one, and as an answer to a closed question."""
    return read_as_answer(screen_with_previous(screen, previous, text), question, text)
