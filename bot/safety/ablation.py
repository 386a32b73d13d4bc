"""The screen three ways on every evaluation set: rules alone, the learned reader alone, both.

`readers()` gives the three as `level_of(text) -> level` functions over one
pipeline; `ablation(...)` measures each on the public sets, the blind rounds
and the project's own examples.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Dict, Optional, Tuple

from bot.safety.blind import blind_rounds, evaluate_round, read_jsonl, read_round
from bot.safety.model import level_rank

REVIEW = level_rank("review")
URGENT = level_rank("urgent")


class Remembered:
    """A screen that keeps every text's assessment, for an evaluation that reads most texts more than once.

    The blind rounds and the public sets are read for the report and again for
    the ablation; their assessments are the same, so each text is screened once.
    While it is open (`with Remembered(screen) as remembered:`), the reader's
    encoder keeps every score too, so the reader-alone view reuses the sentences
    the whole screen already read; on leaving, the encoder's memo is bounded
    again. Not for a server: nothing is forgotten while it is open. A
    `screen_error` is not kept, so a passing failure is not counted twice.
    """

    def __init__(self, screen):
        self.screen = screen
        self.nlp = screen.nlp
        self.version = screen.version
        self._seen: Dict[str, object] = {}
        pipe = screen.nlp.get_pipe("safety_reader") if "safety_reader" in screen.nlp.pipe_names else None
        self._encoder = pipe.reader.encoder if pipe is not None and pipe.reader is not None else None
        self._memo_size = None

    def __enter__(self) -> "Remembered":
        if self._encoder is not None:
            self._memo_size, self._encoder.memo_size = self._encoder.memo_size, None
        return self

    def __exit__(self, *exc) -> None:
        if self._encoder is not None:
            self._encoder.memo_size = self._memo_size
            self._encoder.forget()

    def __call__(self, text: str):
        """The screen's Assessment of `text`, computed once."""
        if text in self._seen:
            return self._seen[text]
        assessment = self.screen(text)
        if "screen_error" not in assessment.categories:
            self._seen[text] = assessment
        return assessment


def readers(both=None) -> Dict[str, Callable[[str], str]]:
    """{name: level_of(text)} for the rules alone, the reader alone and both.

    `both` is the production Screen (built here if not given); the other two
    run on its pipeline, so the rules and the reader are loaded once, and one
    pass of the rules serves both of them.
    """
    if both is None:
        from bot.safety import build_screen

        both = Remembered(build_screen())
    from bot.safety.screen import _lowered

    nlp = both.nlp
    reader = nlp.get_pipe("safety_reader")
    apart: Dict[str, Tuple[str, str]] = {}

    def levels_apart(text: str) -> Tuple[str, str]:
        if text not in apart:
            with nlp.select_pipes(disable=["safety_reader"]):
                doc = nlp(_lowered(text))
            apart[text] = (doc._.safety_assessment.level, reader.level_alone(doc))
        return apart[text]

    return {
        "rules alone": lambda text: levels_apart(text)[0],
        "reader alone": lambda text: levels_apart(text)[1],
        "both": lambda text: both(text).level,
    }


def _share(hits: int, total: int) -> Optional[float]:
    return round(hits / total, 4) if total else None


def ablation(level_of: Dict[str, Callable[[str], str]], shared_dir: Path, own_dir: Path) -> dict:
    """{reader name: {measure: value}} over every set that is present."""
    result: Dict[str, dict] = {}
    crisis = read_jsonl(shared_dir / "public_crisis.jsonl") if (shared_dir / "public_crisis.jsonl").is_file() else []
    benign = read_jsonl(shared_dir / "public_benign.jsonl") if (shared_dir / "public_benign.jsonl").is_file() else []
    own = [
        row
        for path in sorted(own_dir.glob("*.jsonl"))
        if not path.name.startswith("blind_")
        for row in read_jsonl(path)
    ]
    own_benign = [row for row in own if row.get("set") in ("psychedelic", "idiom", "everyday", "after_effects")]
    rounds = {name: read_round(name, own_dir) for name in blind_rounds(own_dir)}
    for name, level_of_text in level_of.items():
        row: Dict[str, Optional[float]] = {}
        if crisis:
            ranks = [level_rank(level_of_text(r["text"])) for r in crisis]
            row["public crisis review+"] = _share(sum(r >= REVIEW for r in ranks), len(ranks))
            row["public crisis urgent+"] = _share(sum(r >= URGENT for r in ranks), len(ranks))
        if benign:
            ranks = [level_rank(level_of_text(r["text"])) for r in benign]
            row["public benign review+"] = _share(sum(r >= REVIEW for r in ranks), len(ranks))
            row["public benign urgent+"] = _share(sum(r >= URGENT for r in ranks), len(ranks))
        for round_name, rows in rounds.items():
            measured = evaluate_round(level_of_text, rows)
            row[f"blind {round_name} risk recall"] = measured["risk"]["recall"]
            row[f"blind {round_name} benign false alarms"] = measured["benign"]["false_alarms"]
            row[f"blind {round_name} psychedelic false alarms"] = measured["psychedelic"]["false_alarms"]
        if own_benign:
            ranks = [level_rank(level_of_text(r["text"])) for r in own_benign]
            row["own benign sets review+"] = _share(sum(r >= REVIEW for r in ranks), len(ranks))
        result[name] = row
    return result
