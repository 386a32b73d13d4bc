"""The learned second reader as the last pipeline step: it raises what the rules left below urgent.

Rules stay the explainer of record. For a text the rules put at `none` or
`review`, the reader scores each sentence (bot/safety/learned/). A sentence at
or above the reader's review threshold adds a `learned.<category>` finding at
`review`; at or above its urgent threshold, at `urgent`, unless a context
phrase in that sentence says another person as its subject (and nothing says
the writer), hypothetical, past or the experience itself (then `review`). A text of
several sentences is also read as a whole, held as its highest-scoring sentence is.
A sentence that pages and also reads as imminent (the imminence head at or above
its threshold: a plan, an intent, means at hand, an act under way) is `emergency`;
that is the one thing the reader adds to a text the rules already put at
`urgent`. A sentence in which a rule matched and its context lowered it (a
denial, another person, the past) has been read by the rules, and the reader
adds nothing to it. The reader never lowers a level.
"""
# No "from __future__ import annotations" here: spaCy reads the factory signatures at runtime.
from typing import List, Optional, Sequence, Set, Tuple

from spacy.language import Language
from spacy.tokens import Doc, Span

from bot.safety.components.context import SafetyContext
from bot.safety.components.talk import opens_with_someone
from bot.safety.model import Finding, assessment_from_findings, level_rank

# Context that keeps a learned finding at review: it is not the writer's present risk.
_HYPOTHETICAL = frozenset({"HYPOTHETICAL"})
_OTHER = frozenset({"OTHER_PERSON"})
_FIRST = frozenset({"FIRST_PERSON"})
_DATING = frozenset({"HISTORICAL", "EXPERIENCE"})
_PRESENT = frozenset({"CURRENT", "RECENT", "CURRENT_WISH", "SINCE_RECENT"})
_BLOCKING_NAMES = frozenset({"negated", "other_person", "hypothetical", "historical", "experience"})
_LOWERED_NOT_DENIED = _BLOCKING_NAMES - {"negated"}
# The fewest words after a denied finding that the reader reads as a clause of their own.
REST_WORDS = 3
_URGENT = level_rank("urgent")
_EMERGENCY = level_rank("emergency")


