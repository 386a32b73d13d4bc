"""A small, strict schema check shared by every content file."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

import yaml


class ContentError(ValueError):
    """A content file is malformed; the message names the file and the problem."""


def load_yaml(path: Path) -> Any:
    """Read a YAML content file, turning syntax errors into ContentError."""
    try:
        with path.open(encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except FileNotFoundError:
        raise ContentError(f"{path}: file not found") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ContentError(f"{path}: not valid YAML ({exc})") from None


def check_record(
    record: Any,
    where: str,
    required: Iterable[str],
    optional: Iterable[str] = (),
) -> dict:
    """Check that `record` is a mapping with exactly the allowed keys."""
    if not isinstance(record, dict):
        raise ContentError(f"{where}: expected a mapping, got {type(record).__name__}")
    required, allowed = set(required), set(required) | set(optional)
    missing = sorted(required - record.keys())
    unknown = sorted(record.keys() - allowed)
    if missing:
        raise ContentError(f"{where}: missing key(s) {', '.join(missing)}")
    if unknown:
        raise ContentError(f"{where}: unknown key(s) {', '.join(map(str, unknown))}")
    return record


def check_unique_ids(ids: Iterable[str], where: str) -> None:
    """Raise ContentError if an id appears twice."""
    seen: set[str] = set()
    for item in ids:
        if item in seen:
            raise ContentError(f"{where}: duplicate id {item!r}")
        seen.add(item)
