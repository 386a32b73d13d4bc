"""The compact phrase syntax of target rules, compiled to spaCy Matcher patterns.

A pattern string is a sequence of tokens separated by spaces:

  word        any inflection of the word (matched on the normalised lemma:
              "want" matches want/wants/wanted/wanting, also "wnat")
  =word       exactly this normalised form (no inflections): "=took"
  (a b|c)     alternatives; each may be several tokens. "(...)?" is optional
  word?       optional single token
  @NAME       a named list of alternatives from lexicon.jsonl (e.g. @SELF)
  ~N          a gap of 0 to N tokens, none of them a negation or clause punctuation
  #NUM        a number ("3", "three")
  #MANY       three or more ("3", "six", "several")
  #LOTS       ten or more ("40", "dozens")
  #BP         a blood-pressure reading written as one token ("190/115")
  $           (last item only) the end of the sentence: the match must be followed
              by nothing, by punctuation or by a line break ("i want to be gone $"
              matches "i want to be gone." but not "i want to be gone by noon")

"|" separates whole alternatives, as in regular expressions, so use
parentheses for one-word choices: "i (want|need) to die". Each word must be a
single spaCy token: write "do not" rather than "don't" (contractions are
normalised, so "do not" also matches "don't" and "dont").
"""
from __future__ import annotations

import itertools
import re
from typing import Callable, Dict, List, Mapping, Optional, Sequence

Spec = Dict[str, object]
Alternatives = List[List[Spec]]

# Marks a compiled pattern that must end at the end of a sentence (pattern syntax "$").
# It is not a spaCy token spec: split it off with split_end_anchor() before use.
END_ANCHOR: Spec = {"_safety_end_of_sentence": True}

MAX_EXPANSION = 4000
_TOKEN = re.compile(r"\(|\)\??|\||[^\s()|]+")
_GAP = re.compile(r"^~([1-9][0-9]?)$")
_GAP_TOKEN: Spec = {
    "IS_SPACE": False,
    "NORM": {"NOT_IN": ["not", "never", "no", "nor", ".", ",", ";", ":", "!", "?", "...", "(", ")", '"', "--"]},
}
_SPECIALS: Mapping[str, Spec] = {
    "#NUM": {"LIKE_NUM": True},
    "#MANY": {
        "TEXT": {
            "REGEX": r"^(?:[3-9]|[1-9]\d+|three|four|five|six|seven|eight|nine|ten|eleven|twelve"
            r"|several|many|multiple|dozens|twenty|thirty|forty|fifty)$"
        }
    },
    "#LOTS": {
        "TEXT": {
            "REGEX": r"^(?:[1-9]\d+|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty|sixty"
            r"|hundred|dozens|loads|tons)$"
        }
    },
    "#BP": {"TEXT": {"REGEX": r"^(?:b/?p:?)?\d{2,3}/\d{2,3}$"}},
}


class PatternError(ValueError):
    """A pattern string that cannot be compiled."""


