"""A patient's journal as CSV, safe to open in a spreadsheet."""
from __future__ import annotations

import csv
import io
from typing import Iterable, Iterator, Optional

from bot.storage.models import JournalEntry, SafetyAssessment

COLUMNS = ("created_at_utc", "status", "phase", "prompt_id", "screen_level", "categories",
           "text", "follow_up_text")
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """The cell as text, with a leading quote if a spreadsheet would read it as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def journal_csv(entries: Iterable[JournalEntry],
                assessments: dict[int, Optional[SafetyAssessment]]) -> Iterator[str]:
    """The CSV, a header and then one line per entry, yielded line by line."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def flush() -> str:
        value = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return value

    writer.writerow(COLUMNS)
    yield flush()
    for entry in entries:
        assessment = assessments.get(entry.id)
        writer.writerow([safe_cell(v) for v in (
            entry.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            entry.status,
            entry.phase,
            entry.prompt_id,
            assessment.level if assessment else "",
            "; ".join(assessment.categories or []) if assessment else "",
            entry.text,
            entry.follow_up_text,
        )])
        yield flush()


MEASURE_COLUMNS = ("completed_utc", "instrument", "score", "band", "crisis_item_above_0", "answers")


def measures_csv(responses: Iterable) -> Iterator[str]:
    """Completed questionnaires as CSV: one line each, with every item's answer (item=value; ...)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(MEASURE_COLUMNS)
    for response in responses:
        answers = "; ".join(f"{item}={value}" for item, value in sorted((response.answers or {}).items()))
        writer.writerow([safe_cell(v) for v in (
            response.completed_at.strftime("%Y-%m-%d %H:%M:%S") if response.completed_at else "",
            response.instrument, response.score, response.band,
            "yes" if response.crisis_at else "no", answers)])
    return iter([buffer.getvalue()])
