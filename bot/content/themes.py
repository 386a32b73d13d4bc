"""Reflection themes for journal entries, loaded from reflection_themes.yml."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from bot.content.schema import ContentError, check_record, check_unique_ids, load_yaml

THEMES_FILE = Path(__file__).with_name("reflection_themes.yml")
_WORD = re.compile(r"^[a-z']+$")


@dataclass(frozen=True)
class Theme:
    """A theme named back to the patient when their entry uses one of its words."""

    id: str
    label: str
    words: frozenset[str]


def load_themes(path: Path = THEMES_FILE) -> tuple[Theme, ...]:
    """Load and check the theme list."""
    data = check_record(load_yaml(path), str(path), ("version", "themes"))
    if not isinstance(data["themes"], list) or not data["themes"]:
        raise ContentError(f"{path}: 'themes' must be a non-empty list")
    themes = []
    for index, raw in enumerate(data["themes"]):
        where = f"{path}: themes[{index}]"
        check_record(raw, where, ("id", "label", "words"))
        words = raw["words"]
        if not isinstance(words, list) or not words:
            raise ContentError(f"{where}: 'words' must be a non-empty list")
        bad = [w for w in words if not isinstance(w, str) or not _WORD.match(w)]
        if bad:
            raise ContentError(f"{where}: words must be single lower-case words, not {bad!r}")
        themes.append(Theme(id=raw["id"], label=raw["label"], words=frozenset(words)))
    check_unique_ids((t.id for t in themes), str(path))
    return tuple(themes)


@lru_cache(maxsize=1)
def theme_library() -> tuple[Theme, ...]:
    """The packaged themes, loaded once per process."""
    return load_themes()
