"""Loading and schema checks for the screen's rule files (bot/safety/rules/).

Every file is JSON Lines: one record per line. Blank lines and lines starting
with "#" are ignored, so rules can be grouped under comment headings. Any
problem raises ValueError naming the file, the line and what is wrong.

Files in a rules directory:
  VERSION             the rule set's version, one line
  targets_*.jsonl     target rules: what to flag, its category and level
  context.jsonl       ConText modifier rules (negation, history, hypotheticals...)
  lexicon.jsonl       named alternatives (@SELF, @DIE...) usable in target patterns
  normalise.jsonl     spelling fixes, fuzzy-matched key terms, lemma overrides, masked (censored) key terms,
                      text-speak split into two tokens
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional, Tuple

from bot.safety.model import CATEGORIES, LEVELS

DEFAULT_RULES_DIR = Path(__file__).resolve().parent / "rules"

# Context categories that can lower a finding's level, and the default cap each applies.
MODIFYING_CONTEXT = {
    "NEGATED_EXISTENCE": "none",
    "HISTORICAL": "review",
    "HYPOTHETICAL": "review",
    "OTHER_PERSON": "review",
    "EXPERIENCE": "review",
    "PEACEFUL": "review",
    # Suicide or self-harm as a topic (news, research, a course, a song): caps nothing unless a
    # rule says so in its own `caps` (the bare mentions drop to none).
    "TOPIC": None,
}
# Context categories that adjust or bound the ones above rather than cap a level on their own
# (see bot/safety/README.md).
STEERING_CONTEXT = (
    "CURRENT", "CURRENT_WISH", "RECENT", "SINCE_RECENT", "RESOLVED", "UNABLE", "AMBIVALENCE", "DIVIDED", "FIRST_PERSON",
    "CLAUSE_BREAK", "TERMINATE", "PSEUDO", "PASSED", "SESSION",
)
# A steering category a rule may still cap on: a past date ("two months ago") on an act the rule
# reads as under way ("i took an overdose").
CAPPABLE_STEERING = ("RECENT",)
PARTNER_CONTEXTS = ("current", "any")
CONTEXT_CATEGORIES = tuple(MODIFYING_CONTEXT) + STEERING_CONTEXT
DIRECTIONS = ("FORWARD", "BACKWARD", "BIDIRECTIONAL", "TERMINATE", "PSEUDO")

RULE_ID = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
MACRO_ID = re.compile(r"^[A-Z][A-Z0-9_]*$")
TARGET_CATEGORIES = tuple(c for c in CATEGORIES if c != "screen_error")


@dataclass(frozen=True)
class Source:
    """Where a record came from, for error messages."""

    path: Path
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class TargetRule:
    """A phrase family to flag. Level "none" marks an exclusion (an idiom that hides matches)."""

    id: str
    category: str
    level: str
    patterns: Tuple[Any, ...]
    fire: Tuple[str, ...]
    near_miss: Tuple[str, ...]
    source: Source
    description: str = ""
    caps: Mapping[str, Optional[str]] = field(default_factory=dict)
    escalate_with: Optional[Mapping[str, Any]] = None
    bp_threshold: Optional[Mapping[str, int]] = None
    partner_only: bool = False
    current_level: Optional[str] = None

    @property
    def is_exclusion(self) -> bool:
        """True for idiom/exclusion rules, which hide overlapping matches and flag nothing."""
        return self.level == "none"


@dataclass(frozen=True)
class ContextRule:
    """A ConText modifier rule (medspaCy keys plus id and examples)."""

    id: str
    literal: str
    category: str
    direction: str
    source: Source
    pattern: Optional[List[Dict[str, Any]]] = None
    max_scope: Optional[int] = None
    max_targets: Optional[int] = None
    allowed_types: Optional[Tuple[str, ...]] = None
    excluded_types: Optional[Tuple[str, ...]] = None
    followed_by: Optional[Tuple[str, ...]] = None
    fire: Tuple[str, ...] = ()
    near_miss: Tuple[str, ...] = ()


@dataclass(frozen=True)
class Normalisation:
    """Token normalisation data: spelling map, fuzzy key terms, known words, lemma overrides, masked terms."""

    spelling: Mapping[str, str]
    fuzzy_terms: Tuple[str, ...]
    known_words: Tuple[str, ...]
    lemma_overrides: Mapping[str, str]
    masked_terms: Tuple[str, ...] = ()
    splits: Mapping[str, Tuple[Tuple[str, str], ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class RuleSet:
    """Everything loaded from one rules directory."""

    version: str
    targets: Tuple[TargetRule, ...]
    context: Tuple[ContextRule, ...]
    macros: Mapping[str, Tuple[str, ...]]
    normalisation: Normalisation
    directory: Path

    def target(self, rule_id: str) -> TargetRule:
        """The target rule with this id."""
        for rule in self.targets:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)


def _records(path: Path) -> Iterator[Tuple[Source, dict]]:
    """Yield (source, record) for each JSON object line of a JSONL file."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot read rule file ({exc})") from exc
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        source = Source(path, number)
        try:
            record = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{source}: not valid JSON ({exc.msg})") from exc
        if not isinstance(record, dict):
            raise ValueError(f"{source}: each line must be a JSON object")
        yield source, record


