"""Crisis lines and emergency numbers per clinic locale, loaded from data."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from bot.content.schema import ContentError, check_record, check_unique_ids, load_yaml

RESOURCES_FILE = Path(__file__).with_name("crisis_resources.yml")


@dataclass(frozen=True)
class CrisisLine:
    """One helpline."""

    id: str
    name: str
    contact: str


@dataclass(frozen=True)
class ResourceSet:
    """What a patient of a clinic in one country is told in a crisis."""

    id: str
    country: str
    emergency: str
    lines: tuple[CrisisLine, ...]


def load_resource_sets(path: Path = RESOURCES_FILE) -> dict[str, ResourceSet]:
    """Load and check every resource set, keyed by id."""
    data = check_record(load_yaml(path), str(path), ("version", "sets"), ("reviewed",))
    if not isinstance(data["sets"], list) or not data["sets"]:
        raise ContentError(f"{path}: 'sets' must be a non-empty list")
    sets: dict[str, ResourceSet] = {}
    for index, raw in enumerate(data["sets"]):
        where = f"{path}: sets[{index}]"
        check_record(raw, where, ("id", "country", "emergency", "lines"))
        if not isinstance(raw["lines"], list) or not raw["lines"]:
            raise ContentError(f"{where}: 'lines' must be a non-empty list")
        lines = tuple(
            CrisisLine(**check_record(line, f"{where}.lines[{n}]", ("id", "name", "contact")))
            for n, line in enumerate(raw["lines"])
        )
        check_unique_ids((line.id for line in lines), where)
        if raw["id"] in sets:
            raise ContentError(f"{where}: duplicate id {raw['id']!r}")
        sets[raw["id"]] = ResourceSet(
            id=raw["id"], country=raw["country"], emergency=str(raw["emergency"]), lines=lines
        )
    return sets


@lru_cache(maxsize=1)
def resource_sets() -> dict[str, ResourceSet]:
    """The packaged resource sets, loaded once per process."""
    return load_resource_sets()


def resources_for(set_id: str) -> ResourceSet:
    """The resource set a clinic uses; an unknown id is a configuration error."""
    try:
        return resource_sets()[set_id]
    except KeyError:
        raise ContentError(f"unknown crisis resource set {set_id!r}") from None
