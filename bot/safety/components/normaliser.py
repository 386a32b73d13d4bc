"""The normaliser: token norms and lemmas that survive text-speak, typos and censored spellings."""
# No "from __future__ import annotations" here: spaCy reads the factory signatures at runtime.
import itertools
import re
from typing import Dict, Iterable, Mapping, Optional, Sequence, Set, Tuple

from spacy.language import Language
from spacy.tokens import Doc

from bot.safety.rules import Normalisation

_STRETCH = re.compile(r"(\w)\1{2,}")
# Self-censored spellings: "k1ll", "su!cide", "h@rm" (characters standing for letters) and
# "s*icide", "k**l" (asterisks hiding letters).
_LEET = str.maketrans({"1": "i", "!": "i", "3": "e", "0": "o", "4": "a", "@": "a", "$": "s", "5": "s", "7": "t"})
_MASK_CHARS = frozenset("*!@$0134578")
_MASKED_WORD = re.compile(r"^[a-z*!@$0-9]*[a-z][a-z*!@$0-9]*$")


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

