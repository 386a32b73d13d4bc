"""spaCy components of the safety screen, one module each.

Order in the pipeline: lemmatizer (spaCy, lookup mode) -> safety_normalizer ->
sentencizer (spaCy) -> safety_target_matcher -> safety_context -> safety_decision
-> safety_reader (the learned second reader).
Each factory makes an empty component; build_screen() then hands it its rules.
Importing this package registers the five factories.
"""
from bot.safety.components.context import SafetyContext, import_context
from bot.safety.components.decision import SafetyDecision
from bot.safety.components.matcher import TARGETS_GROUP, SafetyTargetMatcher
from bot.safety.components.normaliser import SafetyNormalizer
from bot.safety.components.reader import SafetyReader

__all__ = [
    "TARGETS_GROUP",
    "SafetyNormalizer",
    "SafetyTargetMatcher",
    "SafetyContext",
    "SafetyDecision",
    "SafetyReader",
    "import_context",
]
