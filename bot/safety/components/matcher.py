"""The target matcher: the rules' phrases found with spaCy Matchers, one span per phrase."""
# No "from __future__ import annotations" here: spaCy reads the factory signatures at runtime.
import threading
from bisect import bisect_left
from functools import lru_cache
from typing import Dict, List, Optional, Set, Tuple

from spacy.attrs import LEMMA, NORM, SENT_START
from spacy.language import Language
from spacy.matcher import Matcher
from spacy.tokens import Doc, Span

from bot.safety.components.spans import TARGETS_GROUP, set_doc_extension
from bot.safety.model import level_rank
from bot.safety.patterns import split_end_anchor
from bot.safety.rules import TargetRule

# Words too frequent to be a good index for a pattern (lemmas and norms), in two tiers.
_FUNCTION_WORDS = frozenset(
    """i me my myself you he she it we they them him her his their the a an and or but if of to in on at
    for with from by as be have do not no never will would can could should just so this that there what
    when how all go get""".split()
)
_COMMON_WORDS = frozenset(
    """think want feel know take make say see come look need try use work day time like really good more
    one people about up out back still again now today tonight last after before keep thing way well
    much very too even also some any every only then than over into off down here""".split()
)


_END_KEY = "$end"


def _ends_sentence(doc: Doc, end: int) -> bool:
    """True if a match ending at `end` ends its sentence.

    That is: nothing, punctuation, a line break or an emoji follows it.
    """
    if end >= len(doc):
        return True
    following = doc[end]
    return following.is_sent_start or following.is_punct or following.is_space or not (
        following.is_alpha or following.like_num
    )


@Language.factory("safety_target_matcher")
def make_safety_target_matcher(nlp: Language, name: str) -> "SafetyTargetMatcher":
    """Factory for SafetyTargetMatcher."""
    return SafetyTargetMatcher(nlp, name)


@lru_cache(maxsize=None)
def _anchor_score(values: Tuple[str, ...]) -> Tuple[int, Tuple[str, ...]]:
    """(how common the words are: 0 rare, 1 common, 2 function word; the words sorted)."""
    if any(v in _FUNCTION_WORDS for v in values):
        score = 2
    elif any(v in _COMMON_WORDS for v in values):
        score = 1
    else:
        score = 0
    return score, tuple(sorted(values))