def _check_keys(source: Source, record: dict, required: set, optional: set) -> None:
    unknown = sorted(set(record) - required - optional)
    if unknown:
        raise ValueError(f"{source}: unknown key(s) {', '.join(unknown)}")
    missing = sorted(required - set(record))
    if missing:
        raise ValueError(f"{source}: missing key(s) {', '.join(missing)}")


def _string_list(source: Source, value: Any, what: str, allow_empty: bool = False) -> Tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError(f"{source}: {what} must be a list of non-empty strings")
    if not value and not allow_empty:
        raise ValueError(f"{source}: {what} must not be empty")
    return tuple(value)


def _examples(source: Source, value: Any, near_miss_required: bool) -> Tuple[Tuple[str, ...], Tuple[str, ...]]:
    if not isinstance(value, dict):
        raise ValueError(f"{source}: examples must be an object with 'fire' and 'near_miss'")
    required = {"fire", "near_miss"} if near_miss_required else {"fire"}
    _check_keys(source, value, required, {"fire", "near_miss"})
    fire = _string_list(source, value["fire"], "examples.fire")
    near = _string_list(
        source, value.get("near_miss", []), "examples.near_miss", allow_empty=not near_miss_required
    )
    return fire, near


def _level(source: Source, value: Any, what: str = "level") -> str:
    if value not in LEVELS:
        raise ValueError(f"{source}: bad {what} {value!r} (expected one of {', '.join(LEVELS)})")
    return value


def _pattern(source: Source, value: Any) -> Any:
    if isinstance(value, str) and value.strip():
        return value
    if isinstance(value, list) and value and all(isinstance(t, dict) and t for t in value):
        return value
    raise ValueError(
        f"{source}: each pattern must be a non-empty pattern string or a list of spaCy token objects"
    )


_TARGET_REQUIRED = {"id", "category", "level", "patterns", "examples"}
_TARGET_OPTIONAL = {"description", "caps", "escalate_with", "bp_threshold", "partner_only", "current_level"}


