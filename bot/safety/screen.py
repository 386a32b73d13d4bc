"""The Screen: one callable that turns any text into an Assessment, and never raises."""
from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import replace
from pathlib import Path
from typing import Any, List, Optional, Tuple

from bot.safety.model import NO_FINDINGS, SCREEN_ERROR, Assessment, Finding, assessment_from_findings

logger = logging.getLogger(__name__)

# Texts longer than this are screened in pieces cut at line breaks or spaces.
CHUNK_CHARS = 100_000
# Same-length replacements only, so offsets into the screened text stay valid.
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\uff07": "'"})


def _lowered(text: str) -> str:
    """Lower-case `text` without changing its length (offsets must stay valid)."""
    low = text.lower()
    if len(low) != len(text):
        low = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
    return low.translate(_QUOTES)


def _chunks(text: str, size: int) -> List[Tuple[int, str]]:
    """Split `text` into (offset, piece) of at most `size` chars, preferring line breaks."""
    pieces = []
    start = 0
    while start < len(text):
        end = min(start + size, len(text))
        if end < len(text):
            cut = text.rfind("\n", start + size // 2, end)
            if cut == -1:
                cut = text.rfind(" ", start + size // 2, end)
            if cut != -1:
                end = cut + 1
        pieces.append((start, text[start:end]))
        start = end
    return pieces


class Screen:
    """Screens one text at a time. Build it with build_screen(); call it per message."""

    def __init__(self, nlp: Any, version: str = "unknown"):
        self.nlp = nlp
        self.version = version

    def __call__(self, text: Optional[str]) -> Assessment:
        """The Assessment of `text`. On any internal failure: urgent, category screen_error."""
        try:
            if text is None:
                return NO_FINDINGS
            if isinstance(text, bytes):
                text = text.decode("utf-8", errors="replace")
            if not isinstance(text, str):
                raise TypeError(f"expected text as str, got {type(text).__name__}")
            if not text.strip():
                return NO_FINDINGS
            if len(text) <= CHUNK_CHARS:
                return self._screen(text, 0)
            findings: List[Finding] = []
            for offset, piece in _chunks(text, CHUNK_CHARS):
                if piece.strip():
                    findings.extend(self._screen(piece, offset).findings)
            return assessment_from_findings(findings)
        except Exception:
            logger.exception("Safety screen failed; reporting level urgent with category screen_error")
            return SCREEN_ERROR

    def _screen(self, text: str, offset: int) -> Assessment:
        doc = self.nlp(_lowered(text))
        assessment = doc._.safety_assessment
        if assessment is None:
            raise RuntimeError("the pipeline produced no assessment")
        if not assessment.findings:
            return assessment
        findings = tuple(
            replace(f, start=f.start + offset, end=f.end + offset, text=text[f.start : f.end])
            for f in assessment.findings
        )
        return replace(assessment, findings=findings)

    def explain(self, text: str) -> dict:
        """Debug view of one text: every target, exclusion and ConText modifier matched.

        Unlike __call__, this may raise; it is for tests and rule authors.
        """
        doc = self.nlp(_lowered(text))
        assessment = doc._.safety_assessment
        context = doc._.safety_context or {}
        targets = []
        for span in doc.spans.get("safety_targets", []):
            modifiers = context.get((span.start, span.end), ())
            targets.append(
                {
                    "rule": span.label_,
                    "start": span.start_char,
                    "end": span.end_char,
                    "text": text[span.start_char : span.end_char],
                    "context": [{"category": c, "rule": r} for c, r in modifiers],
                }
            )
        return {
            "assessment": assessment.to_dict(),
            "targets": targets,
            "excluded": [{"rule": r, "start": s, "end": e} for r, s, e in doc._.safety_excluded or []],
            "modifiers_seen": [
                {"rule": r, "category": c, "start": s, "end": e}
                for r, c, s, e in doc._.safety_modifiers_seen or []
            ],
            "tokens": [(t.text, t.norm_, t.lemma_) for t in doc],
        }


def build_screen(rules_dir: Optional[Path] = None, reader: bool = True) -> Screen:
    """Load the rules and build the pipeline once (2-3 s); reuse the Screen for every text.

    `rules_dir` defaults to the packaged rules (bot/safety/rules/). Raises
    ValueError naming the file and line if a rule file is malformed. `reader`
    adds the learned second reader (bot/safety/learned/); without it the rules
    alone decide (for evaluation).
    """
    from bot.safety._startup import import_spacy

    import_spacy()
    from bot.safety.pipeline import build_pipeline  # imports spaCy and medspaCy

    nlp, rules = build_pipeline(rules_dir, with_reader=reader)
    return Screen(nlp, version=rules.version)


_default: Optional[Screen] = None
_default_lock = threading.Lock()
# The same text is screened more than once per message in the Rasa process (the
# NLU component, then the channel's fail-safe check; each alone and joined to the
# previous message). The screen is deterministic, so the latest results are kept.
RECENT_TEXTS = 256
_recent: "OrderedDict[str, Assessment]" = OrderedDict()
_recent_lock = threading.Lock()


def _default_screen() -> Optional[Screen]:
    """The process-wide Screen, built on first use; None if it cannot be built."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                try:
                    _default = build_screen()
                except Exception:
                    logger.exception("Safety screen could not be built; reporting screen_error")
                    return None
    return _default


def screen_version() -> Optional[str]:
    """The rules version of the process-wide Screen (building it if need be); None if it cannot be built."""
    built = _default_screen()
    return built.version if built is not None else None


def screen(text: str) -> Assessment:
    """Screen `text` with a process-wide Screen built on first use (not at import)."""
    built = _default_screen()
    if built is None:
        return SCREEN_ERROR
    with _recent_lock:
        known = _recent.get(text)
        if known is not None:
            _recent.move_to_end(text)
            return known
    assessment = built(text)
    if "screen_error" not in assessment.categories:  # a failure is tried again next time
        with _recent_lock:
            _recent[text] = assessment
            while len(_recent) > RECENT_TEXTS:
                _recent.popitem(last=False)
    return assessment