class SafetyTargetMatcher:
    """Finds target phrases with spaCy Matchers and stores them in doc.spans["safety_targets"].

    Overlaps are resolved so each phrase is reported once: a match inside a
    longer match is dropped (the longer, more specific rule decides); a match
    that overlaps an exclusion rule's match (an idiom such as "killing myself
    laughing") is dropped, unless it contains the whole exclusion and more;
    partial overlaps of two targets are both kept. Matches may not cross a
    sentence boundary.

    A spaCy Matcher tries every pattern at every token, so its cost grows with
    patterns x tokens. Patterns are therefore grouped by the one or two words
    they cannot match without (preferring rare words), one Matcher per group,
    and a text only runs the groups whose words it contains. A leading choice
    ({"IN": [...]}) stays one pattern: the groups already keep a matcher off
    most sentences, and splitting it into one pattern per word cost seconds
    of Matcher.add at start-up and saved nothing per message.

    A group's Matcher is built the first time a text contains its words:
    Matcher.add is most of the screen's start-up, and most groups wait long
    for their first text (`build_all` builds them all now).
    """

    def __init__(self, nlp: Language, name: str):
        self.name = name
        self._vocab = nlp.vocab
        # group key: a tuple of anchors, each a tuple of word hashes (any of them will do)
        self._groups: Dict[Tuple[Tuple[int, ...], ...], Matcher] = {}
        # group key -> [(match key, patterns)] not yet added to a Matcher
        self._pending: Dict[Tuple[Tuple[int, ...], ...], List[Tuple[str, List[List[dict]]]]] = {}
        self._build_lock = threading.Lock()
        self._index: Dict[int, List[Tuple[Tuple[int, ...], ...]]] = {}
        self._always: Optional[Matcher] = None
        self._level: Dict[str, int] = {}
        self._exclusion: Set[str] = set()
        self._partner_only: Set[str] = set()
        self._count = 0
        set_doc_extension("safety_excluded")

    @staticmethod
    def _anchors(pattern: List[dict]) -> List[Tuple[str, ...]]:
        """Up to two required tokens to index a pattern by, rarest-looking first."""
        scored = []
        for position, spec in enumerate(pattern):
            op = spec.get("OP")
            if op is not None and not (op == "+" or op.startswith("{1")):
                continue
            attrs = [k for k in spec if k != "OP"]
            if len(attrs) != 1 or attrs[0] not in ("LEMMA", "NORM"):
                continue
            value = spec[attrs[0]]
            if isinstance(value, dict):
                if set(value) != {"IN"}:
                    continue
                score, values = _anchor_score(tuple(value["IN"]))
            else:
                score, values = _anchor_score((value,))
            scored.append((score, position, values))
        scored.sort()
        if not scored:
            return []
        # A second anchor narrows a group further, unless it is a function word, which nearly every
        # sentence has: "pass" alone would run the goodbye patterns on "the nausea passed".
        if scored[0][0] == 0 and (len(scored) == 1 or scored[1][0] > 1):
            return [scored[0][2]]
        return [entry[2] for entry in scored[:2]]

    def add_rule(self, rule: TargetRule, patterns: List[List[dict]]) -> None:
        """Add one rule's compiled patterns."""
        self._level[rule.id] = level_rank(rule.level)
        if rule.is_exclusion:
            self._exclusion.add(rule.id)
        if rule.partner_only:
            self._partner_only.add(rule.id)
        strings = self._vocab.strings
        self._count += len(patterns)
        anchored = []
        for compiled in patterns:
            body, at_end = split_end_anchor(compiled)
            anchored.append((body, rule.id + _END_KEY if at_end else rule.id))
        # One Matcher.add call per matcher and key: each call has a fixed cost.
        batches: Dict[Tuple[Tuple[Tuple[int, ...], ...], str], List[List[dict]]] = {}
        for pattern, key_name in anchored:
            anchors = self._anchors(pattern)
            key = tuple(tuple(sorted(strings.add(v) for v in values)) for values in anchors)
            batches.setdefault((key, key_name), []).append(pattern)
        for (key, key_name), batch in batches.items():
            if not key:
                if self._always is None:
                    # Validation is done by the test suite; at start-up it costs seconds.
                    self._always = Matcher(self._vocab, validate=False)
                self._always.add(key_name, batch)
                continue
            if key not in self._groups and key not in self._pending:
                for word in key[0]:
                    self._index.setdefault(word, []).append(key)
            matcher = self._groups.get(key)
            if matcher is not None:
                matcher.add(key_name, batch)
            else:
                self._pending.setdefault(key, []).append((key_name, batch))

    def _group(self, key: Tuple[Tuple[int, ...], ...]) -> Matcher:
        """The Matcher of a group of patterns, built on first use."""
        matcher = self._groups.get(key)
        if matcher is None:
            with self._build_lock:
                matcher = self._groups.get(key)
                if matcher is None:
                    matcher = Matcher(self._vocab, validate=False)
                    for key_name, batch in self._pending[key]:
                        matcher.add(key_name, batch)
                    # Published only once whole; a failed build stays pending (and fails safe again).
                    self._groups[key] = matcher
                    del self._pending[key]
        return matcher

    def build_all(self) -> None:
        """Build every group's Matcher now (a long-running process may rather pay at start-up)."""
        for key in list(self._pending):
            self._group(key)

    @property
    def unbuilt_groups(self) -> int:
        """How many groups of patterns wait for their first text."""
        return len(self._pending)

    @property
    def pattern_count(self) -> int:
        """How many token patterns are loaded."""
        return self._count

    def _matches(self, doc: Doc) -> List[Tuple[int, int, int]]:
        # Where each word occurs, as a bit mask of sentences; a pattern never spans two sentences.
        table = doc.to_array([LEMMA, NORM, SENT_START]).tolist()
        starts = [0]
        where: Dict[int, int] = {}
        bit = 1
        for i, (lemma, norm, sent_start) in enumerate(table):
            if sent_start == 1 and i:
                starts.append(i)
                bit <<= 1
            where[lemma] = where.get(lemma, 0) | bit
            where[norm] = where.get(norm, 0) | bit
        starts.append(len(doc))
        keys = set()
        for word in where:
            keys.update(self._index.get(word, ()))
        # Many groups share an anchor (the list of family members, say): work each out once.
        masks: Dict[Tuple[int, ...], int] = {}
        found: List[Tuple[int, int, int]] = []
        for key in keys:
            sentences = -1
            for anchor in key:
                mask = masks.get(anchor)
                if mask is None:
                    mask = 0
                    for word in anchor:
                        mask |= where.get(word, 0)
                    masks[anchor] = mask
                sentences &= mask
                if not sentences:
                    break
            if not sentences:
                continue
            matcher = self._group(key)
            # One call per run of adjacent sentences: a call costs more than its tokens.
            sentence = 0
            while sentences:
                while not sentences & 1:
                    sentences >>= 1
                    sentence += 1
                first = sentence
                while sentences & 1:
                    sentences >>= 1
                    sentence += 1
                begin, end = starts[first], starts[sentence]
                # allow_missing: the lemmatizer runs first, and checking that it did costs more than matching.
                if begin == 0 and end == len(doc):
                    found.extend(matcher(doc, allow_missing=True))
                else:
                    found.extend((k, begin + s, begin + e) for k, s, e in matcher(doc[begin:end], allow_missing=True))
        if self._always is not None:
            found.extend(self._always(doc, allow_missing=True))
        return found

    def _resolve(self, candidates: List[Tuple[str, int, int]]) -> List[Tuple[str, int, int]]:
        """Apply exclusions, keep the longest of nested matches, merge a rule's overlapping matches.

        Partner-only matches are resolved among themselves and kept only where they
        overlap no other target, so they can never hide one.
        """
        partners = [c for c in candidates if c[0] in self._partner_only]
        if not partners:
            return self._resolve_targets(candidates)
        kept = self._resolve_targets([c for c in candidates if c[0] not in self._partner_only])
        spans = [(s, e) for _, s, e in kept]
        extra = [
            (r, s, e)
            for r, s, e in self._resolve_targets(partners + [c for c in candidates if c[0] in self._exclusion])
            if not any(s < ke and ks < e for ks, ke in spans)
        ]
        return sorted(kept + extra, key=lambda item: (item[1], item[2]))

    def _resolve_targets(self, candidates: List[Tuple[str, int, int]]) -> List[Tuple[str, int, int]]:
        exclusions = sorted((s, e) for r, s, e in candidates if r in self._exclusion)
        starts = [s for s, _ in exclusions]
        longest = max((e - s for s, e in exclusions), default=0)
        best: Dict[Tuple[int, int], str] = {}
        for rule_id, start, end in candidates:
            if rule_id in self._exclusion:
                continue
            hidden = False
            for s, e in exclusions[bisect_left(starts, start - longest) : bisect_left(starts, end)]:
                if s < end and start < e and not (start <= s and e <= end and (s, e) != (start, end)):
                    hidden = True
                    break
            if hidden:
                continue
            current = best.get((start, end))
            if current is None or (-self._level[rule_id], rule_id) < (-self._level[current], current):
                best[(start, end)] = rule_id
        kept: List[Tuple[str, int, int]] = []
        last: Dict[str, int] = {}
        furthest = -1
        # By start, longest first: a span ending before the furthest end seen so far is nested.
        for (start, end), rule_id in sorted(best.items(), key=lambda item: (item[0][0], -item[0][1])):
            if end <= furthest:
                continue
            furthest = end
            # Overlapping matches of one rule ("i attempted" + "attempted suicide") become one span.
            i = last.get(rule_id)
            if i is not None and kept[i][2] > start:
                kept[i] = (rule_id, kept[i][1], max(kept[i][2], end))
                continue
            last[rule_id] = len(kept)
            kept.append((rule_id, start, end))
        return kept

    def __call__(self, doc: Doc) -> Doc:
        """Match, resolve overlaps, and store the surviving target spans."""
        strings = doc.vocab.strings
        found = {}
        for match_id, start, end in self._matches(doc):
            if any(doc[i].is_sent_start for i in range(start + 1, end)):
                continue
            name = strings[match_id]
            if name.endswith(_END_KEY):
                if not _ends_sentence(doc, end):
                    continue
                name = name[: -len(_END_KEY)]
            found[(name, start, end)] = None
        kept = self._resolve(list(found))
        doc.spans[TARGETS_GROUP] = [Span(doc, s, e, label=r) for r, s, e in kept]
        doc._.safety_excluded = [
            (r, doc[s:e].start_char, doc[s:e].end_char) for r, s, e in found if r in self._exclusion
        ]
        return doc