def parse_target(source: Source, record: dict) -> TargetRule:
    """Validate one target-rule record."""
    _check_keys(source, record, _TARGET_REQUIRED, _TARGET_OPTIONAL)
    rule_id = record["id"]
    if not isinstance(rule_id, str) or not RULE_ID.match(rule_id):
        raise ValueError(f"{source}: bad id {rule_id!r} (expected dotted lower-case, e.g. si.passive.wish_dead)")
    category = record["category"]
    if category not in TARGET_CATEGORIES:
        raise ValueError(
            f"{source}: bad category {category!r} (expected one of {', '.join(TARGET_CATEGORIES)})"
        )
    level = _level(source, record["level"])
    patterns = record["patterns"]
    if not isinstance(patterns, list) or not patterns:
        raise ValueError(f"{source}: patterns must be a non-empty list")
    patterns = tuple(_pattern(source, p) for p in patterns)
    fire, near = _examples(source, record["examples"], near_miss_required=True)
    description = record.get("description", "")
    if not isinstance(description, str):
        raise ValueError(f"{source}: description must be a string")

    caps = record.get("caps", {})
    if not isinstance(caps, dict):
        raise ValueError(f"{source}: caps must be an object")
    for context_category, cap in caps.items():
        if context_category not in MODIFYING_CONTEXT and context_category not in CAPPABLE_STEERING:
            raise ValueError(
                f"{source}: caps has unknown context category {context_category!r} "
                f"(expected one of {', '.join((*MODIFYING_CONTEXT, *CAPPABLE_STEERING))})"
            )
        if cap is not None:
            _level(source, cap, "caps level")

    escalate = record.get("escalate_with")
    if escalate is not None:
        if not isinstance(escalate, dict):
            raise ValueError(f"{source}: escalate_with must be an object")
        _check_keys(source, escalate, {"rules", "level"}, {"partner_level", "partner_context", "partner_same_rule", "except"})
        _string_list(source, escalate["rules"], "escalate_with.rules")
        _level(source, escalate["level"], "escalate_with.level")
        if "partner_level" in escalate:
            _level(source, escalate["partner_level"], "escalate_with.partner_level")
        if escalate.get("partner_context", "current") not in PARTNER_CONTEXTS:
            raise ValueError(
                f"{source}: bad escalate_with.partner_context {escalate['partner_context']!r} "
                f"(expected one of {', '.join(PARTNER_CONTEXTS)})"
            )
        if "except" in escalate:
            _string_list(source, escalate["except"], "escalate_with.except")
        if not isinstance(escalate.get("partner_same_rule", False), bool):
            raise ValueError(f"{source}: escalate_with.partner_same_rule must be true or false")

    bp = record.get("bp_threshold")
    if bp is not None:
        if not isinstance(bp, dict):
            raise ValueError(f"{source}: bp_threshold must be an object")
        _check_keys(source, bp, {"systolic", "diastolic"}, set())
        if not all(isinstance(v, int) and 0 < v < 400 for v in bp.values()):
            raise ValueError(f"{source}: bp_threshold values must be whole numbers (mmHg)")

    if level == "none" and (caps or escalate or bp):
        raise ValueError(f"{source}: an exclusion rule (level none) takes no caps, escalate_with or bp_threshold")
    partner_only = record.get("partner_only", False)
    if not isinstance(partner_only, bool):
        raise ValueError(f"{source}: partner_only must be true or false")
    if partner_only and (level != "review" or escalate or bp):
        raise ValueError(f"{source}: a partner_only rule has level review and no escalate_with or bp_threshold")
    current_level = record.get("current_level")
    if current_level is not None:
        _level(source, current_level, "current_level")
        if level == "none" or partner_only or LEVELS.index(current_level) <= LEVELS.index(level):
            raise ValueError(
                f"{source}: current_level must be above the rule's level, on a rule that is reported"
            )
    return TargetRule(
        id=rule_id,
        category=category,
        level=level,
        patterns=patterns,
        fire=fire,
        near_miss=near,
        source=source,
        description=description,
        caps=caps,
        escalate_with=escalate,
        bp_threshold=bp,
        partner_only=partner_only,
        current_level=current_level,
    )


_CONTEXT_REQUIRED = {"id", "literal", "category", "direction", "examples"}
_CONTEXT_OPTIONAL = {"pattern", "max_scope", "max_targets", "allowed_types", "excluded_types", "followed_by"}


