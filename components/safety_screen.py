"""NLU component: screens every message for crisis language and medical red flags.

Placed last in the pipeline. At `urgent` or above it replaces the predicted
intent with `crisis` (or `medical_red_flag`) at confidence 1.0, so the rules in
data/rules/ can route the conversation from any state, even mid-form. Every
message carries its assessment under the `safety` key of its parse data, where
actions and the turn recorder read it; a `review` message also carries the
entity `screen_review`, on which data/rules/review.yml offers grounding. A
message is also read after the sender's previous one when the channel passes
it in the metadata (`previous_text`), so a sentence typed in pieces is still
screened, and as an answer to the closed question the assistant asked before
it (`answering`; see bot/safety/answers.py). The patient channel may have had
the message screened already, in the screen's worker process
(bot/safety/worker.py); then its answer is used.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import (
    ENTITIES,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.conversation.routing import intent_for, review_entity
from bot.safety import screen
from bot.safety.answers import ANSWERING_KEY
from bot.safety.fragments import PREVIOUS_TEXT_KEY
from bot.safety.worker import assessed_reply

logger = logging.getLogger(__name__)

SAFETY_KEY = "safety"


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False
)
class SafetyScreen(GraphComponent):
    """Runs bot.safety's screen on each message and routes crises."""

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "SafetyScreen":
        """Build the screen once per process."""
        return cls()

    def __init__(self) -> None:
        screen("")  # build the process-wide screen now, not on the first message

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """The screen is rule-based: nothing to learn from training data."""
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        """Attach an assessment to each message; take over the intent in a crisis."""
        for message in messages:
            metadata = message.get("metadata") or {}
            previous = _text_or_none(metadata, PREVIOUS_TEXT_KEY)
            question = _text_or_none(metadata, ANSWERING_KEY)
            text = message.get(TEXT) or ""
            assessment = assessed_reply(screen, text, previous, question)
            message.set(SAFETY_KEY, assessment, add_to_output=True)
            entity = review_entity(assessment, text)
            if entity is not None:
                message.set(ENTITIES, [*(message.get(ENTITIES) or []), entity], add_to_output=True)
            intent = intent_for(assessment)
            if intent is None:
                continue
            predicted = {INTENT_NAME_KEY: intent, PREDICTED_CONFIDENCE_KEY: 1.0}
            message.set(INTENT, predicted, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [predicted], add_to_output=True)
            logger.info("safety screen: %s -> intent %s", assessment["level"], intent)
        return messages


def _text_or_none(metadata: Any, key: str) -> Optional[str]:
    value = metadata.get(key) if isinstance(metadata, dict) else None
    return value if isinstance(value, str) else None
