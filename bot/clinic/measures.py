"""PHQ-9 and GAD-7 results for the clinician: each instrument's scores, bands and change from the first."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Optional

from sqlalchemy.orm import Session

from bot.content.questionnaires import questionnaires, response_and_remission
from bot.conversation.questionnaire import completed


@dataclass
class MeasureSeries:
    """One instrument's completed scores for a patient, oldest first."""

    id: str
    name: str
    max: int
    bands: list[dict]
    scores: list[tuple[datetime, int, str, bool]] = field(default_factory=list)

    @property
    def outcome(self) -> Optional[dict]:
        """Change from the first score to the latest: response, and for PHQ-9 remission."""
        if len(self.scores) < 2:
            return None
        return response_and_remission(self.id, self.scores[0][1], self.scores[-1][1])


def measure_series(session: Session, patient_id: int) -> list[MeasureSeries]:
    """The patient's PHQ-9 and GAD-7 series that have at least one completed score."""
    series = {instrument.id: MeasureSeries(instrument.id, instrument.name, instrument.max_score,
                                           [{"max": band.max, "label": band.label} for band in instrument.bands])
              for instrument in questionnaires().instruments}
    for row in completed(session, patient_id):
        if row.instrument in series and row.score is not None:
            series[row.instrument].scores.append((row.completed_at, row.score, row.band, row.crisis_at is not None))
    return [item for item in series.values() if item.scores]


def chart_data(series: list[MeasureSeries]) -> dict:
    """What measures-chart.js draws: each instrument's points (ms, score) and bands."""
    return {"instruments": [
        {"id": item.id, "name": item.name, "max": item.max, "bands": item.bands,
         "points": [[int(at.timestamp() * 1000), score] for at, score, _, _ in item.scores]}
        for item in series]}
