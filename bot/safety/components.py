"""spaCy components of the safety screen.

Order in the pipeline: lemmatizer (spaCy, lookup mode) -> safety_normalizer ->
sentencizer (spaCy) -> safety_target_matcher -> safety_context -> safety_decision.
Each factory makes an empty component; build_screen() then hands it its rules.
"""
# No "from __future__ import annotations" here: spaCy reads the factory signatures at runtime.
import itertools
import re
import warnings
from bisect import bisect_left, bisect_right
from functools import lru_cache
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

from spacy.attrs import LEMMA, NORM, SENT_START
from spacy.language import Language
from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc, Span

from bot.safety.model import Finding, assessment_from_findings, cap_level, level_rank
from bot.safety.patterns import split_end_anchor
from bot.safety.rules import MODIFYING_CONTEXT, ContextRule, Normalisation, TargetRule

TARGETS_GROUP = "safety_targets"

# Output names of the context categories, in the order they are reported.
MODIFIER_NAMES = {
    "NEGATED_EXISTENCE": "negated",
    "HISTORICAL": "historical",
    "HYPOTHETICAL": "hypothetical",
    "OTHER_PERSON": "other_person",
    "EXPERIENCE": "experience",
    "PEACEFUL": "peaceful",
    "CURRENT": "current",
    "RECENT": "recent",
}
# Modifier names that leave a finding "current" (at its rule's level, usable as an escalation partner).
_CURRENT_NAMES = frozenset({"current", "recent"})

_TIME_CATEGORIES = ("HISTORICAL", "CURRENT", "RECENT", "SINCE_RECENT")
# A next sentence is read as an ellipsis of the one before when it is short ("I still do
# sometimes.") or opens with the phrase ("I still do it when things get bad at work").
ELLIPSIS_TOKENS = 8
ELLIPSIS_LEAD = 3
# Categories whose denials a recent "in/for/since" date turns into recent behaviour.
_BEHAVIOUR_CATEGORIES = frozenset({"suicidal_behavior", "self_harm"})
# A new clause in the present tense ("... and i want to die", "..., i feel the same now")
# ends the reach of a past or experience marker that stands before it.
_CLAUSE_LINKS = frozenset(
    {"and", "so", ",", ";", "-", "--", "...", "then", "yet", "because", "cause", "cuz", "bc", "coz"}
)
_PRESENT_AFTER_I = frozenset(
    """want wanna feel keep can think wish need hate plan do am still just really honestly literally
    constantly always""".split()
)
_PAST_SCOPED = ("HISTORICAL", "EXPERIENCE")
# Steering categories reported for every target of a sentence (see SafetyContext.__call__).
_AMBIVALENCE_CATEGORIES = ("AMBIVALENCE", "DIVIDED")
# Context regions (SafetyContext._regions): sentences longer than REGION_MAX tokens are windowed.
REGION_MAX = 80
REGION_WINDOW = 25
_FIRST_PERSON = frozenset({"i", "me", "my", "myself", "mine"})
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
_STRETCH = re.compile(r"(\w)\1{2,}")
# Self-censored spellings: "k1ll", "su!cide", "h@rm" (characters standing for letters) and
# "s*icide", "k**l" (asterisks hiding letters).
_LEET = str.maketrans({"1": "i", "!": "i", "3": "e", "0": "o", "4": "a", "@": "a", "$": "s", "5": "s", "7": "t"})
_MASK_CHARS = frozenset("*!@$0134578")
_MASKED_WORD = re.compile(r"^[a-z*!@$0-9]*[a-z][a-z*!@$0-9]*$")
_BP_READING = re.compile(r"(\d{2,3})\s*(?:/|\\|over)\s*(\d{2,3})")


def _set_doc_extension(name: str) -> None:
    Doc.set_extension(name, default=None, force=True)


def split_leading_choice(pattern: List[dict]) -> List[List[dict]]:
    """Rewrite a pattern whose first token is a choice ({"IN": [...]}) as one pattern per value.

    spaCy checks plain equality on a token in C but runs an IN-list through a
    Python predicate, and a Matcher tries the first token of every pattern at
    every position. Splitting the first choice keeps that hot path in C.
    """
    if not pattern:
        return [pattern]
    first, rest = pattern[0], pattern[1:]
    attrs = [k for k in first if k != "OP"]
    op = first.get("OP")
    if len(attrs) != 1 or attrs[0] not in ("LEMMA", "NORM", "LOWER", "ORTH") or op not in (None, "?"):
        return [pattern]
    value = first[attrs[0]]
    values = value["IN"] if isinstance(value, dict) and set(value) == {"IN"} else None
    if values is None and op is None:
        return [pattern]
    choices = values if values is not None else [value]
    result = [[{attrs[0]: v}] + rest for v in choices]
    if op == "?" and rest:
        result += split_leading_choice(rest)
    return result


@Language.factory("safety_normalizer")
def make_safety_normalizer(nlp: Language, name: str) -> "SafetyNormalizer":
    """Factory for SafetyNormalizer."""
    return SafetyNormalizer(nlp, name)


