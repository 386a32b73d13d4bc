"""The learned second reader as the last pipeline step: it raises what the rules left below urgent.

Rules stay the explainer of record. For a text the rules put at `none` or
`review`, the reader scores each sentence (bot/safety/learned/). A sentence at
or above the reader's review threshold adds a `learned.<category>` finding at
`review`; at or above its urgent threshold, at `urgent`, unless a context
phrase in that sentence says negated, another person, hypothetical, past or
the experience itself (then `review`). A sentence in which a rule matched and
its context lowered it (a denial, another person, the past) has been read by
the rules, and the reader adds nothing to it. The reader never lowers a level
and never raises one to `emergency`.
"""
# No "from __future__ import annotations" here: spaCy reads the factory signatures at runtime.
from typing import List, Optional, Set, Tuple

from spacy.language import Language
from spacy.tokens import Doc, Span

from bot.safety.components.context import SafetyContext
from bot.safety.model import Finding, assessment_from_findings, level_rank

# Context that keeps a learned finding at review: it is not the writer's present risk.
_BLOCKING = frozenset({"NEGATED_EXISTENCE", "OTHER_PERSON", "HYPOTHETICAL"})
_DATING = frozenset({"HISTORICAL", "EXPERIENCE"})
_PRESENT = frozenset({"CURRENT", "RECENT", "CURRENT_WISH", "SINCE_RECENT"})
_BLOCKING_NAMES = frozenset({"negated", "other_person", "hypothetical", "historical", "experience"})
_URGENT = level_rank("urgent")


@Language.factory("safety_reader")
def make_safety_reader(nlp: Language, name: str) -> "SafetyReader":
    """Factory for SafetyReader."""
    return SafetyReader(nlp, name)


class SafetyReader:
    """Adds the learned reader's finding to doc._.safety_assessment when it raises the level."""

    def __init__(self, nlp: Language, name: str):
        self.name = name
        self.reader = None
        self._context: Optional[SafetyContext] = None

    def configure(self, reader, context: SafetyContext) -> None:
        """Use `reader` (a LinearReader) and the pipeline's context step."""
        self.reader = reader
        self._context = context

    @staticmethod
    def _explained(doc: Doc, sent: Span) -> bool:
        """True if a rule matched in `sent` and its context lowered it (a denial, another person,
        the past...): the rules have read that sentence, and the reader adds nothing to it."""
        return any(
            finding.start < sent.end_char and finding.end > sent.start_char and _BLOCKING_NAMES & set(finding.modifiers)
            for finding in doc._.safety_assessment.findings
        )

    def _held_by_context(self, doc: Doc, sent: Span) -> bool:
        """True if a context phrase in `sent` says negated, another person, hypothetical, past or the experience."""
        categories: Set[str] = self._context.categories_in(doc, sent) if self._context else set()
        return bool(categories & _BLOCKING) or bool(categories & _DATING and not categories & _PRESENT)

    def _open(self, doc: Doc) -> List[Span]:
        return [s for s in doc.sents if any(t.is_alpha for t in s) and not self._explained(doc, s)]

    def open_sentences(self, doc: Doc) -> List[Tuple[Span, bool]]:
        """(sentence, whether context keeps it at review) for every sentence the rules left open."""
        return [(sent, self._held_by_context(doc, sent)) for sent in self._open(doc)]

    def level_alone(self, doc: Doc) -> str:
        """The level the reader alone would give (every sentence, no rules, no context): for evaluation."""
        if self.reader is None:
            return "none"
        sentences = [s.text for s in doc.sents if any(t.is_alpha for t in s)]
        score = max((r.score for r in self.reader.read(sentences)), default=0.0)
        if score >= self.reader.urgent_threshold:
            return "urgent"
        return "review" if score >= self.reader.review_threshold else "none"

    def __call__(self, doc: Doc) -> Doc:
        """Read each sentence; add one finding if it raises the text's level."""
        assessment = doc._.safety_assessment
        if self.reader is None or assessment is None or level_rank(assessment.level) >= _URGENT:
            return doc
        sentences = self._open(doc)
        best = None
        for sent, reading in zip(sentences, self.reader.read([s.text for s in sentences])):
            if reading.score < self.reader.review_threshold:
                continue
            # Context is looked up only for a sentence that could page.
            urgent = reading.score >= self.reader.urgent_threshold and not self._held_by_context(doc, sent)
            key = (urgent, reading.score)
            if best is None or key > best[0]:
                best = (key, sent, reading)
        if best is None:
            return doc
        (urgent, score), sent, reading = best
        level = "urgent" if urgent else "review"
        if level_rank(level) <= level_rank(assessment.level):
            return doc
        span = doc[sent.start : sent.end]
        while len(span) and (span[-1].is_space or span[-1].is_punct):
            span = span[:-1]
        threshold = self.reader.urgent_threshold if urgent else self.reader.review_threshold
        words = ", ".join(self.reader.explain(span.text))
        finding = Finding(
            rule=f"learned.{reading.category}",
            category=reading.category,
            level=level,
            start=span.start_char,
            end=span.end_char,
            text=span.text,
            modifiers=("learned",),
            explanation=f"learned reader: score {score:.2f} (at least {threshold:.2f} for {level});"
            f" weighed most: {words or 'n/a'}",
        )
        doc._.safety_assessment = assessment_from_findings(assessment.findings + (finding,))
        return doc