class _Parser:
    def __init__(
        self,
        text: str,
        macros: Mapping[str, Sequence[str]],
        lemma_of: Callable[[str], str],
        check_word: Callable[[str], None],
        depth: int = 0,
        cache: Optional[Dict[tuple, Alternatives]] = None,
    ):
        self.text = text
        self.tokens = _TOKEN.findall(text)
        self.pos = 0
        self.macros = macros
        self.lemma_of = lemma_of
        self.check_word = check_word
        self.depth = depth
        self.cache = cache if cache is not None else {}

    def parse(self) -> Alternatives:
        """The whole pattern as a list of token-spec sequences."""
        alts = self._alts()
        if self.pos != len(self.tokens):
            raise PatternError(f"unexpected {self.tokens[self.pos]!r} in pattern {self.text!r}")
        return alts

    def _alts(self) -> Alternatives:
        result = self._seq()
        while self.pos < len(self.tokens) and self.tokens[self.pos] == "|":
            self.pos += 1
            result = result + self._seq()
        return _dedupe(result)

    def _seq(self) -> Alternatives:
        items: List[Alternatives] = []
        while self.pos < len(self.tokens) and self.tokens[self.pos] not in ("|", ")", ")?"):
            items.append(self._item())
        if not items:
            raise PatternError(f"empty alternative in pattern {self.text!r}")
        result: Alternatives = [[]]
        for item in items:
            if len(result) * len(item) > MAX_EXPANSION:
                raise PatternError(f"pattern {self.text!r} expands to more than {MAX_EXPANSION} variants")
            result = [left + right for left, right in itertools.product(result, item)]
        return result

    def _item(self) -> Alternatives:
        token = self.tokens[self.pos]
        self.pos += 1
        if token == "(":
            inner = self._alts()
            if self.pos >= len(self.tokens) or self.tokens[self.pos] not in (")", ")?"):
                raise PatternError(f"unclosed '(' in pattern {self.text!r}")
            optional = self.tokens[self.pos] == ")?"
            self.pos += 1
            return _group(inner, optional)
        if token in (")", ")?"):
            raise PatternError(f"unbalanced ')' in pattern {self.text!r}")
        optional = len(token) > 1 and token.endswith("?")
        if optional:
            token = token[:-1]
        gap = _GAP.match(token)
        if gap:
            if optional:
                raise PatternError(f"a gap cannot be optional in pattern {self.text!r}")
            # A gap never swallows a negation: "will ~2 kill myself" must not match "won't kill myself".
            return [[{**_GAP_TOKEN, "OP": "{0,%s}" % gap.group(1)}]]
        if token.startswith("@"):
            name = token[1:]
            if name not in self.macros:
                raise PatternError(f"unknown lexicon entry @{name} in pattern {self.text!r}")
            if self.depth > 5:
                raise PatternError(f"lexicon entries nest too deeply at @{name}")
            # A lexicon entry compiles the same way wherever it is used: once per build.
            key = (name, optional, self.depth)
            if key not in self.cache:
                alts: Alternatives = []
                for alternative in self.macros[name]:
                    alts += _Parser(
                        alternative, self.macros, self.lemma_of, self.check_word, self.depth + 1, self.cache
                    ).parse()
                self.cache[key] = _group(_dedupe(alts), optional)
            return self.cache[key]
        if token in _SPECIALS:
            spec = dict(_SPECIALS[token])
        elif token.startswith("="):
            word = token[1:].lower()
            if not word:
                raise PatternError(f"empty '=' word in pattern {self.text!r}")
            self._check(word)
            spec = {"NORM": word}
        elif token.startswith("#"):
            raise PatternError(f"unknown class {token!r} in pattern {self.text!r}")
        else:
            word = token.lower()
            self._check(word)
            spec = {"LEMMA": self.lemma_of(word)}
        if optional:
            spec["OP"] = "?"
        return [[spec]]

    def _check(self, word: str) -> None:
        try:
            self.check_word(word)
        except ValueError as exc:
            raise PatternError(f"{exc} (in pattern {self.text!r})") from None


def _dedupe(alts: Alternatives) -> Alternatives:
    seen = set()
    result = []
    for seq in alts:
        key = repr(seq)
        if key not in seen:
            seen.add(key)
            result.append(seq)
    return result


def _values(spec: Spec, attr: str) -> List[str]:
    value = spec[attr]
    if isinstance(value, dict):
        return list(value["IN"])
    return [value]


def _mergeable(spec: Spec) -> bool:
    keys = set(spec) - {"OP"}
    return len(keys) == 1 and next(iter(keys)) in ("LEMMA", "NORM")


