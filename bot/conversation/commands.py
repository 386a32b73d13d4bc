"""Telling a short command ("stop", "done", "later") from a patient's own words.

While a patient writes, a line such as "it was enough" or "later it got
easier" can look to the intent classifier like a command. Ending a journal
entry by mistake costs far more than keeping a stray "stop it please" in it,
so a typed message counts as a command only when it is one of the phrasings
the assistant was trained on for that intent (data/nlu/*.yml), or a one- or
two-word message classified with high confidence ("stopp", "dne").
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import yaml

from bot.config.settings import REPO_ROOT

NLU_DIR = REPO_ROOT / "data" / "nlu"
SHORT_WORDS = 2
SHORT_CONFIDENCE = 0.7
_NOT_WORD = re.compile(r"[^a-z0-9 ]+")


def normalise(text: str) -> str:
    """Lower case, no punctuation or apostrophes, single spaces ("That's all!" -> "thats all")."""
    lowered = (text or "").lower().replace("’", "'")
    return " ".join(_NOT_WORD.sub(" ", lowered.replace("'", "")).split())


def load_phrases(directory: Path = NLU_DIR) -> dict[str, frozenset[str]]:
    """Every training example, normalised, by intent."""
    phrases: dict[str, set[str]] = {}
    for path in sorted(directory.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in data.get("nlu") or []:
            if "intent" not in block:
                continue
            examples = [
                line.strip()[2:] for line in str(block.get("examples", "")).splitlines()
                if line.strip().startswith("- ")
            ]
            phrases.setdefault(block["intent"], set()).update(normalise(e) for e in examples)
    return {intent: frozenset(found) for intent, found in phrases.items()}


@lru_cache(maxsize=1)
def command_phrases() -> dict[str, frozenset[str]]:
    """The trained phrasings, loaded once per process."""
    return load_phrases()


def is_command_text(text: str, intent: str, confidence: float) -> bool:
    """True if `text`, classified as `intent`, reads as that command rather than as prose."""
    if (text or "").strip().startswith("/"):
        return True  # a button
    words = normalise(text)
    if words in command_phrases().get(intent, frozenset()):
        return True
    return 0 < len(words.split()) <= SHORT_WORDS and confidence >= SHORT_CONFIDENCE
