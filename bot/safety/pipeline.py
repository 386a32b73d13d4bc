"""Builds the spaCy pipeline of the screen from a rules directory."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional

import spacy
from spacy.language import Language
from spacy.lookups import Lookups
from spacy.matcher import Matcher
from spacy.tokenizer import Tokenizer
from spacy.util import (
    compile_infix_regex,
    compile_prefix_regex,
    compile_suffix_regex,
    load_language_data,
    registry,
)

from bot.safety import components  # noqa: F401  (registers the safety_* factories)
from bot.safety.patterns import PatternError, compile_pattern, split_end_anchor
from bot.safety.rules import RuleSet, load_rules


logger = logging.getLogger(__name__)

# "i want to die.i can't": sentence punctuation typed without a space after it is split
# off (two letters before it, so "e.g." and "i.e." stay whole).
_NO_SPACE_AFTER_STOP = r"(?<=[a-z]{2})[.!?]+(?=[a-z])"


@registry.tokenizers("safety_tokenizer.v1")
def make_safety_tokenizer():
    """spaCy's English tokenizer plus one infix rule, built once (setting it later reloads the special cases)."""

    def create_tokenizer(nlp: Language) -> Tokenizer:
        defaults = nlp.Defaults
        prefixes = compile_prefix_regex(defaults.prefixes) if defaults.prefixes else None
        suffixes = compile_suffix_regex(defaults.suffixes) if defaults.suffixes else None
        infixes = compile_infix_regex(list(defaults.infixes or ()) + [_NO_SPACE_AFTER_STOP])
        return Tokenizer(
            nlp.vocab,
            rules=defaults.tokenizer_exceptions,
            prefix_search=prefixes.search if prefixes else None,
            suffix_search=suffixes.search if suffixes else None,
            infix_finditer=infixes.finditer,
            token_match=defaults.token_match,
            url_match=defaults.url_match,
        )

    return create_tokenizer


def _lookup_tables() -> tuple:
    """English lemma lookup table and lemma word lists from spacy-lookups-data."""
    paths = registry.lookups.get("en")
    return load_language_data(paths["lemma_lookup"]), load_language_data(paths["lemma_index"])


def build_nlp(rules: RuleSet, reader=None) -> Language:
    """A blank English pipeline with the screen's components, loaded with `rules`.

    `reader` (a bot.safety.learned LinearReader) adds the learned second reader as the last step.
    """
    nlp = spacy.blank("en", config={"nlp": {"tokenizer": {"@tokenizers": "safety_tokenizer.v1"}}})
    # Screen cuts texts into 100,000-character pieces (screen.CHUNK_CHARS), well within this.
    nlp.max_length = 1_000_000
    lemmatizer = nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    normalizer = nlp.add_pipe("safety_normalizer")
    nlp.add_pipe("sentencizer")
    matcher = nlp.add_pipe("safety_target_matcher")
    context = nlp.add_pipe("safety_context")
    decision = nlp.add_pipe("safety_decision")
    if reader is not None:
        nlp.add_pipe("safety_reader").configure(reader, context)

    lemma_lookup, lemma_index = _lookup_tables()
    lookups = Lookups()
    lookups.add_table("lemma_lookup", lemma_lookup)
    lemmatizer.initialize(lookups=lookups)

    # Text-speak that stands for two words ("dnt", "wnna") becomes two tokens, like "dont".
    for word, pieces in rules.normalisation.splits.items():
        nlp.tokenizer.add_special_case(word, [{"ORTH": part, "NORM": norm} for part, norm in pieces])

    known = set(lemma_lookup) | set(lemma_lookup.values())
    for words in lemma_index.values():
        known.update(words)
    normalizer.configure(rules.normalisation, lemma_lookup, known)

    pattern_words = set()
    for rule in rules.targets:
        for pattern in rule.patterns:
            if isinstance(pattern, str):
                pattern_words.update(w.strip("()?=@#").lower() for w in pattern.replace("|", " ").split())
    for alternatives in rules.macros.values():
        for alternative in alternatives:
            pattern_words.update(w.strip("()?=").lower() for w in alternative.replace("|", " ").split())
    normalizer.add_known_words(w for w in pattern_words if w.isalpha())

    macro_cache: dict = {}
    for rule in rules.targets:
        compiled = []
        for pattern in rule.patterns:
            if isinstance(pattern, str):
                try:
                    compiled += compile_pattern(pattern, rules.macros, normalizer.lemma_of, normalizer.check_word,
                                                macro_cache)
                except PatternError as exc:
                    raise ValueError(f"{rule.source}: {exc}") from None
            else:
                # A token pattern written by hand is checked now: the Matchers are built on first use.
                try:
                    Matcher(nlp.vocab, validate=True).add(rule.id, [split_end_anchor(pattern)[0]])
                except (ValueError, KeyError) as exc:
                    raise ValueError(f"{rule.source}: spaCy rejected a pattern of {rule.id}: {exc}") from None
                compiled.append(pattern)
        matcher.add_rule(rule, compiled)
        decision.add_rule(rule)
    context.add_rules(rules.context)
    return nlp


def build_pipeline(rules_dir: Optional[Path] = None, with_reader: bool = True,
                   reader_dir: Optional[Path] = None) -> tuple:
    """Load the rules (and the learned reader) and build the pipeline: returns (nlp, rules).

    The rules are required; the learned reader is not. If its files are missing
    or broken the pipeline screens with the rules alone and says so in the log,
    rather than failing every message as a screen error.
    """
    rules = load_rules(rules_dir)
    reader = None
    if with_reader:
        from bot.safety.learned.model import MODEL_DIR, load_reader

        try:
            reader = load_reader(reader_dir or MODEL_DIR)
        except Exception:
            logger.exception("The learned reader could not be loaded; screening with the rules alone")
    return build_nlp(rules, reader), rules