class SafetyNormalizer:
    """Sets token.norm_ and token.lemma_ to forms that survive text-speak and typos.

    Handles stretched letters ("diiie"), a spelling map ("kil", "wnat"), fuzzy
    matches of key terms that are not English words ("suicidel"), "2" for "to"
    between words, and "m" after "i" ("im"). It also starts a new sentence after
    a line break, which journal entries often use instead of punctuation.
    """

    def __init__(self, nlp: Language, name: str):
        self.name = name
        self._tokenizer = nlp.tokenizer
        self._spelling: Dict[str, str] = {}
        self._fuzzy: Dict[str, str] = {}
        self._known: Set[str] = set()
        self._lemmas: Mapping[str, str] = {}
        self._overrides: Dict[str, str] = {}
        self._cache: Dict[Tuple[str, str], Tuple[Optional[str], Optional[str]]] = {}
        self._pattern_lemmas: Dict[str, str] = {}
        self._single_tokens: Set[str] = set()
        self._masked_terms: Tuple[str, ...] = ()

    def configure(
        self, normalisation: Normalisation, lemma_table: Mapping[str, str], known_words: Iterable[str]
    ) -> None:
        """Load the normalisation data; `known_words` are never treated as typos."""
        self._spelling = dict(normalisation.spelling)
        self._overrides = dict(normalisation.lemma_overrides)
        self._lemmas = lemma_table
        self._known = set(known_words) | set(normalisation.known_words) | set(self._spelling.values())
        self._fuzzy = self._fuzzy_map(normalisation.fuzzy_terms)
        self._masked_terms = tuple(normalisation.masked_terms)
        self._cache.clear()
        self._pattern_lemmas.clear()

    def add_known_words(self, words: Iterable[str]) -> None:
        """Mark more words (e.g. every word used in a pattern) as real words."""
        self._known.update(words)
        self._fuzzy = {typo: term for typo, term in self._fuzzy.items() if typo not in self._known}
        self._cache.clear()
        self._pattern_lemmas.clear()

    def _fuzzy_map(self, terms: Sequence[str]) -> Dict[str, str]:
        letters = "abcdefghijklmnopqrstuvwxyz"
        found: Dict[str, Set[str]] = {}
        for term in terms:
            variants = set()
            splits = [(term[:i], term[i:]) for i in range(len(term) + 1)]
            if len(term) >= 3:
                variants |= {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
            if len(term) >= 5:
                variants |= {a + b[1:] for a, b in splits if b}
            if len(term) >= 6:
                variants |= {a + c + b[1:] for a, b in splits if b for c in letters}
                variants |= {a + c + b for a, b in splits for c in letters}
            for variant in variants:
                if variant != term and variant not in self._known:
                    found.setdefault(variant, set()).add(term)
        # A typo that could be two different terms is left alone.
        return {typo: next(iter(terms)) for typo, terms in found.items() if len(terms) == 1}

    def lemma_of_norm(self, norm: str) -> str:
        """The lemma used for matching a normalised word."""
        override = self._overrides.get(norm)
        if override is not None:
            return override
        return self._lemmas.get(norm, norm)

    def lemma_of(self, word: str) -> str:
        """The lemma a pattern word is matched against (same path as text)."""
        lemma = self._pattern_lemmas.get(word)
        if lemma is None:
            token = self._tokenizer(word.lower())[0]
            norm, _ = self._entry(token.text, token.norm_)
            lemma = self._pattern_lemmas[word] = self.lemma_of_norm(norm if norm is not None else token.norm_)
        return lemma

    def check_word(self, word: str) -> None:
        """Raise ValueError unless `word` is a single token."""
        if word in self._single_tokens:
            return
        tokens = self._tokenizer(word.lower())
        if len(tokens) != 1:
            parts = " ".join(t.text for t in tokens)
            raise ValueError(f"pattern word {word!r} is several tokens ({parts}); write them separately")
        self._single_tokens.add(word)

    def _destretch(self, word: str) -> str:
        runs = [m for m in _STRETCH.finditer(word)][:4]
        if not runs:
            return word
        candidates = []
        for lengths in itertools.product((2, 1), repeat=len(runs)):
            pieces, last = [], 0
            for match, keep in zip(runs, lengths):
                pieces.append(word[last : match.start()])
                pieces.append(match.group(1) * keep)
                last = match.end()
            pieces.append(word[last:])
            candidates.append("".join(pieces))
        for candidate in candidates:
            if candidate in self._known or candidate in self._spelling or candidate in self._fuzzy:
                return candidate
        return candidates[-1]

    def _unmask(self, word: str) -> str:
        """A censored spelling's word ("k1ll" -> "kill", "s*icide" -> "suicide"), else the word itself.

        Characters standing for letters are read as those letters if that gives a real
        word; asterisks may hide one to three letters of a masked key term (normalise.jsonl,
        kind "masked"), and only a single matching term is accepted.
        """
        if "*" not in word:
            candidate = word.translate(_LEET)
            if candidate.isalpha() and (
                candidate in self._known or candidate in self._spelling or candidate in self._masked_terms
            ):
                return self._spelling.get(candidate, candidate)
            return word
        shape = "".join(
            "[a-z]{1,%d}" % (len(run) + 2) if run.startswith("*") else re.escape(run.translate(_LEET))
            for run in re.findall(r"\*+|[^*]+", word)
        )
        pattern = re.compile(f"^{shape}$")
        found = [term for term in self._masked_terms if pattern.match(term)]
        return found[0] if len(found) == 1 else word

    def _entry(self, text: str, tokenizer_norm: str) -> Tuple[Optional[str], Optional[str]]:
        """(norm, lemma) for a token, or None for what the tokenizer/lemmatizer already got right."""
        key = (text, tokenizer_norm)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        norm = tokenizer_norm
        if norm in self._spelling:
            norm = self._spelling[norm]
        elif len(norm) >= 3 and not norm.isalpha() and _MASK_CHARS.intersection(norm) and _MASKED_WORD.match(norm):
            norm = self._unmask(norm)
        elif norm.isalpha():
            if _STRETCH.search(norm):
                norm = self._destretch(norm)
                norm = self._spelling.get(norm, norm)
            if norm not in self._known and len(norm) >= 3:
                norm = self._fuzzy.get(norm, norm)
        if norm == text and norm not in self._overrides:
            entry: Tuple[Optional[str], Optional[str]] = (None, None)
        else:
            entry = (norm if norm != tokenizer_norm else None, self.lemma_of_norm(norm))
        if len(self._cache) > 50_000:
            self._cache.clear()
        self._cache[key] = entry
        return entry

    def __call__(self, doc: Doc) -> Doc:
        """Normalise every token of the (already lower-cased) doc."""
        n = len(doc)
        for i, token in enumerate(doc):
            text = token.text
            if token.is_space:
                if "\n" in text and i + 1 < n:
                    doc[i + 1].is_sent_start = True
                continue
            norm, lemma = self._entry(text, token.norm_)
            if text == "2" and 0 < i < n - 1 and doc[i - 1].is_alpha and doc[i + 1].is_alpha:
                norm, lemma = "to", "to"
            elif text == "m" and i > 0 and doc[i - 1].text == "i":
                norm, lemma = "am", "be"
            if norm is not None:
                token.norm_ = norm
            if lemma is not None:
                token.lemma_ = lemma
        return doc


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
    and a text only runs the groups whose words it contains.
    """

    def __init__(self, nlp: Language, name: str):
        self.name = name
        self._vocab = nlp.vocab
        # group key: a tuple of anchors, each a tuple of word hashes (any of them will do)
        self._groups: Dict[Tuple[Tuple[int, ...], ...], Matcher] = {}
        self._index: Dict[int, List[Tuple[Tuple[int, ...], ...]]] = {}
        self._always: Optional[Matcher] = None
        self._level: Dict[str, int] = {}
        self._exclusion: Set[str] = set()
        self._partner_only: Set[str] = set()
        self._count = 0
        _set_doc_extension("safety_excluded")

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
        if scored[0][0] == 0 and (len(scored) == 1 or scored[1][0] > 0):
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
        batches: Dict[Tuple[int, str], Tuple[Matcher, List[List[dict]]]] = {}
        for pattern, key_name in ((split, name) for body, name in anchored for split in split_leading_choice(body)):
            anchors = self._anchors(pattern)
            if not anchors:
                if self._always is None:
                    # Validation is done by the test suite; at start-up it costs seconds.
                    self._always = Matcher(self._vocab, validate=False)
                matcher = self._always
            else:
                key = tuple(tuple(sorted(strings.add(v) for v in values)) for values in anchors)
                matcher = self._groups.get(key)
                if matcher is None:
                    matcher = self._groups[key] = Matcher(self._vocab, validate=False)
                    for word in key[0]:
                        self._index.setdefault(word, []).append(key)
            batches.setdefault((id(matcher), key_name), (matcher, []))[1].append(pattern)
        for (_, key_name), (matcher, batch) in batches.items():
            matcher.add(key_name, batch)

    @property
    def pattern_count(self) -> int:
        """How many token patterns are loaded."""
        return self._count

    def _matches(self, doc: Doc) -> List[Tuple[int, int, int]]:
        # Where each word occurs, by sentence; a pattern never spans two sentences.
        table = doc.to_array([LEMMA, NORM, SENT_START]).tolist()
        starts = [0]
        where: Dict[int, Set[int]] = {}
        for i, (lemma, norm, sent_start) in enumerate(table):
            if sent_start == 1 and i:
                starts.append(i)
            sentence = len(starts) - 1
            where.setdefault(lemma, set()).add(sentence)
            where.setdefault(norm, set()).add(sentence)
        starts.append(len(doc))
        keys = set()
        for word in where:
            keys.update(self._index.get(word, ()))
        found: List[Tuple[int, int, int]] = []
        for key in keys:
            sentences: Set[int] = set()
            for word in key[0]:
                sentences |= where.get(word, set())
            for anchor in key[1:]:
                also: Set[int] = set()
                for word in anchor:
                    also |= where.get(word, set())
                sentences &= also
            if not sentences:
                continue
            matcher = self._groups[key]
            # One call per run of adjacent sentences: a call costs more than its tokens.
            ordered = sorted(sentences)
            run_start = ordered[0]
            for j, sentence in enumerate(ordered):
                if j + 1 < len(ordered) and ordered[j + 1] == sentence + 1:
                    continue
                begin, end = starts[run_start], starts[sentence + 1]
                found.extend((k, begin + s, begin + e) for k, s, e in matcher(doc[begin:end]))
                if j + 1 < len(ordered):
                    run_start = ordered[j + 1]
        if self._always is not None:
            found.extend(self._always(doc))
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


def import_context():
    """Import medspaCy's ConText classes without letting medspaCy switch off every warning.

    Importing medspacy calls warnings.filterwarnings("ignore") for the whole
    process; the previous filters are put back afterwards.
    """
    saved = list(warnings.filters)
    try:
        from medspacy.common.util import prune_overlapping_matches
        from medspacy.context import ConTextGraph, ConTextModifier, ConTextRule
    finally:
        warnings.filters[:] = saved
    return ConTextRule, ConTextModifier, ConTextGraph, prune_overlapping_matches


@Language.factory(
    "safety_context",
    default_config={
        "terminating_types": {
            "NEGATED_EXISTENCE": ["FIRST_PERSON", "CLAUSE_BREAK"],
            "HYPOTHETICAL": ["CLAUSE_BREAK"],
            "OTHER_PERSON": ["FIRST_PERSON"],
            "CURRENT": ["CLAUSE_BREAK"],
        }
    },
)
def make_safety_context(nlp: Language, name: str, terminating_types: Dict[str, List[str]]) -> "SafetyContext":
    """Factory for SafetyContext."""
    return SafetyContext(nlp, name, terminating_types)


class SafetyContext:
    """medspaCy ConText, run on each sentence that holds a target.

    The modifier rules, the modifiers with their scopes, and the scope
    limiting (TERMINATE, terminated_by) are medspaCy's own ConTextRule,
    ConTextModifier and ConTextGraph. This component drives them on sentence
    spans instead of using medspaCy's ConText pipe, for two reasons (see
    bot/safety/README.md): the pipe compares every modifier with every other
    across the whole text and would need each sentence copied into its own Doc
    to stay fast; and its last step, deciding which target a modifier applies
    to, mishandles overlaps in medspaCy 1.3.1: a negation inside a target ("I
    can't go on") negates that target, while a negation that shares words with
    its target ("no urges to cut") is dropped. Here a modifier inside a target
    is part of the phrase and is ignored (unless it is a time marker, which
    dates the phrase); one that starts before the target (or ends after it)
    applies if its scope reaches it.

    Results go to doc._.safety_context, keyed by the target's (start, end)
    token offsets, as tuples of (category, context rule id).
    """

    def __init__(self, nlp: Language, name: str, terminating_types: Dict[str, List[str]]):
        self.name = name
        self._rule_class, self._modifier_class, self._graph_class, self._prune = import_context()
        self._tokenizer = nlp.tokenizer
        self._token_matcher = Matcher(nlp.vocab, validate=False)
        self._phrase_matcher = PhraseMatcher(nlp.vocab, attr="NORM")
        self._rules: Dict[str, object] = {}
        self._followed_by: Dict[str, frozenset] = {}
        self._terminating = {k.upper(): [v.upper() for v in values] for k, values in terminating_types.items()}
        _set_doc_extension("safety_context")
        _set_doc_extension("safety_modifiers_seen")

    def add_rules(self, rules: Iterable[ContextRule]) -> None:
        """Add ConText rules (converted from the rule file records)."""
        for rule in rules:
            # One ConTextRule per leading choice (same id): see split_leading_choice.
            patterns = split_leading_choice(rule.pattern) if rule.pattern else [None]
            try:
                for pattern in patterns:
                    converted = self._rule_class(
                        literal=rule.literal,
                        category=rule.category,
                        pattern=pattern,
                        direction=rule.direction,
                        max_scope=rule.max_scope,
                        max_targets=rule.max_targets,
                        allowed_types=set(rule.allowed_types) if rule.allowed_types else None,
                        excluded_types=set(rule.excluded_types) if rule.excluded_types else None,
                        terminated_by=set(self._terminating.get(rule.category, ())),
                        metadata={"id": rule.id},
                    )
                    key = f"{rule.id}#{len(self._rules)}"
                    self._rules[key] = converted
                    if rule.followed_by:
                        self._followed_by[key] = frozenset(rule.followed_by)
                    if pattern is None:
                        self._phrase_matcher.add(key, [self._tokenizer(rule.literal)])
                    else:
                        self._token_matcher.add(key, [pattern])
            except (ValueError, TypeError, KeyError) as exc:
                raise ValueError(f"{rule.source}: ConText rejected rule {rule.id}: {exc}") from None

    def _next_word_allowed(self, doc: Doc, sent: Span, key: str, end: int) -> bool:
        """A rule with `followed_by` matches only before one of those words, or "$" (the sentence ends)."""
        allowed = self._followed_by.get(key)
        if allowed is None:
            return True
        after = end
        while after < sent.end and doc[after].is_space:
            after += 1
        if after >= sent.end or doc[after].is_punct:
            return "$" in allowed
        return doc[after].norm_ in allowed

    @staticmethod
    def _ends_with_want(region: Span, after: int) -> bool:
        """True if the region ends in an elliptical wish after `after` ("but i want to", "but i might")."""
        end = region.end
        while end > after and (region.doc[end - 1].is_punct or region.doc[end - 1].is_space):
            end -= 1
        if end - after < 2:
            return False
        verb, last = region.doc[end - 2], region.doc[end - 1]
        if last.norm_ == "to":
            return verb.lemma_ in ("want", "need") or verb.norm_ == "wanna"
        # "... but i might", "... but i wish i could"
        return verb.norm_ == "i" and last.norm_ in ("might", "could", "may", "would", "will", "'ll", "did", "do")

    @staticmethod
    def _present_clauses(region: Span) -> List[int]:
        """Token offsets of "and/so/, + i + present-tense verb" clause starts in a region."""
        starts = []
        tokens = list(region)
        for k in range(1, len(tokens) - 1):
            if tokens[k].norm_ != "i" or tokens[k - 1].norm_ not in _CLAUSE_LINKS:
                continue
            verb = tokens[k + 2] if tokens[k + 1].norm_ in ("am", "'m") and k + 2 < len(tokens) else tokens[k + 1]
            # The base form only ("want", not "wanted"): "i want" starts a present clause, "i did" does not.
            if verb.norm_ in _PRESENT_AFTER_I or (verb.lemma_ in _PRESENT_AFTER_I and verb.norm_ == verb.lemma_):
                starts.append(tokens[k].i)
        return starts

    @staticmethod
    def _applies(modifier, start: int, end: int, label: str, self_referring: bool) -> bool:
        if modifier.direction in ("TERMINATE", "PSEUDO"):
            return False
        if self_referring and modifier.category == "OTHER_PERSON":
            # "my mom found out about me wishing I were dead": the phrase names the writer.
            return False
        m_start, m_end = modifier.modifier_span
        if start <= m_start and m_end <= end:
            # Inside the target: part of the phrase ("can't go on", "my family would be
            # better off"), except a time marker, which dates the phrase it sits in.
            return modifier.category in _TIME_CATEGORIES
        s_start, s_end = modifier.scope_span
        if not (s_start < end and start < s_end):
            return False
        return modifier.allows(label.upper())

    @staticmethod
    def _distance(modifier, start: int, end: int) -> int:
        """Tokens between a modifier phrase and a target (0 if they touch or overlap)."""
        m_start, m_end = modifier.modifier_span
        if m_end <= start:
            return start - m_end
        if m_start >= end:
            return m_start - end
        return 0

    @classmethod
    def _resolve_dates(cls, applied: list, start: int, end: int) -> list:
        """A past date and a recent date both reaching a target: the nearer one dates it.

        "last month i told my therapist about the attempt years ago": the attempt
        is historical; "i attempted years ago and again a month ago": recent. A
        tie goes to the recent date. CURRENT markers ("now", "again", "still")
        are not dates and always cancel HISTORICAL in the decision step.
        """
        recent = [m for m in applied if m.category in ("RECENT", "SINCE_RECENT")]
        if not recent:
            return applied
        # A past word inside the target ("my previous attempt") is not a date: any recent date wins.
        past = [
            m for m in applied
            if m.category == "HISTORICAL" and not (start <= m.modifier_span[0] and m.modifier_span[1] <= end)
        ]
        if not past:
            return [m for m in applied if m.category != "HISTORICAL"]
        nearest_past = min(cls._distance(m, start, end) for m in past)
        nearest_recent = min(cls._distance(m, start, end) for m in recent)
        drop = ("RECENT", "SINCE_RECENT") if nearest_past < nearest_recent else ("HISTORICAL",)
        return [m for m in applied if m.category not in drop]

    @staticmethod
    def _regions(doc: Doc, targets: List[Span]) -> List[Tuple[Span, List[Span]]]:
        """The stretches of text to run ConText on, each with its targets.

        Normally the sentence. In a run-on "sentence" (no punctuation for
        hundreds of words) each target gets a window of REGION_WINDOW tokens on
        each side, merged with its neighbours while the region stays short, so
        the pairwise work stays bounded.
        """
        regions: List[Tuple[Span, List[Span]]] = []
        if not targets:
            return regions
        bounds = [sent.start for sent in doc.sents] + [len(doc)]
        for target in targets:
            i = bisect_right(bounds, target.start) - 1
            sent = doc[bounds[i] : bounds[i + 1]]
            if len(sent) > REGION_MAX:
                start = max(sent.start, target.start - REGION_WINDOW)
                end = min(sent.end, target.end + REGION_WINDOW)
            else:
                start, end = sent.start, sent.end
            if regions:
                region, members = regions[-1]
                same_sentence = region.start >= sent.start and region.end <= sent.end
                if same_sentence and start < region.end and max(end, region.end) - region.start <= REGION_MAX:
                    regions[-1] = (doc[region.start : max(end, region.end)], members + [target])
                    continue
            regions.append((doc[start:end], [target]))
        return regions

    def _modifiers(self, doc: Doc, sent: Span) -> list:
        """ConText modifiers found in one sentence, with scopes limited as ConText does."""
        strings = doc.vocab.strings
        # On a Span, spaCy 3.4's Matcher returns offsets within the span, its PhraseMatcher within the doc.
        matches = []
        if len(self._token_matcher):
            matches += [(k, sent.start + s, sent.start + e) for k, s, e in self._token_matcher(sent)]
        if len(self._phrase_matcher):
            matches += self._phrase_matcher(sent)
        if self._followed_by:
            matches = [m for m in matches if self._next_word_allowed(doc, sent, strings[m[0]], m[2])]
        modifiers = []
        # Of overlapping modifier phrases the longest wins ("no thoughts of" over "no"), as in ConText.
        for match_id, start, end in self._prune(matches) if matches else ():
            rule = self._rules[strings[match_id]]
            # ConText's initial scope: the sentence (here the region) in the rule's direction,
            # cut to max_scope tokens. Given here so ConText need not look up the sentence.
            direction, limit = rule.direction, rule.max_scope
            if direction == "FORWARD":
                scope = (end, sent.end if limit is None else min(sent.end, end + limit))
            elif direction == "BACKWARD":
                scope = (sent.start if limit is None else max(sent.start, start - limit), start)
            elif limit is None:
                scope = (sent.start, sent.end)
            else:
                scope = (max(sent.start, start - limit), min(sent.end, end + limit))
            modifiers.append(self._modifier_class(rule, start, end, doc, scope_start=scope[0], scope_end=scope[1]))
        graph = self._graph_class(modifiers=modifiers)
        graph.update_scopes()
        return graph.modifiers

    def __call__(self, doc: Doc) -> Doc:
        """Attach ConText modifiers to every target span."""
        targets = list(doc.spans[TARGETS_GROUP]) if TARGETS_GROUP in doc.spans else []
        results: Dict[Tuple[int, int], Tuple[Tuple[str, str], ...]] = {}
        seen: List[Tuple[str, str, int, int]] = []
        for sent, members in self._regions(doc, targets):
            modifiers = self._modifiers(doc, sent)
            clauses = self._present_clauses(sent) if any(m.category in _PAST_SCOPED for m in modifiers) else []
            for target in members:
                self_referring = any(t.norm_ in _FIRST_PERSON for t in target)
                applied = [
                    m
                    for m in modifiers
                    if self._applies(m, target.start, target.end, target.label_, self_referring)
                    and not (
                        m.category in _PAST_SCOPED
                        and any(m.modifier_span[1] <= c <= target.start for c in clauses)
                    )
                ]
                applied = self._resolve_dates(applied, target.start, target.end)
                found = [(m.category, m.rule.metadata["id"]) for m in applied]
                # A denial followed by "but ..." in the same sentence is ambivalent, not a no.
                contrast = [m for m in modifiers if m.direction == "TERMINATE" and m.modifier_span[0] >= target.end]
                if contrast:
                    found.append(("CONTRAST_AFTER", contrast[0].rule.metadata["id"]))
                    # "... but i want to" at the very end (the punctuated form is a ConText rule).
                    if self._ends_with_want(sent, contrast[0].modifier_span[1]):
                        found.append(("AMBIVALENCE", "ctx.ambivalence.elliptical_want"))
                # Cues that the thoughts behind a denial persist ("... but the thoughts keep
                # coming back", "i promised i wouldn't ... but", "part of me ..."), anywhere in
                # the sentence outside the target; the decision step weighs them.
                for m in modifiers:
                    if m.category in _AMBIVALENCE_CATEGORIES:
                        m_start, m_end = m.modifier_span
                        if m_end <= target.start or m_start >= target.end:
                            found.append((m.category, m.rule.metadata["id"]))
                results[(target.start, target.end)] = tuple(found)
            for modifier in modifiers:
                m_start, m_end = modifier.modifier_span
                span = doc[m_start:m_end]
                seen.append((modifier.rule.metadata["id"], modifier.category, span.start_char, span.end_char))
        self._carry_ellipsis(doc, targets, results, seen)
        doc._.safety_context = results
        doc._.safety_modifiers_seen = seen
        return doc

    def _carry_ellipsis(self, doc: Doc, targets: List[Span], results: dict, seen: list) -> None:
        """A next sentence that says the act goes on ("I still do.") dates the one before.

        "I used to want to die. I still do sometimes." The ellipsis is a
        CURRENT_WISH phrase in a sentence that holds no target of its own, names
        no other person, and is at most ELLIPSIS_TOKENS words long or opens with
        the phrase; it applies to every target of the sentence just before it.
        """
        if not targets:
            return
        sentences = list(doc.sents)
        starts = [sent.start for sent in sentences]
        by_sentence: Dict[int, List[Span]] = {}
        for target in targets:
            by_sentence.setdefault(bisect_right(starts, target.start) - 1, []).append(target)
        for index, members in by_sentence.items():
            if index + 1 >= len(sentences) or index + 1 in by_sentence:
                continue
            following = sentences[index + 1]
            short = len([t for t in following if not (t.is_punct or t.is_space)]) <= ELLIPSIS_TOKENS
            modifiers = self._modifiers(doc, following)
            if any(m.category == "OTHER_PERSON" for m in modifiers):
                continue  # "I used to cut. My sister still does."
            carried = [
                m for m in modifiers
                if m.category == "CURRENT_WISH" and (short or m.modifier_span[0] - following.start < ELLIPSIS_LEAD)
            ]
            for modifier in carried[:1]:
                m_start, m_end = modifier.modifier_span
                span = doc[m_start:m_end]
                seen.append((modifier.rule.metadata["id"], modifier.category, span.start_char, span.end_char))
                for target in members:
                    key = (target.start, target.end)
                    results[key] = results.get(key, ()) + (("CURRENT_WISH", modifier.rule.metadata["id"]),)


@Language.factory("safety_decision")
def make_safety_decision(nlp: Language, name: str) -> "SafetyDecision":
    """Factory for SafetyDecision."""
    return SafetyDecision(nlp, name)


class SafetyDecision:
    """Turns targets plus their context into Findings and one Assessment.

    Policy (bot/safety/README.md): a negated finding drops to none (to review
    if a "but ..." follows it in the sentence, "I won't kill myself, but...", or
    if it is inability rather than denial, "I couldn't kill myself"); past or
    resolved, hypothetical, another person's, and experience-bound findings are
    capped at review, unless the rule sets its own caps; a "current" marker
    ("now", "again", "since the infusion") cancels "historical" and
    "experience". Rules with escalate_with rise when a current finding of the
    named rules is present in the same text (a method at hand plus ideation; a
    very high blood pressure plus chest pain).
    """

    def __init__(self, nlp: Language, name: str):
        self.name = name
        self._rules: Dict[str, TargetRule] = {}
        _set_doc_extension("safety_assessment")

    def add_rule(self, rule: TargetRule) -> None:
        """Register the level policy of one target rule."""
        self._rules[rule.id] = rule

    def _context_level(self, rule: TargetRule, categories: Set[str]) -> Tuple[str, Tuple[str, ...], bool, bool]:
        """(level, modifier names, whether current, whether a denial the writer undercuts) for one target."""
        current = bool({"CURRENT", "CURRENT_WISH"} & categories)
        since_recent = "SINCE_RECENT" in categories
        recent = "RECENT" in categories or since_recent
        negated = "NEGATED_EXISTENCE" in categories
        unable = "UNABLE" in categories
        resolved = "RESOLVED" in categories
        dated_past = "HISTORICAL" in categories and not current and not recent
        # A denial the writer undercuts: "i don't want to kill myself but the thoughts keep
        # coming back", "i promised i wouldn't ... but ...", "part of me doesn't want to die".
        undercut = (negated or unable) and (
            "DIVIDED" in categories or ("AMBIVALENCE" in categories and "CONTRAST_AFTER" in categories)
        )
        # A denial that dates the act: "i haven't cut in two weeks" is self-harm two weeks ago
        # (C-SSRS question 6: behaviour within three months is urgent). For thoughts it is a
        # recent change for the better, which a therapist should still see.
        dated_denial = negated and since_recent and not resolved and not undercut
        recent_act = dated_denial and rule.category in _BEHAVIOUR_CATEGORIES
        recent_thoughts = dated_denial and rule.category == "suicidal_ideation"
        effective = set()
        ambivalent = False  # shown as "ambivalent"
        look = False  # a denial that still needs a therapist's look: review, not none
        if dated_past:
            effective.add("HISTORICAL")
        elif undercut:
            ambivalent = True
        elif recent_act:
            pass
        elif recent_thoughts:
            effective.add("NEGATED_EXISTENCE")
            look = True
        elif negated and resolved:
            effective.add("HISTORICAL")
        elif negated:
            effective.add("NEGATED_EXISTENCE")
            ambivalent = look = "CONTRAST_AFTER" in categories
        elif unable:
            # "I couldn't kill myself": inability, not a denial; a therapist should see it.
            effective.add("NEGATED_EXISTENCE")
            ambivalent = look = True
        for category in ("HYPOTHETICAL", "OTHER_PERSON", "PEACEFUL"):
            if category in categories:
                effective.add(category)
        if "EXPERIENCE" in categories and not current:
            effective.add("EXPERIENCE")
        persisting = undercut or recent_act
        level = rule.level
        if persisting:
            # Thoughts present with intent denied, or an act weeks ago: urgent, not emergency.
            level = cap_level(level, "urgent")
        for category in effective:
            cap = rule.caps.get(category, MODIFYING_CONTEXT[category])
            if category == "NEGATED_EXISTENCE" and look and cap == "none":
                cap = "review"
            if cap is not None:
                level = cap_level(level, cap)
        if rule.current_level and not effective and ("CURRENT_WISH" in categories or undercut):
            # A bare mention the writer wants again, still does, or undercuts a denial of ("i used
            # to self harm and i've been wanting to again"; "i haven't self harmed in a year but i
            # want to so badly") is current risk; a topic dated today ("we talked about self harm
            # in group today") is not.
            level = cap_level(rule.current_level, "urgent") if persisting else rule.current_level
        shown = set(effective)
        if current:
            shown.add("CURRENT")
        if recent and not dated_past:
            shown.add("RECENT")
        if recent_act:
            shown.add("NEGATED_EXISTENCE")
        names = tuple(MODIFIER_NAMES[c] for c in MODIFIER_NAMES if c in shown)
        if ambivalent:
            names += ("ambivalent",)
        if persisting:
            is_current = True
        else:
            is_current = (
                level != "none" and level in (rule.level, rule.current_level) and not (set(names) - _CURRENT_NAMES)
            )
        return level, names, is_current, undercut

    @staticmethod
    def _bp_is_high(text: str, threshold: Mapping[str, int]) -> bool:
        for systolic, diastolic in _BP_READING.findall(text):
            if int(systolic) >= threshold["systolic"] or int(diastolic) >= threshold["diastolic"]:
                return True
        return False

    def __call__(self, doc: Doc) -> Doc:
        """Compute the Assessment and store it in doc._.safety_assessment."""
        context = doc._.safety_context or {}
        findings: List[Finding] = []
        current: List[bool] = []
        for span in doc.spans[TARGETS_GROUP] if TARGETS_GROUP in doc.spans else []:
            rule = self._rules[span.label_]
            if rule.bp_threshold and not self._bp_is_high(span.text, rule.bp_threshold):
                continue
            modifiers = context.get((span.start, span.end), ())
            level, names, is_current, undercut = self._context_level(
                rule, {category for category, _ in modifiers}
            )
            category = rule.category
            if undercut and category == "suicidal_behavior":
                # "i don't plan to kill myself but i think about it daily": thoughts, not behaviour.
                category = "suicidal_ideation"
            findings.append(
                Finding(
                    rule=rule.id,
                    category=category,
                    level=level,
                    start=span.start_char,
                    end=span.end_char,
                    text=span.text,
                    modifiers=names,
                )
            )
            current.append(is_current)
        findings = self._escalate(findings, current)
        # Partner-only findings (despair cues) only ever raise others; they are not reported.
        findings = [f for f in findings if not self._rules[f.rule].partner_only]
        doc._.safety_assessment = assessment_from_findings(findings)
        return doc

    def _escalate(self, findings: List[Finding], current: List[bool]) -> List[Finding]:
        """Raise findings whose rule names partners (escalate_with) found in the same text.

        A partner is another finding whose rule id starts with one of `rules` and
        not with one of `except`, at `partner_level` or above (default urgent),
        and current unless `partner_context` is "any" (then a past or negated
        partner counts too: "i used to cut ... i almost relapsed last week").
        Another finding of the same rule counts only with `partner_same_rule`,
        and only for a different phrase ("i feel hopeless ... i can't do this
        anymore"). The finding itself must be current.
        """
        result = list(findings)
        for i, finding in enumerate(findings):
            escalation = self._rules[finding.rule].escalate_with
            if not escalation or not current[i] or finding.level == "none":
                continue
            if level_rank(escalation["level"]) <= level_rank(finding.level):
                continue
            floor = level_rank(escalation.get("partner_level", "urgent"))
            any_context = escalation.get("partner_context", "current") == "any"
            same_rule = escalation.get("partner_same_rule", False)
            prefixes = tuple(escalation["rules"])
            excluded = tuple(escalation.get("except", ()))
            found = False
            for j, other in enumerate(findings):
                if j == i:
                    continue
                if other.rule == finding.rule and not (same_rule and other.text.lower() != finding.text.lower()):
                    continue
                if not other.rule.startswith(prefixes) or (excluded and other.rule.startswith(excluded)):
                    continue
                if not (current[j] or any_context):
                    continue
                if level_rank(other.level) >= floor:
                    found = True
                    break
            if found:
                result[i] = Finding(
                    rule=finding.rule,
                    category=finding.category,
                    level=escalation["level"],
                    start=finding.start,
                    end=finding.end,
                    text=finding.text,
                    modifiers=finding.modifiers + ("escalated",),
                )
        return result
