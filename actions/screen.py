"""Remembers whether the latest message was rated `review` by the safety screen."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import latest_level


class ActionTrackScreen(Action):
    """Fills screen_review after every message (a custom slot mapping in the domain)."""

    def name(self) -> Text:
        return "action_track_screen"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        if latest_level(tracker) == "review":
            return [SlotSet("screen_review", True)]
        if tracker.get_slot("screen_review"):
            return [SlotSet("screen_review", None)]
        return []
