"""What the screen's components share: the span group of targets and pattern helpers."""
# No "from __future__ import annotations" here: spaCy reads the factory signatures at runtime.
from typing import List

from spacy.tokens import Doc

TARGETS_GROUP = "safety_targets"


def set_doc_extension(name: str) -> None:
    Doc.set_extension(name, default=None, force=True)


def split_leading_choice(pattern: List[dict]) -> List[List[dict]]:
    """Rewrite a pattern whose first token is a choice ({"IN": [...]}) as one pattern per value.

    spaCy checks plain equality on a token in C but runs an IN-list through a
    Python predicate, and a Matcher tries the first token of every pattern at
    every position. Splitting the first choice keeps that hot path in C.
    """
    if not pattern:
        return [pattern]
    first, rest = pattern[0], pattern[1:]
    attrs = [k for k in first if k != "OP"]
    op = first.get("OP")
    if len(attrs) != 1 or attrs[0] not in ("LEMMA", "NORM", "LOWER", "ORTH") or op not in (None, "?"):
        return [pattern]
    value = first[attrs[0]]
    values = value["IN"] if isinstance(value, dict) and set(value) == {"IN"} else None
    if values is None and op is None:
        return [pattern]
    choices = values if values is not None else [value]
    result = [[{attrs[0]: v}] + rest for v in choices]
    if op == "?" and rest:
        result += split_leading_choice(rest)
    return result

