"""Reading a reply together with the closed question it answers.

The assistant asks closed questions with buttons: the preparation checklist
("Someone will take me home afterwards ..." Ready / Not yet) and the items of
the validated questionnaires. Patients often type the answer instead, and a
short typed answer can read like a covert goodbye on its own: "ive arranged
it", "its all taken care of". The phrase rules read such answers as answers
(they need more words than that to fire), but the learned reader has never
seen the question and scores them as preparations for death.

So a reply to the checklist's readiness question that is only its answer
(an answer word from the lexicon's ANSWER_WORD, with nothing beside it but
PLAIN_ANSWER's small words and punctuation: "ive arranged it", "its all
taken care of", "not yet"), and whose only finding is the learned reader's,
is lowered to `review`: the therapist still sees it, nobody is paged. Any
phrase rule's finding, a finding read across a previous message that was
not an answer too, a previous message (not an answer) that speaks of risk on
its own, or any other word, emoji or script in the reply, and it is read as
it stands
("ready. ive taken all my pills", "wont need a ride where im going").
Rating questions are never closed (bot/conversation/routing.py): item 9 of
the PHQ-9 or a distress rating is asked to find risk.
"""
from __future__ import annotations

import re
from dataclasses import replace
from functools import lru_cache
from typing import Callable, FrozenSet, Optional, Tuple

from bot.safety.fragments import CONTINUED, screen_with_previous
from bot.safety.model import Assessment, assessment_from_findings, cap_level, level_rank
from bot.safety.rules import load_lexicon

# The message metadata key under which a channel passes the closed question the
# assistant asked just before this message.
ANSWERING_KEY = "answering"
# Replies longer than this are read as they stand, question or not.
MAX_ANSWER_WORDS = 8
AS_ANSWER = "answer to the assistant's question"
_URGENT = level_rank("urgent")
_REVIEW = level_rank("review")
_WORD = re.compile(r"[a-z0-9']+")
# What may be left of a plain answer once its words are gone: spaces, ASCII punctuation, a thumbs-up, a tick.
_LEFTOVER = re.compile(r"[\s!-/:-@\[-`{-~\u2019\U0001F44D\u2705]+")


@lru_cache(maxsize=1)
def _vocabulary() -> Tuple[FrozenSet[Tuple[str, ...]], FrozenSet[Tuple[str, ...]], int]:
    lexicon = load_lexicon()
    answers = frozenset(tuple(_WORD.findall(p.lower())) for p in lexicon["ANSWER_WORD"])
    beside = frozenset(tuple(_WORD.findall(p.lower())) for p in lexicon["PLAIN_ANSWER"])
    return answers, beside, max(len(p) for p in answers | beside)


def is_plain_answer(text: str) -> bool:
    """True if `text` is only an answer: an answer word, small words beside it, and punctuation."""
    lowered = text.lower().replace("\u2019", "'")
    if _LEFTOVER.sub("", _WORD.sub("", lowered)):
        return False  # an emoji, a symbol or another script says something the words do not
    words = _WORD.findall(lowered)
    if not words or len(words) > MAX_ANSWER_WORDS:
        return False
    answers, beside, longest = _vocabulary()
    i, answered = 0, False
    while i < len(words):
        for n in range(min(longest, len(words) - i), 0, -1):
            phrase = tuple(words[i : i + n])
            if phrase in answers or phrase in beside:
                answered = answered or phrase in answers
                i += n
                break
        else:
            return False
    return answered


def read_as_answer(
    assessment: Assessment, question: Optional[str], text: str, previous: Optional[str] = None
) -> Assessment:
    """`assessment`, with learned findings capped at `review` if `text` only answers the closed `question`.

    A finding read across the previous message keeps its level unless that
    message was only an answer too ("ready" then "ive arranged it").
    """
    if not question:
        return assessment
    found = [f for f in assessment.findings if f.level != "none"]
    if not any(level_rank(f.level) >= _URGENT for f in found):
        return assessment
    if any(not f.rule.startswith("learned.") for f in found):
        return assessment
    if any(CONTINUED in f.modifiers for f in found) and not (previous and is_plain_answer(previous)):
        return assessment
    if not is_plain_answer(text):
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
    """Screen a patient's message: read after their previous one, and as an answer to a closed question.

    A reply is not read as a mere answer when the message before it, not an
    answer itself, speaks of risk on its own ("i cant do this anymore", then
    "ive arranged it"): the two may belong together even where no finding
    spans the join.
    """
    assessment = screen_with_previous(screen, previous, text)
    answered = read_as_answer(assessment, question, text, previous)
    if answered is assessment or not previous or is_plain_answer(previous):
        return answered
    # A screen never raises: on a failure it says urgent (screen_error), and the reply keeps its level.
    return assessment if level_rank(screen(previous).level) >= _REVIEW else answered
