"""Grounding exercises, one data file each in exercises/*.yml."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Optional

from bot.content.schema import ContentError, check_record, check_unique_ids, load_yaml

EXERCISES_DIR = Path(__file__).with_name("exercises")
_ID = re.compile(r"^[a-z0-9_]{1,40}$")


@dataclass(frozen=True)
class Exercise:
    """A grounding exercise: an intro, paced steps, and a closing line."""

    id: str
    title: str
    intro: str
    steps: tuple[str, ...]
    closing: str
    aliases: tuple[str, ...] = ()


def load_exercise(path: Path) -> Exercise:
    """Load and check one exercise file."""
    data = check_record(
        load_yaml(path),
        str(path),
        ("version", "id", "title", "intro", "steps", "closing"),
        ("aliases",),
    )
    if not isinstance(data["id"], str) or not _ID.match(data["id"]):
        # Ids travel in button payloads, which accept only [a-z0-9_].
        raise ContentError(f"{path}: id must be 1-40 characters of a-z, 0-9 and _")
    steps = data["steps"]
    if not isinstance(steps, list) or not steps:
        raise ContentError(f"{path}: 'steps' must be a non-empty list")
    for index, step in enumerate(steps):
        if not isinstance(step, str) or not step.strip():
            raise ContentError(f"{path}: steps[{index}] must be non-empty text")
    aliases = data.get("aliases") or []
    if not isinstance(aliases, list) or not all(isinstance(a, str) and a.strip() for a in aliases):
        raise ContentError(f"{path}: 'aliases' must be a list of non-empty texts")
    for key in ("title", "intro", "closing"):
        if not isinstance(data[key], str) or not data[key].strip():
            raise ContentError(f"{path}: '{key}' must be non-empty text")
    return Exercise(
        id=data["id"],
        title=data["title"],
        intro=data["intro"],
        steps=tuple(steps),
        closing=data["closing"],
        aliases=tuple(a.lower() for a in aliases),
    )


def load_exercises(directory: Path = EXERCISES_DIR) -> tuple[Exercise, ...]:
    """Load every exercise file, sorted by file name; ids must be unique."""
    paths = sorted(directory.glob("*.yml"))
    if not paths:
        raise ContentError(f"{directory}: no exercise files")
    exercises = tuple(load_exercise(path) for path in paths)
    check_unique_ids((e.id for e in exercises), str(directory))
    return exercises


@lru_cache(maxsize=1)
def exercise_library() -> tuple[Exercise, ...]:
    """The packaged exercises, loaded once per process."""
    return load_exercises()


def exercise_by_id(exercise_id: Optional[str]) -> Optional[Exercise]:
    """Look an exercise up by its stable id."""
    return next((e for e in exercise_library() if e.id == exercise_id), None)
