"""Trackers built with Tracker.from_dict, as the action server receives them."""
from __future__ import annotations

import asyncio
import inspect
from pathlib import Path
from typing import Optional

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

import actions.common
import actions.journaling
from bot.safety.model import Assessment, Finding

ROOT = Path(__file__).resolve().parents[2]
# The real domain, as the action server receives it (forms and slots matter to form validation).
DOMAIN: dict = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
NONE = {"level": "none", "categories": [], "findings": []}


def make_tracker(
    sender: str = "demo-ava",
    text: str = "hi",
    intent: str = "greet",
    safety: dict | None = None,
    slots: dict | None = None,
    active_loop: str | None = None,
    entities: list | None = None,
    form: Optional[str] = None,
) -> Tracker:
    """A tracker whose latest message carries the NLU screen's assessment.

    With `form`, the events end the way Rasa sends them to a form's validation
    action: the user's message, then the form's execution.
    """
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": 1.0},
        "entities": entities or [],
        "safety": NONE if safety is None else safety,
    }
    events = [{"event": "user", "text": text, "parse_data": latest}]
    if form:
        events.append({"event": "action", "name": form})
    all_slots = {name: None for name in DOMAIN["slots"]}
    all_slots["requested_slot"] = None
    all_slots.update(slots or {})
    return Tracker.from_dict(
        {
            "sender_id": sender,
            "slots": all_slots,
            "latest_message": latest,
            "events": events,
            "paused": False,
            "followup_action": None,
            "active_loop": {"name": active_loop or form} if (active_loop or form) else {},
            "latest_action_name": "action_listen",
        }
    )


def run(action, tracker: Tracker, dispatcher: CollectingDispatcher) -> list:
    """Run an action (sync or async) as the action server would."""
    result = action.run(dispatcher, tracker, DOMAIN)
    return asyncio.run(result) if inspect.isawaitable(result) else result


def slots_of(events: list) -> dict:
    """The slot values an action's events set (the last one wins)."""
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def responses(dispatcher: CollectingDispatcher) -> list:
    """The domain responses an action sent, in order."""
    return [m.get("response") for m in dispatcher.messages]


class FakeScreen:
    """A stand-in for the safety screen: the word URGENT or REVIEW in a text sets its level."""

    def __call__(self, text):
        for word, level, category in (("URGENT", "urgent", "suicidal_ideation"), ("REVIEW", "review", "suicidal_ideation")):
            if word in (text or ""):
                finding = Finding("fake", category, level, 0, len(word), word, ())
                return Assessment(level, (category,), (finding,))
        return Assessment("none", (), ())


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    """Collects what an action says."""
    return CollectingDispatcher()


@pytest.fixture(autouse=True)
def fake_screen(monkeypatch):
    """Actions screen saved entries with FakeScreen, so tests do not depend on the rules."""
    screen = FakeScreen()
    monkeypatch.setattr(actions.common, "safe_screen", screen)
    monkeypatch.setattr(actions.journaling, "safe_screen", screen)
    return screen


@pytest.fixture(autouse=True)
def fresh_writer():
    """Each test gets its own durable writer (over its own database and spool)."""
    _stop_writer()
    yield
    _stop_writer()


def _stop_writer() -> None:
    if actions.common.durable_writer.cache_info().currsize:
        actions.common.durable_writer().stop()
    actions.common.durable_writer.cache_clear()
