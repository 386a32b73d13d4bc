"""The validated measures (PHQ-9, GAD-7), loaded from questionnaires.yml, and how they are scored.

The wording of every item and answer is the published one, kept in the data
file. Scores are the sum of the item values; the band is the first whose upper
bound the total does not pass. Typed answers are understood as well as the
buttons: "most days" is "More than half the days".
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Mapping, Optional

from bot.content.schema import ContentError, check_record, check_unique_ids, load_yaml

QUESTIONNAIRES_FILE = Path(__file__).with_name("questionnaires.yml")
VALUES = (0, 1, 2, 3)
# Typed answers. A phrase for 1-3 may stand anywhere in the answer ("most days
# tbh"); 0 only when the whole answer says so, because "no" and "never" also
# start answers that mean yes ("I never stop thinking about it", "no day goes
# by without it"), and reading those as 0 would miss PHQ-9 item 9.
_NEGATED_ONE = ("not often", "not very often", "not much", "not a lot", "not every day")
_TYPED = (
    (3, ("nearly every day", "nearly everyday", "almost every day", "every day", "everyday", "all the time",
         "always", "daily", "constantly")),
    (2, ("more than half the days", "more than half", "over half", "most days", "most of the time", "often",
         "a lot", "lots")),
    (1, ("several days", "some days", "a few days", "few days", "sometimes", "a little", "occasionally",
         "now and then", "once or twice")),
)
_ZERO_ANSWERS = frozenset({"0", "no", "nope", "nah", "never", "none", "not at all", "not really", "no not at all",
                           "not at all really", "no never", "none at all", "never at all"})


@dataclass(frozen=True)
class Item:
    """One question of an instrument."""

    id: str
    text: str


@dataclass(frozen=True)
class Band:
    """A severity band: totals up to `max`."""

    max: int
    label: str


@dataclass(frozen=True)
class Instrument:
    """A questionnaire: its items, answer options and severity bands."""

    id: str
    name: str
    title: str
    stem: str
    items: tuple[Item, ...]
    bands: tuple[Band, ...]
    crisis_items: frozenset[str]

    @property
    def max_score(self) -> int:
        """The highest possible total."""
        return 3 * len(self.items)

    def band(self, total: int) -> str:
        """The severity band of a total."""
        if not 0 <= total <= self.max_score:
            raise ValueError(f"{self.name} total {total} is out of range")
        return next(band.label for band in self.bands if total <= band.max)

    def score(self, answers: Mapping[str, int]) -> int:
        """The total of a complete set of answers."""
        missing = [item.id for item in self.items if item.id not in answers]
        if missing:
            raise ValueError(f"{self.name} is not complete: {', '.join(missing)} unanswered")
        return sum(int(answers[item.id]) for item in self.items)

    def next_item(self, answers: Mapping[str, int]) -> Optional[Item]:
        """The first item not answered yet, or None when all are."""
        return next((item for item in self.items if item.id not in answers), None)


@dataclass(frozen=True)
class Questionnaires:
    """Every instrument and the shared answer options."""

    options: tuple[tuple[int, str], ...]
    instruments: tuple[Instrument, ...]

    def get(self, instrument_id: str) -> Instrument:
        """The instrument with this id."""
        for instrument in self.instruments:
            if instrument.id == instrument_id:
                return instrument
        raise KeyError(instrument_id)

    def answered(self, instrument_id: str, answers: Mapping[str, int]) -> list[tuple[int, str, int, str]]:
        """(number, item wording, value, answer wording) of every item answered, in order."""
        instrument, words = self.get(instrument_id), dict(self.options)
        return [(number, item.text, int(answers[item.id]), words.get(int(answers[item.id]), "?"))
                for number, item in enumerate(instrument.items, start=1) if item.id in answers]


def load_questionnaires(path: Path = QUESTIONNAIRES_FILE) -> Questionnaires:
    """Load and check the instruments."""
    data = check_record(load_yaml(path), str(path), ("version", "options", "instruments"))
    options = []
    for index, raw in enumerate(data["options"] or []):
        check_record(raw, f"{path}: options[{index}]", ("value", "text"))
        options.append((raw["value"], str(raw["text"])))
    if [value for value, _ in options] != list(VALUES):
        raise ContentError(f"{path}: 'options' must be the values 0, 1, 2, 3 in order")
    instruments = []
    for index, raw in enumerate(data["instruments"] or []):
        where = f"{path}: instruments[{index}]"
        check_record(raw, where, ("id", "name", "title", "stem", "items", "crisis_items", "bands"))
        items = tuple(Item(**check_record(item, f"{where}.items[{n}]", ("id", "text")))
                      for n, item in enumerate(raw["items"] or []))
        if not items:
            raise ContentError(f"{where}: no items")
        check_unique_ids((item.id for item in items), where)
        bands = tuple(Band(**check_record(band, f"{where}.bands[{n}]", ("max", "label")))
                      for n, band in enumerate(raw["bands"] or []))
        if not bands or [b.max for b in bands] != sorted(b.max for b in bands) or bands[-1].max != 3 * len(items):
            raise ContentError(f"{where}: bands must rise and end at the highest total, {3 * len(items)}")
        unknown = set(raw["crisis_items"] or []) - {item.id for item in items}
        if unknown:
            raise ContentError(f"{where}: crisis_items names unknown items {sorted(unknown)}")
        instruments.append(Instrument(raw["id"], raw["name"], raw["title"], raw["stem"], items, bands,
                                      frozenset(raw["crisis_items"] or [])))
    check_unique_ids((instrument.id for instrument in instruments), str(path))
    return Questionnaires(tuple(options), tuple(instruments))


@lru_cache(maxsize=1)
def questionnaires() -> Questionnaires:
    """The packaged instruments, loaded once per process."""
    return load_questionnaires()


def parse_answer(text: object) -> Optional[int]:
    """0-3 from a button value or a typed answer ("most days", "2"); None if unclear (asked again)."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return int(text) if int(text) in VALUES and float(text) == int(text) else None
    cleaned = " ".join(re.sub(r"[^a-z0-9 ]", " ", str(text or "").lower().replace("'", "")).split())
    if cleaned in {"0", "1", "2", "3"}:
        return int(cleaned)
    if cleaned in _ZERO_ANSWERS:
        return 0
    if any(re.search(rf"\b{re.escape(phrase)}\b", cleaned) for phrase in _NEGATED_ONE):
        return 1
    for value, phrases in _TYPED:
        if any(re.search(rf"\b{re.escape(phrase)}\b", cleaned) for phrase in phrases):
            return value
    return None


def response_and_remission(instrument_id: str, first: int, latest: int) -> dict:
    """Change from the first score: response is a fall of 50% or more; PHQ-9 remission is below 5."""
    change = latest - first
    result = {"change": change, "response": first > 0 and latest <= first / 2}
    if instrument_id == "phq9":
        result["remission"] = latest < 5
    return result
