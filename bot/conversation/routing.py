"""Which conversation path a safety assessment opens."""
from __future__ import annotations

from typing import Mapping, Optional

CRISIS_INTENT = "crisis"
MEDICAL_INTENT = "medical_red_flag"
MEDICAL_CATEGORIES = frozenset({"medical", "substance_misuse"})
PAGING_LEVELS = frozenset({"urgent", "emergency"})


def intent_for(assessment: Mapping) -> Optional[str]:
    """The intent that takes over the conversation, or None to carry on.

    Any crisis category (or a screen error) opens the crisis protocol; medical
    and substance-use red flags alone open the medical protocol, which does
    not treat the patient as suicidal.
    """
    if assessment["level"] not in PAGING_LEVELS:
        return None
    categories = set(assessment["categories"])
    if categories and categories <= MEDICAL_CATEGORIES:
        return MEDICAL_INTENT
    return CRISIS_INTENT
