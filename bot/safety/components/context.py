"""The context step: medspaCy ConText rules run per sentence, and which target each modifier governs."""
# No "from __future__ import annotations" here: spaCy reads the factory signatures at runtime.
import warnings
from bisect import bisect_right
from typing import Dict, Iterable, List, Set, Tuple

from spacy.language import Language
from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc, Span

from bot.safety.components.carry import (
    WISH_RULES,
    carry_answer,
    carry_dated,
    carry_ellipsis,
    carry_passed,
    told_in_past,
)
from bot.safety.components.spans import TARGETS_GROUP, set_doc_extension, split_leading_choice
from bot.safety.components.talk import (
    contrast_open,
    goes_on,
    impersonal,
    named,
    named_title,
    names_a_thing,
    own_state,
    quoted_title,
    ties_writer,
    untied_noun,
)
from bot.safety.rules import ContextRule

_TIME_CATEGORIES = ("HISTORICAL", "CURRENT", "RECENT", "SINCE_RECENT")
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
_OTHER_SELF = frozenset({"himself", "herself", "themselves", "themself", "hisself"})
# Plan and intent rules, and the present-tense verbs inside their match that keep them out of the
# experience frame ("i have a plan", "i'm going to", "i will").
_PRESENT_PLAN_RULES = ("sb.plan", "sb.intent")
_PRESENT_VERBS = frozenset({"have", "has", "am", "'m", "im", "is", "going", "gonna", "will", "'ll", "got", "gotta"})
_PAST_AUXILIARIES = frozenset({"was", "were", "had", "'d", "would", "wanted", "felt"})
# The words of a CURRENT phrase that only name the day of a session ("today", "this morning"):
# beside an experience phrase they date the session, not a state now.
_SESSION_DAY = frozenset({"today", "this", "morning", "afternoon", "evening"})


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
        set_doc_extension("safety_context")
        set_doc_extension("safety_modifiers_seen")
        set_doc_extension("safety_passed")

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
    def _goes_on_after_but(modifiers: list, applied: list, target: Span) -> list:
        """CURRENT_WISH phrases after the target that a "but" cut off from it.

        "i used to want to die, it passed, but now it's back": a "but" ends the
        scope of other modifiers, yet a phrase saying the act goes on is the point
        of that "but". It still reaches back at most its rule's max_scope tokens,
        and not past another person ("i used to cut but my sister still does").
        """
        extra = []
        for m in modifiers:
            m_start = m.modifier_span[0]
            if m.category != "CURRENT_WISH" or m in applied or m_start < target.end:
                continue
            if m.rule.max_scope is not None and m_start - target.end > m.rule.max_scope:
                continue
            if any(o.category == "OTHER_PERSON" and target.end <= o.modifier_span[0] < m_start for o in modifiers):
                continue
            extra.append(m)
        return extra

    @staticmethod
    def _said_now(doc: Doc, target: Span) -> bool:
        """True if a plan or intent is said in the present tense ("i have a plan", "im going to"),
        not told of the past ("i was going to", "i had a plan")."""
        words = doc[max(0, target.start - 2) : target.end]
        return any(t.norm_ in _PRESENT_VERBS for t in target) and not any(t.norm_ in _PAST_AUXILIARIES for t in words)

    @staticmethod
    def _names_the_day(doc: Doc, modifier) -> bool:
        """True for a CURRENT phrase that only names a day ("today", "this morning"), no state."""
        m_start, m_end = modifier.modifier_span
        return modifier.category == "CURRENT" and all(t.norm_ in _SESSION_DAY for t in doc[m_start:m_end])

    @classmethod
    def _session_day(cls, doc: Doc, sent: Span, target: Span, applied: list) -> bool:
        """True if a wish told in the past stands beside an experience phrase and a phrase that
        only names the day: "today" then dates the session the wish belonged to."""
        return (
            target.label_.startswith(WISH_RULES)
            and any(m.category == "EXPERIENCE" for m in applied)
            and any(cls._names_the_day(doc, m) for m in applied)
            and told_in_past(doc, sent, target)
        )

    @staticmethod
    def _writer_too(doc: Doc, modifier, target: Span) -> bool:
        """True for a CURRENT_WISH phrase after the target that names the writer ("so am i", "me too")."""
        m_start, m_end = modifier.modifier_span
        return (
            modifier.category == "CURRENT_WISH"
            and m_start >= target.end
            and any(t.norm_ in _FIRST_PERSON for t in doc[m_start:m_end])
        )

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

    def categories_in(self, doc: Doc, sent: Span) -> Set[str]:
        """The ConText categories whose phrases stand in `sent`, whether or not it holds a target."""
        return {modifier.category for modifier in self._modifiers(doc, sent)}

    def __call__(self, doc: Doc) -> Doc:
        """Attach ConText modifiers to every target span."""
        targets = list(doc.spans[TARGETS_GROUP]) if TARGETS_GROUP in doc.spans else []
        results: Dict[Tuple[int, int], Tuple[Tuple[str, str], ...]] = {}
        seen: List[Tuple[str, str, int, int]] = []
        read: Dict[Tuple[int, int], list] = {}

        def modifiers_of(span: Span) -> list:
            # The sentences after a target are read again by the carry steps: read each once.
            key = (span.start, span.end)
            if key not in read:
                read[key] = self._modifiers(doc, span)
            return read[key]

        for sent, members in self._regions(doc, targets):
            modifiers = modifiers_of(sent)
            scoped = any(m.category in _PAST_SCOPED or m.category in ("TOPIC", "SINCE_RECENT") for m in modifiers)
            clauses = self._present_clauses(sent) if scoped else []
            for target in members:
                self_referring = any(t.norm_ in _FIRST_PERSON for t in target)
                # "starving himself as a punishment": the act is another person's, said in the target itself.
                other_referring = not self_referring and any(t.norm_ in _OTHER_SELF for t in target)
                applied = [
                    m
                    for m in modifiers
                    if self._applies(m, target.start, target.end, target.label_, self_referring)
                    and not (
                        m.category in _PAST_SCOPED
                        and any(m.modifier_span[1] <= c <= target.start for c in clauses)
                    )
                    and not (
                        # "i don't feel like dying, i feel like sleeping for a week": the date is the new clause's.
                        m.category == "SINCE_RECENT"
                        and any(target.end <= c <= m.modifier_span[0] for c in clauses)
                    )
                ]
                applied += self._goes_on_after_but(modifiers, applied, target)
                applied = self._resolve_dates(applied, target.start, target.end)
                if self._session_day(doc, sent, target, applied):
                    # "i wished for death at one point today, in the infusion": the day of the session.
                    applied = [m for m in applied if not self._names_the_day(doc, m)]
                if any(m.category == "TOPIC" for m in applied) and ties_writer(sent, modifiers, target, clauses):
                    applied = [m for m in applied if m.category != "TOPIC"]
                if target.label_.startswith(_PRESENT_PLAN_RULES) and self._said_now(doc, target):
                    # "mid infusion i have a plan to kill myself": a plan or intent said in the
                    # present outlives the session; the experience phrase only says where it came.
                    applied = [m for m in applied if m.category != "EXPERIENCE"]
                if any(self._writer_too(doc, m, target) for m in applied):
                    # "my friend is suicidal and so am i": the writer says it of themselves too.
                    applied = [m for m in applied if m.category != "OTHER_PERSON"]
                # "It passed" is weighed across the text by _carry_passed, not where ConText puts it.
                found = [(m.category, m.rule.metadata["id"]) for m in applied if m.category != "PASSED"]
                if other_referring and not any(category == "OTHER_PERSON" for category, _ in found):
                    found.append(("OTHER_PERSON", "ctx.other.reflexive"))
                titled = quoted_title(sent, target) or named_title(sent, target)
                if titled and not ties_writer(sent, modifiers, target, clauses):
                    found.append(("TITLE", "ctx.topic.title"))
                said_of_a_thing = (
                    impersonal(sent, target, modifiers)
                    or names_a_thing(sent, target, modifiers)
                    or untied_noun(sent, target, modifiers)
                    or named(sent, target, modifiers)
                )
                if said_of_a_thing and not goes_on(doc, applied):
                    found.append(("IMPERSONAL", "ctx.topic.impersonal"))
                if own_state(sent, target, modifiers):
                    found.append(("OWN_STATE", "ctx.current.own_state"))
                # A denial followed by "but ..." in the same sentence is ambivalent, not a no.
                contrast = [m for m in modifiers if m.direction == "TERMINATE" and m.modifier_span[0] >= target.end]
                if contrast:
                    found.append(("CONTRAST_AFTER", contrast[0].rule.metadata["id"]))
                    if contrast_open(sent, contrast[0].modifier_span[1]):
                        found.append(("CONTRAST_OPEN", contrast[0].rule.metadata["id"]))
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
        carry_ellipsis(doc, targets, results, seen, modifiers_of)
        carry_dated(doc, targets, results, seen, modifiers_of)
        carry_answer(doc, targets, results)
        doc._.safety_passed = carry_passed(doc, targets, results, seen, modifiers_of)
        doc._.safety_context = results
        doc._.safety_modifiers_seen = seen
        return doc
