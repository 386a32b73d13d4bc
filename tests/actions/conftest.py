"""Trackers built with Tracker.from_dict, as the action server receives them."""
from __future__ import annotations

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

DOMAIN: dict = {}


def make_tracker(
    sender: str = "demo-ava",
    text: str = "hi",
    intent: str = "greet",
    safety: dict | None = None,
    slots: dict | None = None,
    active_loop: str | None = None,
) -> Tracker:
    """A tracker whose latest message carries the NLU screen's assessment."""
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": 1.0},
        "entities": [],
        "safety": safety or {"level": "none", "categories": [], "findings": []},
    }
    return Tracker.from_dict(
        {
            "sender_id": sender,
            "slots": {
                "journal_text": None,
                "journal_entry_id": None,
                "journal_prompt_id": None,
                "crisis_resource_set": None,
                "requested_slot": None,
                **(slots or {}),
            },
            "latest_message": latest,
            "events": [{"event": "user", "text": text, "parse_data": latest}],
            "paused": False,
            "followup_action": None,
            "active_loop": {"name": active_loop} if active_loop else {},
            "latest_action_name": "action_listen",
        }
    )


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    """Collects what an action says."""
    return CollectingDispatcher()