def whole_text_held(held: Sequence[bool], scores: Sequence[float]) -> bool:
    """Whether context keeps a text read as a whole at review: as it keeps the sentence the reader
    scores highest (the first of equals). "My sister tried to kill herself last week. I'm so
    scared" is her risk; "My wife's away for the weekend. That's when I'll do it" is the writer's,
    although the first sentence is another person's."""
    if not held:
        return False
    top = max(range(len(held)), key=lambda i: (scores[i], -i))
    return held[top]


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
    def _lowered_in(doc: Doc, sent: Span) -> List[Finding]:
        """The findings in `sent` that their context lowered (a denial, another person, the past...)."""
        return [
            f for f in doc._.safety_assessment.findings
            if f.start < sent.end_char and f.end > sent.start_char and _BLOCKING_NAMES & set(f.modifiers)
        ]

    @staticmethod
    def _passed_in(doc: Doc, sent: Span) -> bool:
        """True if `sent` says that an earlier wish of the session has passed (doc._.safety_passed)."""
        return any(sent.start_char <= start < sent.end_char for start, _ in doc._.safety_passed or ())

    def _held_by_context(self, doc: Doc, sent: Span) -> bool:
        """True if context phrases in `sent` say it is not the writer's present risk: a hypothetical,
        the past or the experience itself with nothing present, or another person as the sentence's
        subject with no first person.

        A denial is left to the rules (a sentence whose rule finding was negated is read only after
        that finding) and to the reader, which was trained on denials: in a sentence with no rule
        finding, a "not" or "no one" is more often part of the risk ("no one would miss me") than a
        denial of it.
        """
        categories: Set[str] = self._context.categories_in(doc, sent) if self._context else set()
        if categories & _HYPOTHETICAL or categories & _DATING and not categories & _PRESENT:
            return True
        # Someone else is in most of the writer's own risk too ("gave the dog to my neighbour",
        # "taking all my pills once my wife leaves"): another person holds the sentence only as
        # its subject.
        return bool(categories & _OTHER and not categories & _FIRST) and opens_with_someone(sent)

    def _open(self, doc: Doc) -> List[Span]:
        """The sentences the reader reads. A sentence in which a rule matched and its context
        lowered it (a denial, another person, the past...), or that says an earlier wish of the
        session has passed ("i don't now", "it's gone now"), the rules have read; of those, only
        the clause after a denial is read (see `_after_denial`)."""
        units = []
        for sent in doc.sents:
            if not any(t.is_alpha for t in sent) or self._passed_in(doc, sent):
                continue
            lowered = self._lowered_in(doc, sent)
            unit = self._after_denial(doc, sent, lowered) if lowered else sent
            if unit is not None:
                units.append(unit)
        return units

    @staticmethod
    def _after_denial(doc: Doc, sent: Span, lowered: List[Finding]) -> Optional[Span]:
        """What a sentence goes on to say after the last denied finding in it (`lowered`: the
        findings context lowered in it), if that is REST_WORDS words or more and nothing else
        lowered the sentence: a denial explains itself, not the clause after it ("i dont have a plan
        to hurt myself, i have pills and a date"). Another person, the past, a hypothetical or the
        experience itself most often goes on to the end of the sentence ("my roommate self-harms and
        i found blood on the towels"): that sentence stays explained."""
        if any(set(f.modifiers) & _LOWERED_NOT_DENIED for f in lowered):
            return None
        end = max(f.end for f in lowered)
        rest = [t for t in sent if t.idx >= end]
        if sum(t.is_alpha for t in rest) < REST_WORDS:
            return None
        start = next(t.i for t in rest if not (t.is_punct or t.is_space))
        return doc[start : sent.end]

    def _units(self, doc: Doc) -> List[Span]:
        """Every sentence the rules left open (or the clause after a denial, see `_after_denial`)
        and, when there are several, the text from the first to the last of them read as a whole:
        a plan or a goodbye is often spread over short sentences that say little one by one."""
        sentences = self._open(doc)
        return sentences + [doc[sentences[0].start : sentences[-1].end]] if len(sentences) > 1 else sentences

    def _held(self, doc: Doc, units: List[Span], index: int, scores: Sequence[float]) -> bool:
        """Whether context keeps unit `index` at review; the whole text as its likeliest sentence
        (`scores`: the reader's score of each unit; see `whole_text_held`)."""
        if index == len(units) - 1 and len(units) > 1:
            sentences = units[:-1]
            return whole_text_held([self._held_by_context(doc, sent) for sent in sentences], scores[:-1])
        return self._held_by_context(doc, units[index])

    def open_sentences(self, doc: Doc) -> List[Tuple[Span, Optional[bool]]]:
        """(span, whether context keeps it at review) for each unit the reader reads (see `_units`).

        For the whole text of several sentences the flag is None: it follows the sentence the
        reader scores highest (`whole_text_held`), which is known only with the scores.
        """
        units = self._units(doc)
        sentences = units[:-1] if len(units) > 1 else units
        flags: List[Optional[bool]] = [self._held_by_context(doc, span) for span in sentences]
        return list(zip(units, flags + [None] * (len(units) - len(sentences))))

    def level_alone(self, doc: Doc) -> str:
        """The level the reader alone would give (every sentence, no rules, no context): for evaluation."""
        if self.reader is None:
            return "none"
        sentences = [s.text for s in doc.sents if any(t.is_alpha for t in s)]
        if len(sentences) > 1:
            sentences.append(doc.text)
        readings = self.reader.read(sentences)
        best = max(readings, key=lambda r: r.score, default=None)
        if best is None or best.score < self.reader.review_threshold:
            return "none"
        return self._level(best, held=False)

    def _level(self, reading, held: bool) -> str:
        if reading.score < self.reader.urgent_threshold or held:
            return "review"
        return "emergency" if reading.imminence >= self.reader.emergency_threshold else "urgent"

    def __call__(self, doc: Doc) -> Doc:
        """Read each open sentence (and several together); add one finding if it raises the text's level."""
        assessment = doc._.safety_assessment
        if self.reader is None or assessment is None or level_rank(assessment.level) >= _EMERGENCY:
            return doc
        rules_rank = level_rank(assessment.level)
        units = self._units(doc)
        best = None
        readings = self.reader.read([span.text for span in units])
        scores = [reading.score for reading in readings]
        for index, (sent, reading) in enumerate(zip(units, readings)):
            if reading.score < self.reader.review_threshold:
                continue
            if rules_rank >= _URGENT and reading.imminence < self.reader.emergency_threshold:
                continue  # at urgent already, only imminence could add anything
            # Context is looked up only for a unit that could page.
            held = reading.score >= self.reader.urgent_threshold and self._held(doc, units, index, scores)
            level = self._level(reading, held)
            key = (level_rank(level), reading.score)
            if best is None or key > best[0]:
                best = (key, sent, reading, level, len(units) > 1 and index == len(units) - 1)
        if best is None:
            return doc
        (rank, score), sent, reading, level, whole = best
        if rank <= rules_rank:
            return doc
        span = doc[sent.start : sent.end]
        while len(span) and (span[-1].is_space or span[-1].is_punct):
            span = span[:-1]
        threshold = self.reader.review_threshold if level == "review" else self.reader.urgent_threshold
        why = f"score {score:.2f} (at least {threshold:.2f} for {level})"
        if reading.encoder is not None:
            why += f", the mean of the n-gram model's {reading.linear:.2f} and the encoder's {reading.encoder:.2f}"
        if whole:
            why += ", the sentences read together"
        if level == "emergency":
            why += f", imminence {reading.imminence:.2f} (at least {self.reader.emergency_threshold:.2f})"
        words = ", ".join(self.reader.explain(span.text))
        finding = Finding(
            rule=f"learned.{reading.category}",
            category=reading.category,
            level=level,
            start=span.start_char,
            end=span.end_char,
            text=span.text,
            modifiers=("learned",),
            explanation=f"learned reader: {why}; n-grams that weighed most: {words or 'n/a'}",
        )
        doc._.safety_assessment = assessment_from_findings(assessment.findings + (finding,))
        return doc
