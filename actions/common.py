"""Helpers shared by the action modules."""
from __future__ import annotations

from typing import Iterable

from rasa_sdk.executor import CollectingDispatcher

from bot.crisis import Utterance


def utter_all(dispatcher: CollectingDispatcher, utterances: Iterable[Utterance]) -> None:
    """Send domain responses in order, with their template variables."""
    for utterance in utterances:
        dispatcher.utter_message(response=utterance.response, **utterance.variables)


def latest_safety(tracker) -> dict:
    """The safety assessment the NLU screen attached to the latest message."""
    return (tracker.latest_message or {}).get("safety") or {
        "level": "urgent",
        "categories": ["screen_error"],
        "findings": [],
    }
