"""Every rule file loads, every pattern is valid, every pinned example behaves."""
import pytest
from spacy.matcher import Matcher

from bot.safety.components.matcher import _END_KEY
from bot.safety.patterns import compile_pattern, split_end_anchor
from bot.safety.rules import STEERING_CONTEXT, load_rules
from bot.safety.screen import _lowered

RULES = load_rules()


def _target_cases():
    for rule in RULES.targets:
        for i, text in enumerate(rule.fire):
            yield pytest.param(rule.id, "fire", text, id=f"{rule.id}-fire-{i}")
        for i, text in enumerate(rule.near_miss):
            yield pytest.param(rule.id, "near_miss", text, id=f"{rule.id}-near_miss-{i}")


def _context_cases():
    for rule in RULES.context:
        for i, text in enumerate(rule.fire):
            yield pytest.param(rule.id, "fire", text, id=f"{rule.id}-fire-{i}")
        for i, text in enumerate(rule.near_miss):
            yield pytest.param(rule.id, "near_miss", text, id=f"{rule.id}-near_miss-{i}")


def test_rule_set_has_a_version_and_rules(safety_rules):
    assert safety_rules.version
    assert len(safety_rules.targets) > 50
    assert len(safety_rules.context) > 50


def test_every_rule_has_a_fire_and_a_near_miss_example(safety_rules):
    for rule in safety_rules.targets:
        assert rule.fire and rule.near_miss, rule.id


@pytest.mark.parametrize("rule_id, kind, text", list(_target_cases()))
def test_target_rule_examples(safety_screen, safety_rules, rule_id, kind, text):
    rule = safety_rules.target(rule_id)
    explained = safety_screen.explain(text)
    if rule.is_exclusion:
        excluded = {item["rule"] for item in explained["excluded"]}
        assert (rule_id in excluded) == (kind == "fire"), explained
        return
    if rule.partner_only:
        # Partner-only rules are never reported; they must match (fire) or not (near miss).
        matched = {target["rule"] for target in explained["targets"]}
        assert (rule_id in matched) == (kind == "fire"), explained["targets"]
        return
    findings = explained["assessment"]["findings"]
    if kind == "fire":
        # The rule must fire, and the example must not be read as a denial.
        assert any(f["rule"] == rule_id and "negated" not in f["modifiers"] for f in findings), findings
    else:
        # A near miss may produce the rule only as a visible negated finding at level none.
        assert not any(f["rule"] == rule_id and f["level"] != "none" for f in findings), findings


@pytest.mark.parametrize("rule_id, kind, text", list(_context_cases()))
def test_context_rule_examples(safety_screen, safety_rules, rule_id, kind, text):
    rule = next(r for r in safety_rules.context if r.id == rule_id)
    explained = safety_screen.explain(text)
    reported = [t for t in explained["targets"] if not safety_rules.target(t["rule"]).partner_only]
    applied = {c["rule"] for t in reported for c in t["context"]}
    seen = {m["rule"] for m in explained["modifiers_seen"]}
    if kind == "near_miss":
        assert rule_id not in applied, explained["targets"]
    elif rule.category in STEERING_CONTEXT or rule.direction in ("PSEUDO", "TERMINATE"):
        # Steering rules act on other modifiers; they must at least be found in a sentence with a target.
        assert rule_id in seen, explained["modifiers_seen"]
    else:
        assert rule_id in applied, explained["targets"]


def _every_pattern(screen, rules):
    """(match key, token pattern) for every pattern of every target rule, compiled as the screen does."""
    normalizer = screen.nlp.get_pipe("safety_normalizer")
    for rule in rules.targets:
        for pattern in rule.patterns:
            compiled = (
                compile_pattern(pattern, rules.macros, normalizer.lemma_of, normalizer.check_word)
                if isinstance(pattern, str)
                else [pattern]
            )
            for body, at_end in map(split_end_anchor, compiled):
                yield (rule.id + _END_KEY if at_end else rule.id), body


def test_every_compiled_pattern_passes_spacy_validation(safety_screen, safety_rules):
    matcher = Matcher(safety_screen.nlp.vocab, validate=True)
    for key, body in _every_pattern(safety_screen, safety_rules):
        matcher.add(key.removesuffix(_END_KEY), [body])
    assert len(matcher) == len(safety_rules.targets)


def test_the_grouped_matchers_find_what_a_matcher_of_each_rules_patterns_finds(safety_screen, safety_rules):
    """The screen runs a pattern only on sentences with the words it cannot match without: a word
    taken for required that is not would lose matches that a Matcher of the rule's patterns finds
    in the rule's own examples."""
    nlp = safety_screen.nlp
    grouped = nlp.get_pipe("safety_target_matcher")
    by_rule = {}
    for key, body in _every_pattern(safety_screen, safety_rules):
        by_rule.setdefault(key.removesuffix(_END_KEY), []).append((key, body))
    strings = nlp.vocab.strings

    def within_sentences(doc, matches, keys):
        return {(strings[k], s, e) for k, s, e in matches
                if strings[k] in keys and not any(doc[i].is_sent_start for i in range(s + 1, e))}

    for rule in safety_rules.targets:
        single = Matcher(nlp.vocab)
        for key, body in by_rule[rule.id]:
            single.add(key, [body])
        keys = {key for key, _ in by_rule[rule.id]}
        for text in rule.fire + rule.near_miss:
            doc = nlp(_lowered(text))
            expected = within_sentences(doc, single(doc, allow_missing=True), keys)
            assert within_sentences(doc, grouped._matches(doc), keys) == expected, (rule.id, text)


def test_a_lexicon_entry_compiled_once_gives_the_same_patterns(safety_screen, safety_rules):
    normalizer = safety_screen.nlp.get_pipe("safety_normalizer")
    cache: dict = {}
    for rule in safety_rules.targets:
        for pattern in (p for p in rule.patterns if isinstance(p, str)):
            alone = compile_pattern(pattern, safety_rules.macros, normalizer.lemma_of, normalizer.check_word)
            shared = compile_pattern(pattern, safety_rules.macros, normalizer.lemma_of, normalizer.check_word, cache)
            assert shared == alone, (rule.id, pattern)
    assert cache, "the rules use lexicon entries"
