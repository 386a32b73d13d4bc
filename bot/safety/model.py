"""Result types of the safety screen: levels, categories, findings, assessments."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Tuple

LEVELS = ("none", "review", "urgent", "emergency")
CATEGORIES = (
    "suicidal_ideation",
    "suicidal_behavior",
    "self_harm",
    "harm_to_others",
    "abuse",
    "medical",
    "substance_misuse",
    "screen_error",
)
CRISIS_LEVELS = ("urgent", "emergency")

_RANK = {level: rank for rank, level in enumerate(LEVELS)}


def level_rank(level: str) -> int:
    """Position of a level in LEVELS (none=0 ... emergency=3)."""
    return _RANK[level]


def worst_level(levels: Iterable[str]) -> str:
    """The most severe of the given levels ("none" for no levels)."""
    return max(levels, key=level_rank, default="none")


def cap_level(level: str, cap: str) -> str:
    """`level`, lowered to `cap` if it is above it."""
    return level if _RANK[level] <= _RANK[cap] else cap


@dataclass(frozen=True)
class Finding:
    """One flagged span: which rule matched, where, and the context around it."""

    rule: str
    category: str
    level: str
    start: int
    end: int
    text: str
    modifiers: Tuple[str, ...]
    # Why a finding without a phrase rule was made (the learned reader's score and n-grams).
    explanation: str = ""

    def to_dict(self) -> dict:
        """JSON-ready form of the finding."""
        result = {
            "rule": self.rule,
            "category": self.category,
            "level": self.level,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "modifiers": list(self.modifiers),
        }
        if self.explanation:
            result["explanation"] = self.explanation
        return result


@dataclass(frozen=True)
class Assessment:
    """The screen's verdict on one text: its worst level, categories and findings."""

    level: str
    categories: Tuple[str, ...]
    findings: Tuple[Finding, ...]

    @property
    def is_crisis(self) -> bool:
        """True when the level starts the crisis protocol (urgent or emergency)."""
        return self.level in CRISIS_LEVELS

    def to_dict(self) -> dict:
        """JSON-ready form of the assessment."""
        return {
            "level": self.level,
            "categories": list(self.categories),
            "findings": [finding.to_dict() for finding in self.findings],
        }


def assessment_from_findings(findings: Iterable[Finding]) -> Assessment:
    """Combine findings into an Assessment; the worst finding sets the level.

    `categories` names what a reader should act on: at urgent or emergency, every
    category found at urgent or above; at review, every category found at review.
    Findings at level none (negated ones) are kept for transparency but add no
    category.
    """
    ordered = tuple(sorted(findings, key=lambda f: (f.start, f.end, f.rule)))
    level = worst_level(f.level for f in ordered)
    if level == "none":
        return Assessment(level="none", categories=(), findings=ordered)
    floor = min(_RANK[level], _RANK["urgent"])
    found = {f.category for f in ordered if _RANK[f.level] >= floor}
    categories = tuple(c for c in CATEGORIES if c in found)
    return Assessment(level=level, categories=categories, findings=ordered)


NO_FINDINGS = Assessment(level="none", categories=(), findings=())

SCREEN_ERROR = Assessment(
    level="urgent",
    categories=("screen_error",),
    findings=(
        Finding(
            rule="screen_error",
            category="screen_error",
            level="urgent",
            start=0,
            end=0,
            text="",
            modifiers=(),
        ),
    ),
)
