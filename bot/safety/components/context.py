"""The context step: medspaCy ConText rules run per sentence, and which target each modifier governs."""
# No "from __future__ import annotations" here: spaCy reads the factory signatures at runtime.
import warnings
from bisect import bisect_right
from typing import Callable, Dict, Iterable, List, Optional, Set, Tuple

from spacy.language import Language
from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc, Span

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
# A next sentence is read as an ellipsis of the one before when it is short ("I still do
# sometimes.") or opens with the phrase ("I still do it when things get bad at work").
ELLIPSIS_TOKENS = 8
ELLIPSIS_LEAD = 3
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
# Plan and intent rules, and the present-tense verbs inside their match that keep them out of the
# experience frame ("i have a plan", "i'm going to", "i will").
_PRESENT_PLAN_RULES = ("sb.plan", "sb.intent")
_PRESENT_VERBS = frozenset({"have", "has", "am", "'m", "im", "is", "going", "gonna", "will", "'ll", "got", "gotta"})
_PAST_AUXILIARIES = frozenset({"was", "were", "had", "'d", "would", "wanted", "felt"})
# A wish or thought of death (the rules whose ids start so) said in the past tense (one of these words
# in the wish or at most _PAST_REACH words before it, and no present-tense wish in it: "i wanted to
# die", "i thought id rather be dead", not "i want to die now") is what a later "it passed" can date
# to a session.
_WISH_RULES = "si."
_PAST_TENSE = frozenset(
    """wanted wished thought felt was were prayed begged hoped had asked wanting wishing praying begging remember
    remembered told said wrote screamed yelled kept made""".split()
)
_PAST_REACH = 4
# The wish's own verb is in its first words ("rather die than keep going": "keep" is not the wish).
_WISH_VERB_REACH = 3
_PRESENT_WISH = frozenset("want wanna wish need keep think feel am 'm m is".split())
# The past markers that say a feeling passed ("it passed", "that's over") count as PASSED phrases too.
_PASSED_HISTORICAL = ("ctx.hist.it_passed", "ctx.hist.it_faded", "ctx.hist.thats_over")
# Words after "it passed" that say it did not stay gone ("it passed but came back tonight").
_NOT_GONE = frozenset("still again back returns returned keeps kept comes coming came".split())
_QUOTE_MARKS = frozenset({'"', "'", "\u201c", "\u201d", "\u2018", "\u2019", "`"})
# Words after "i'm calm now" that look ahead or give a reason for the calm ("... because i know what to do").
_AHEAD = frozenset(
    """because cause cos coz bc cuz tonight tomorrow tmrw soon weekend plan planned decided ready goodbye goodbyes
    bye letters letter note notes pills""".split()
)
# _carry_dated: the rules whose targets a next sentence's past date can date, the words that tell the
# sentence before in the past (not forms that are present too, such as "cut" or "hit"), the words that say
# its state goes on, the dates that are not long ago, and the words that compare rather than date
# ("same spot as in 2015").
_DATED_RULES = ("si.", "sb.", "sh.")
_TOLD_IN_PAST = frozenset(
    """was were had did used tried took attempted overdosed wanted wished thought felt spent went got asked told
    found ended stopped started hospitalised hospitalized admitted""".split()
)
_GOING_ON = frozenset("am 'm m is are been keep keeps still now again want wanna need currently lately".split())
_NOT_LONG_AGO = frozenset({"CURRENT", "CURRENT_WISH", "RECENT", "SINCE_RECENT"})
_COMPARING = frozenset("same as like again too also since".split())
# _carry_answer: the answers, the words after a reported "no" that turn away from it, the bare mention
# rules a checklist names, the words that open a question the writer asks of themselves, and the words
# of asking and of a reported reply.
_ANSWER_NO = frozenset("no nope nah".split())
_ANSWER_YES = frozenset("yes yeah yep yup ya yea".split())
_TURNS = frozenset(
    """but then though tho except although however lie lied lying pretended so only just because cause bc cuz
    until till unless""".split()
)
_MENTION_RULES = ("si.mention.", "sh.mention")
_SELF_QUESTION = frozenset("am do have did any".split())
_ASKED = frozenset("asked asks ask asking".split())
_ASKED_WHAT = frozenset("if whether about".split())
_REPLY_VERBS = frozenset("said say answered told tell put ticked circled".split())
_REPLY_FILLERS = frozenset("her him them the nurse doctor dr that , :".split())
ANSWER_REACH = 6