def parse_context(source: Source, record: dict) -> ContextRule:
    """Validate one ConText rule record."""
    _check_keys(source, record, _CONTEXT_REQUIRED, _CONTEXT_OPTIONAL)
    rule_id = record["id"]
    if not isinstance(rule_id, str) or not RULE_ID.match(rule_id):
        raise ValueError(f"{source}: bad id {rule_id!r} (expected dotted lower-case, e.g. ctx.neg.not)")
    literal = record["literal"]
    if not isinstance(literal, str) or not literal.strip():
        raise ValueError(f"{source}: literal must be a non-empty string")
    category = record["category"]
    if category not in CONTEXT_CATEGORIES:
        raise ValueError(
            f"{source}: bad category {category!r} (expected one of {', '.join(CONTEXT_CATEGORIES)})"
        )
    direction = record["direction"]
    if direction not in DIRECTIONS:
        raise ValueError(f"{source}: bad direction {direction!r} (expected one of {', '.join(DIRECTIONS)})")
    pattern = record.get("pattern")
    if pattern is not None and not (
        isinstance(pattern, list) and pattern and all(isinstance(t, dict) and t for t in pattern)
    ):
        raise ValueError(f"{source}: pattern must be a list of spaCy token objects")
    for key in ("max_scope", "max_targets"):
        value = record.get(key)
        if value is not None and not (isinstance(value, int) and value > 0):
            raise ValueError(f"{source}: {key} must be a positive whole number")
    if "allowed_types" in record and "excluded_types" in record:
        raise ValueError(f"{source}: use allowed_types or excluded_types, not both")
    allowed = record.get("allowed_types")
    excluded = record.get("excluded_types")
    followed_by = record.get("followed_by")
    if followed_by is not None:
        followed_by = tuple(w.lower() for w in _string_list(source, followed_by, "followed_by"))
    fire, near = _examples(source, record["examples"], near_miss_required=False)
    return ContextRule(
        id=rule_id,
        literal=literal,
        category=category,
        direction=direction,
        source=source,
        pattern=pattern,
        max_scope=record.get("max_scope"),
        max_targets=record.get("max_targets"),
        allowed_types=_string_list(source, allowed, "allowed_types") if allowed is not None else None,
        excluded_types=_string_list(source, excluded, "excluded_types") if excluded is not None else None,
        followed_by=followed_by,
        fire=fire,
        near_miss=near,
    )


def load_lexicon(rules_dir: Optional[Path] = None) -> Dict[str, Tuple[str, ...]]:
    """The named alternatives of lexicon.jsonl alone (default: the packaged rules), checked."""
    directory = Path(rules_dir) if rules_dir is not None else DEFAULT_RULES_DIR
    return _load_lexicon(directory / "lexicon.jsonl")


def _load_lexicon(path: Path) -> Dict[str, Tuple[str, ...]]:
    macros: Dict[str, Tuple[str, ...]] = {}
    seen: Dict[str, Source] = {}
    for source, record in _records(path):
        _check_keys(source, record, {"id", "alternatives"}, {"description"})
        name = record["id"]
        if not isinstance(name, str) or not MACRO_ID.match(name):
            raise ValueError(f"{source}: bad id {name!r} (expected upper case, e.g. SELF)")
        if name in seen:
            raise ValueError(f"{source}: duplicate id {name!r} (first defined at {seen[name]})")
        seen[name] = source
        macros[name] = _string_list(source, record["alternatives"], "alternatives")
    return macros


def _load_normalisation(path: Path) -> Normalisation:
    spelling: Dict[str, str] = {}
    lemma: Dict[str, str] = {}
    fuzzy: List[str] = []
    known: List[str] = []
    masked: List[str] = []
    splits: Dict[str, Tuple[Tuple[str, str], ...]] = {}
    for source, record in _records(path):
        kind = record.get("kind")
        if kind in ("spelling", "lemma"):
            _check_keys(source, record, {"kind", "from", "to"}, {"description"})
            if not all(isinstance(record[k], str) and record[k].strip() for k in ("from", "to")):
                raise ValueError(f"{source}: 'from' and 'to' must be non-empty strings")
            table = spelling if kind == "spelling" else lemma
            key = record["from"].lower()
            if key in table:
                raise ValueError(f"{source}: duplicate {kind} entry {key!r}")
            table[key] = record["to"].lower()
        elif kind == "fuzzy":
            _check_keys(source, record, {"kind", "terms"}, {"description"})
            fuzzy.extend(t.lower() for t in _string_list(source, record["terms"], "terms"))
        elif kind == "known":
            _check_keys(source, record, {"kind", "words"}, {"description"})
            known.extend(w.lower() for w in _string_list(source, record["words"], "words"))
        elif kind == "masked":
            _check_keys(source, record, {"kind", "terms"}, {"description"})
            terms = _string_list(source, record["terms"], "terms")
            if not all(t.isalpha() for t in terms):
                raise ValueError(f"{source}: masked terms must be single words of letters")
            masked.extend(t.lower() for t in terms)
        elif kind == "split":
            _check_keys(source, record, {"kind", "from", "parts", "norms"}, {"description"})
            word = record["from"]
            parts = _string_list(source, record["parts"], "parts")
            norms = _string_list(source, record["norms"], "norms")
            if not isinstance(word, str) or word != word.lower() or "".join(parts) != word:
                raise ValueError(f"{source}: split parts must spell 'from' exactly, in lower case")
            if len(parts) < 2 or len(parts) != len(norms):
                raise ValueError(f"{source}: a split needs two or more parts and one norm per part")
            if word in splits:
                raise ValueError(f"{source}: duplicate split entry {word!r}")
            splits[word] = tuple(zip(parts, (n.lower() for n in norms)))
        else:
            raise ValueError(
                f"{source}: bad kind {kind!r} (expected spelling, lemma, fuzzy, known, masked or split)"
            )
    return Normalisation(
        spelling=spelling,
        fuzzy_terms=tuple(fuzzy),
        known_words=tuple(known),
        lemma_overrides=lemma,
        masked_terms=tuple(masked),
        splits=splits,
    )