def _merge_specs(a: Spec, b: Spec) -> Spec:
    attr = next(k for k in a if k != "OP")
    values: List[str] = []
    for value in _values(a, attr) + _values(b, attr):
        if value not in values:
            values.append(value)
    merged: Spec = {attr: {"IN": values} if len(values) > 1 else values[0]}
    if "OP" in a:
        merged["OP"] = a["OP"]
    return merged


def _compact(alts: Alternatives) -> Alternatives:
    """Merge alternatives that differ in one token ("want to|need to" -> one pattern).

    This keeps the number of Matcher patterns small: fewer patterns load faster
    and match faster.
    """
    alts = [list(seq) for seq in alts]
    changed = True
    while changed:
        changed = False
        for i in range(len(alts)):
            for j in range(i + 1, len(alts)):
                a, b = alts[i], alts[j]
                if len(a) != len(b):
                    continue
                diff = [k for k in range(len(a)) if a[k] != b[k]]
                if len(diff) != 1:
                    continue
                k = diff[0]
                x, y = a[k], b[k]
                if not (_mergeable(x) and _mergeable(y)) or x.get("OP") != y.get("OP"):
                    continue
                if next(k2 for k2 in x if k2 != "OP") != next(k2 for k2 in y if k2 != "OP"):
                    continue
                alts[i] = a[:k] + [_merge_specs(x, y)] + a[k + 1 :]
                del alts[j]
                changed = True
                break
            if changed:
                break
    return alts


def _group(alts: Alternatives, optional: bool) -> Alternatives:
    """Compact a group's alternatives; an optional group also matches nothing."""
    alts = _compact(alts)
    if optional:
        if len(alts) == 1 and len(alts[0]) == 1 and "OP" not in alts[0][0]:
            spec = dict(alts[0][0])
            spec["OP"] = "?"
            return [[spec]]
        return alts + [[]]
    return alts


def split_end_anchor(pattern: List[Spec]) -> "tuple[List[Spec], bool]":
    """(token specs, whether the pattern must end at the end of a sentence)."""
    if pattern and pattern[-1] == END_ANCHOR:
        return pattern[:-1], True
    return pattern, False


def compile_pattern(
    text: str,
    macros: Mapping[str, Sequence[str]],
    lemma_of: Callable[[str], str],
    check_word: Callable[[str], None],
    cache: Optional[Dict[tuple, Alternatives]] = None,
) -> List[List[Spec]]:
    """Compile one pattern string to a list of spaCy Matcher token patterns.

    A pattern written with a final "$" compiles to patterns ending in END_ANCHOR.
    `cache` (a dict kept for one set of macros, lemma_of and check_word) holds
    each lexicon entry's compiled alternatives, so it is compiled once, not at
    every use. The token specs it holds are shared and must not be changed.
    """
    stripped = text.rstrip()
    if stripped.endswith(" $") or stripped == "$":
        body = stripped[:-1].rstrip()
        if not body:
            raise PatternError(f"pattern {text!r} has nothing before '$'")
        if "$" in body:
            raise PatternError(f"'$' may only end pattern {text!r}")
        return [seq + [dict(END_ANCHOR)] for seq in compile_pattern(body, macros, lemma_of, check_word, cache)]
    if "$" in text:
        # Inside a group ("(go|leave $)") it would be a literal dollar sign, never the end.
        raise PatternError(f"'$' may only end pattern {text!r}")
    sequences = _Parser(text, macros, lemma_of, check_word, cache=cache).parse()
    result = []
    for seq in sequences:
        if not seq or all(spec.get("OP") in ("?",) or str(spec.get("OP", "")).startswith("{0,") for spec in seq):
            raise PatternError(f"pattern {text!r} can match nothing at all")
        # A pattern must not start or end with an optional gap: it would only widen the span.
        while seq and str(seq[0].get("OP", "")).startswith("{0,"):
            seq = seq[1:]
        while seq and str(seq[-1].get("OP", "")).startswith("{0,"):
            seq = seq[:-1]
        result.append(seq)
    return _dedupe(result)