def _asked_about(doc: Doc, sent: Span, target: Span) -> bool:
    """True if someone asked about the target: "asked if", "asked whether" or "asked about"
    (with at most one word, "me", between) within eight words before it."""
    for t in doc[max(sent.start, target.start - 8) : target.start]:
        if t.norm_ in _ASKED and any(u.norm_ in _ASKED_WHAT for u in doc[t.i + 1 : min(target.start, t.i + 3)]):
            return True
    return False


def _reported_reply(doc: Doc, start: int, end: int) -> Optional[int]:
    """The index of the writer's reported reply after `start` and before `end`: the word after
    "said", "told (her)", "was like" or a colon, within ANSWER_REACH words; None if there is none."""
    for t in doc[start : min(end, start + ANSWER_REACH + 3)]:
        if t.text == ":" or t.norm_ in _REPLY_VERBS or t.norm_ == "like" and t.i > 0 and doc[t.i - 1].norm_ == "was":
            k = t.i + 1
            while k < end and doc[k].norm_ in _REPLY_FILLERS:
                k += 1
            if k < end:
                return k
    return None


def _asks_self(sent: Span, target: Span) -> bool:
    """True if the question `sent` is the writer's own about the target: it opens with "am i",
    "do i", "have i", "did i", "any", or holds nothing but the target ("self harm?")."""
    words = [t for t in sent if t.is_alpha]
    if not words:
        return False
    if all(target.start <= t.i < target.end for t in words):
        return True
    return words[0].norm_ in _SELF_QUESTION and (words[0].norm_ == "any" or len(words) > 1 and words[1].norm_ == "i")


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
        self._carry_ellipsis(doc, targets, results, seen, modifiers_of)
        self._carry_dated(doc, targets, results, seen, modifiers_of)
        self._carry_answer(doc, targets, results)
        doc._.safety_passed = self._carry_passed(doc, targets, results, seen, modifiers_of)
        doc._.safety_context = results
        doc._.safety_modifiers_seen = seen
        return doc

    @staticmethod
    def _carry_ellipsis(
        doc: Doc, targets: List[Span], results: dict, seen: list, modifiers_of: Callable[[Span], list]
    ) -> None:
        """A next sentence that says the act goes on ("I still do.") dates the one before.

        "I used to want to die. I still do sometimes." The ellipsis is a
        CURRENT_WISH phrase in a sentence that holds no target of its own, names
        no other person, and is at most ELLIPSIS_TOKENS words long or opens with
        the phrase; it applies to every target of the sentence just before it.
        `modifiers_of(span)` gives a span's ConText modifiers, read once per call.
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
            modifiers = modifiers_of(following)
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

    @staticmethod
    def _carry_dated(
        doc: Doc, targets: List[Span], results: dict, seen: list, modifiers_of: Callable[[Span], list]
    ) -> None:
        """A next sentence that dates what was just told to years ago dates the one before.

        "I was hospitalised after an attempt in college. That was 2013." The next sentence
        holds no target of its own, names no other person, compares nothing ("same", "as",
        "again"), has a past date (a HISTORICAL phrase: "2013", "years ago", "when i was 12",
        "in my twenties") and nothing of now or of the last few months (CURRENT,
        CURRENT_WISH, RECENT, SINCE_RECENT). The sentence before is told in the past ("was",
        "tried", "asked"...; not a form that is present too, such as "cut") and holds no word
        of a present or going-on state ("am", "been", "keep", "still", "want"...); each of its
        self-harm, suicide and behaviour targets that nothing in its own sentence dates
        takes the date: a past, resolved act or wish is `review` (CLINICAL.md).
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
            told = sentences[index]
            if not any(t.norm_ in _TOLD_IN_PAST for t in told) or any(t.norm_ in _GOING_ON for t in told):
                continue
            modifiers = modifiers_of(sentences[index + 1])
            categories = {m.category for m in modifiers}
            if categories & _NOT_LONG_AGO or "OTHER_PERSON" in categories:
                continue
            if any(t.norm_ in _COMPARING for t in sentences[index + 1]):
                continue  # "tried to hang myself. same spot as in 2015": a comparison, not the act's date
            dates = [m for m in modifiers if m.category == "HISTORICAL" and m.rule.metadata["id"] not in _PASSED_HISTORICAL]
            for modifier in dates[:1]:
                m_start, m_end = modifier.modifier_span
                span = doc[m_start:m_end]
                seen.append((modifier.rule.metadata["id"], modifier.category, span.start_char, span.end_char))
                for target in members:
                    key = (target.start, target.end)
                    dated = {category for category, _ in results.get(key, ())}
                    if target.label_.startswith(_DATED_RULES) and not dated & (_NOT_LONG_AGO | {"HISTORICAL"}):
                        results[key] = results.get(key, ()) + (("HISTORICAL", modifier.rule.metadata["id"]),)

    @staticmethod
    def _carry_answer(doc: Doc, targets: List[Span], results: dict) -> None:
        """A question about the writer's risk answered with a bare "no" is a denial.

        Three forms, each strict, because a "no" in a message at risk is as often part of the
        risk ("no reason to stay", "no, i'm just done") as an answer:
        - someone asked ("asked if", "asked whether", "asked about" before the target) and the
          writer reports the answer: "i said no", "i told her no", "i was like no", or a colon
          and "no" ("you asked if i'm having thoughts of suicide: no i'm not"), and nothing in
          the rest of the sentence or the next one turns away from it ("... no so theyd let me
          go home", "... no, only passive ones", "... i said no. i am tho");
        - a checklist: a bare mention (`si.mention.`, `sh.mention`) followed by "no" and then
          punctuation or the end ("self-harm no, suicidal thoughts no");
        - the writer's own question about the target ("am i thinking about ending my life?",
          "self harm?") and a next sentence that is nothing but "no", "nope" or "nah".
        A "yes" reported the same way to a question someone asked is the writer's answer, not a
        hypothetical ("she asked if i'd thought of killing myself and i said yes").
        """
        if not targets:
            return
        sentences = list(doc.sents)
        starts = [sent.start for sent in sentences]
        for target in targets:
            key = (target.start, target.end)
            categories = {category for category, _ in results.get(key, ())}
            if not target.label_.startswith(_DATED_RULES) or "NEGATED_EXISTENCE" in categories:
                continue
            index = bisect_right(starts, target.start) - 1
            sent = sentences[index]
            asked = _asked_about(doc, sent, target)
            reply = _reported_reply(doc, target.end, sent.end) if asked else None
            denied = False
            if reply is not None and doc[reply].norm_ in _ANSWER_NO:
                # Nothing after the "no", in its sentence or the next, turns away from it ("... i said
                # no. i am tho") or looks ahead.
                rest_end = sentences[index + 1].end if index + 1 < len(sentences) else sent.end
                denied = not any(t.norm_ in _TURNS or t.norm_ in _AHEAD for t in doc[reply + 1 : rest_end])
            elif reply is not None and doc[reply].norm_ in _ANSWER_YES:
                # The writer's own answer, not a hypothetical.
                results[key] = tuple(entry for entry in results.get(key, ()) if entry[0] != "HYPOTHETICAL")
                continue
            elif target.label_.startswith(_MENTION_RULES) and target.end < sent.end:
                nxt = doc[target.end]
                denied = nxt.norm_ in _ANSWER_NO and (nxt.i + 1 >= sent.end or doc[nxt.i + 1].is_punct)
            elif index + 1 < len(sentences) and any(t.text == "?" for t in sent[-2:]) and _asks_self(sent, target):
                answer = [t for t in sentences[index + 1] if not (t.is_punct or t.is_space)]
                denied = len(answer) == 1 and answer[0].norm_ in _ANSWER_NO
            if denied:
                results[key] = results.get(key, ()) + (("NEGATED_EXISTENCE", "ctx.neg.answered_no"),)

    @staticmethod
    def _comes_back(doc: Doc, start: int) -> bool:
        """True if a word from `start` on says the feeling did not stay gone ("but it came back"),
        unless a negation just before it says it did ("and it hasn't come back")."""
        return any(
            token.norm_ in _NOT_GONE
            and not any(t.norm_ in ("not", "never") for t in doc[max(start, token.i - 2) : token.i])
            for token in doc[start:]
        )

    @staticmethod
    def _quote_before(doc: Doc, sent: Span, target: Span) -> Optional[int]:
        """The index of the quote mark that opens a quotation holding `target` in its sentence, if
        one opens before it and closes after it (or the sentence ends with it open)."""
        marks = [t.i for t in sent if t.text in _QUOTE_MARKS and not (t.text == "'" and t.i > 0 and doc[t.i - 1].is_alpha
                                                                     and t.i + 1 < len(doc) and doc[t.i + 1].is_alpha)]
        before = [i for i in marks if i < target.start]
        after = [i for i in marks if i >= target.end]
        if len(before) % 2 == 1 and (after or len(marks) % 2 == 1):
            return before[-1]
        return None

    @staticmethod
    def _goes_ahead(doc: Doc, phrase) -> bool:
        """True if the phrase or anything after it looks ahead, gives a reason or names a goodbye
        or the means ("now i'm calm because ...", "i'm fine now, tonight it ends", "... the
        letters are written"): the calm of a decision is not a wish that passed."""
        return any(t.norm_ in _AHEAD for t in doc[phrase.modifier_span[0] :])

    @staticmethod
    def _carry_passed(
        doc: Doc, targets: List[Span], results: dict, seen: list, modifiers_of: Callable[[Span], list]
    ) -> List[Tuple[int, int]]:
        """A later "it passed" makes a wish said in the past tense a wish that has passed.

        "During the iv today I thought I'd rather be dead. The feeling was gone within minutes."
        CLINICAL.md: a wish to die that belonged to the experience, and past or resolved
        ideation, are `review`. A target of a wish or thought rule (`si.`) gets the category
        PASSED when the wish is said in the past tense ("wanted", "thought", "was", "kept" in it
        or just before it, and no "want" among its first words; a wish quoted as it was thought,
        "i thought 'i want to die'", takes the tense of the telling), a PASSED phrase ("it
        passed", "it's gone now", "i'm ok now", "fine now", "today i feel fine", "no thoughts
        like that now", "lasted a minute") follows it in the same or a later sentence, nothing
        after the wish says it goes on (CURRENT_WISH: "i still do"; or "still", "again", "came
        back" after the phrase), and the rest of the phrase's sentence does not look ahead or
        give a reason for the calm ("now i'm calm because ...", "... tonight").
        A wish the session does not name (no EXPERIENCE phrase or SESSION word in its sentence or
        the phrase's) passes too, unless it is dated to the last few months (RECENT: "last night",
        "yesterday"): that is recent ideation, which stays as it is.

        Returns the character offsets of the phrases that did so (doc._.safety_passed): the
        learned reader leaves their sentences to the rules. `modifiers_of(span)` gives a span's
        ConText modifiers, read once per call.
        """
        carried: List[Tuple[int, int]] = []
        wishes = [t for t in targets if t.label_.startswith(_WISH_RULES)]
        if not wishes:
            return carried
        sentences = list(doc.sents)
        starts = [sent.start for sent in sentences]
        for target in wishes:
            index = bisect_right(starts, target.start) - 1
            opening = SafetyContext._quote_before(doc, sentences[index], target)
            if opening is not None:
                # A wish quoted as it was thought ("i thought 'i want to die'", "a moment of 'i
                # want to die'"): its tense is the telling's, before the quote.
                telling = doc[sentences[index].start : opening]
                if not any(t.norm_ in _PAST_TENSE or t.norm_ == "moment" for t in telling):
                    continue
            else:
                said_then = doc[max(sentences[index].start, target.start - _PAST_REACH) : target.end]
                if not any(t.norm_ in _PAST_TENSE for t in said_then) or any(t.norm_ in _PRESENT_WISH for t in target[:_WISH_VERB_REACH]):
                    continue
            later = [
                (j, m)
                for j in range(index, len(sentences))
                for m in modifiers_of(sentences[j])
                if m.modifier_span[0] >= target.end
            ]
            if any(m.category == "CURRENT_WISH" for _, m in later):
                continue
            passed = next(
                (
                    (j, m)
                    for j, m in later
                    if m.category == "PASSED" or m.rule.metadata["id"] in _PASSED_HISTORICAL
                ),
                None,
            )
            if passed is None:
                continue
            j, phrase = passed
            if SafetyContext._comes_back(doc, phrase.modifier_span[1]) or SafetyContext._goes_ahead(doc, phrase):
                continue
            session = ("EXPERIENCE", "SESSION")
            if not any(m.category in session for k in {index, j} for m in modifiers_of(sentences[k])):
                # "i wanted to die last night. it's gone now": outside the session a wish that passed
                # is recent ideation, which a clinician sees today.
                continue
            key = (target.start, target.end)
            m_start, m_end = phrase.modifier_span
            span = doc[m_start:m_end]
            entry = (phrase.rule.metadata["id"], phrase.category, span.start_char, span.end_char)
            if entry not in seen:
                seen.append(entry)
            carried.append((span.start_char, span.end_char))
            results[key] = results.get(key, ()) + (("PASSED", phrase.rule.metadata["id"]),)
        return carried