def load_rules(rules_dir: Optional[Path] = None) -> RuleSet:
    """Load and check every rule file in `rules_dir` (default: the packaged rules)."""
    directory = Path(rules_dir) if rules_dir is not None else DEFAULT_RULES_DIR
    if not directory.is_dir():
        raise ValueError(f"{directory}: rules directory not found")
    version_file = directory / "VERSION"
    if not version_file.is_file() or not version_file.read_text(encoding="utf-8").strip():
        raise ValueError(f"{version_file}: missing or empty VERSION file")
    version = version_file.read_text(encoding="utf-8").strip()

    target_files = sorted(directory.glob("targets_*.jsonl"))
    if not target_files:
        raise ValueError(f"{directory}: no targets_*.jsonl files")
    targets: List[TargetRule] = []
    seen: Dict[str, Source] = {}
    for path in target_files:
        for source, record in _records(path):
            rule = parse_target(source, record)
            if rule.id in seen:
                raise ValueError(f"{source}: duplicate id {rule.id!r} (first defined at {seen[rule.id]})")
            seen[rule.id] = source
            targets.append(rule)

    context: List[ContextRule] = []
    context_seen: Dict[str, Source] = {}
    context_file = directory / "context.jsonl"
    if context_file.is_file():
        for source, record in _records(context_file):
            rule = parse_context(source, record)
            if rule.id in context_seen or rule.id in seen:
                first = context_seen.get(rule.id) or seen[rule.id]
                raise ValueError(f"{source}: duplicate id {rule.id!r} (first defined at {first})")
            context_seen[rule.id] = source
            for label in (rule.allowed_types or ()) + (rule.excluded_types or ()):
                if label not in seen:
                    raise ValueError(f"{source}: allowed/excluded type {label!r} is not a target rule id")
            context.append(rule)

    lexicon_file = directory / "lexicon.jsonl"
    macros = _load_lexicon(lexicon_file) if lexicon_file.is_file() else {}
    normalise_file = directory / "normalise.jsonl"
    normalisation = (
        _load_normalisation(normalise_file)
        if normalise_file.is_file()
        else Normalisation(spelling={}, fuzzy_terms=(), known_words=(), lemma_overrides={})
    )

    for rule in targets:
        if rule.escalate_with:
            for prefix in list(rule.escalate_with["rules"]) + list(rule.escalate_with.get("except", ())):
                if not any(other.id.startswith(prefix) for other in targets):
                    raise ValueError(f"{rule.source}: escalate_with names {prefix!r}, which matches no rule id")
        for pattern in rule.patterns:
            if isinstance(pattern, str):
                for name in re.findall(r"@([A-Za-z0-9_]+)", pattern):
                    if name not in macros:
                        raise ValueError(f"{rule.source}: pattern uses unknown lexicon entry @{name}")
    return RuleSet(
        version=version,
        targets=tuple(targets),
        context=tuple(context),
        macros=macros,
        normalisation=normalisation,
        directory=directory,
    )
