"""Which conversation path a safety assessment opens."""
from __future__ import annotations

from typing import Mapping, Optional

CRISIS_INTENT = "crisis"
MEDICAL_INTENT = "medical_red_flag"
MEDICAL_CATEGORIES = frozenset({"medical", "substance_misuse"})
PAGING_LEVELS = frozenset({"urgent", "emergency"})
# The entity a `review` message carries: data/rules/review.yml follows its normal
# reply with a grounding offer.
REVIEW_ENTITY = "screen_review"


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


def review_entity(assessment: Mapping, text: str) -> Optional[dict]:
    """The entity that marks a message the screen rated `review` (the whole text), or None.

    It is a feature of that message alone, so the next message starts clean;
    no other entity influences the conversation.
    """
    if assessment["level"] != "review":
        return None
    return {"entity": REVIEW_ENTITY, "value": "true", "start": 0, "end": len(text),
            "confidence": 1.0, "extractor": "SafetyScreen"}


# Buttons that answer with one of these intents make the assistant's message a
# closed question: the preparation checklist's Ready / Not yet. Ratings are not
# here: a questionnaire's item 9 or a distress rating is asked to find risk.
CLOSED_ANSWER_INTENTS = frozenset({"inform_readiness"})


def closed_question(reply: Mapping) -> Optional[str]:
    """The text of an assistant message that asks a closed question, else None.

    Closed: it has buttons, and every button answers with one of
    CLOSED_ANSWER_INTENTS. A greeting with buttons that offer a questionnaire
    ("how are you doing today?") is an open question, and so is a rating.
    """
    buttons = reply.get("buttons") or []
    if not buttons or not reply.get("text"):
        return None
    for button in buttons:
        payload = str(button.get("payload") or "") if isinstance(button, Mapping) else ""
        if not payload.startswith("/") or payload[1:].split("{", 1)[0] not in CLOSED_ANSWER_INTENTS:
            return None
    return str(reply["text"])
