"""A call to the action server carries Rasa's own request, less the events before the latest turn
and the domain's response texts."""
from pathlib import Path

from rasa.core.actions.action import RemoteAction
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActiveLoop, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

import components  # noqa: F401  (installs the request format, as Rasa's import of a component does)
from components import action_payload

DOMAIN = Domain.load(str(Path(__file__).resolve().parents[2] / "domain.yml"))


def _tracker():
    tracker = DialogueStateTracker("patient-1", DOMAIN.slots)
    for event in [
        ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen"),
        UserUttered("hi", {"name": "greet", "confidence": 1.0}), ActionExecuted("utter_greet"),
        BotUttered("hello"), ActionExecuted("action_listen"),
        UserUttered("i want to journal", {"name": "start_journal", "confidence": 1.0}),
        ActionExecuted("journal_form"), ActiveLoop("journal_form"), SlotSet("requested_slot", "journal_text"),
    ]:
        tracker.update(event)
    return tracker


def _both(action_name):
    # As in endpoints.yml: only the actions that ask for the domain get it.
    action = RemoteAction(action_name, EndpointConfig("http://127.0.0.1:9/webhook", enable_selective_domain=True))
    tracker = _tracker()
    return action._action_call_format(tracker, DOMAIN), action_payload._rasa_action_call_format(action, tracker, DOMAIN)


def test_the_request_is_rasas_own_with_the_latest_turns_events():
    ours, rasas = _both("action_write_journal")
    assert RemoteAction._action_call_format is action_payload.action_call_format
    assert {k: v for k, v in ours["tracker"].items() if k != "events"} == \
        {k: v for k, v in rasas["tracker"].items() if k != "events"}
    assert ours["tracker"]["events"] == rasas["tracker"]["events"][6:]  # from the action_listen before the message
    assert [e["event"] for e in ours["tracker"]["events"]] == ["action", "user", "action", "active_loop", "slot"]
    assert {k: v for k, v in ours.items() if k not in ("tracker", "domain")} == \
        {k: v for k, v in rasas.items() if k not in ("tracker", "domain")}


def test_a_form_validation_gets_the_domain_without_the_response_texts():
    ours, rasas = _both("validate_journal_form")
    assert "responses" in rasas["domain"] and "responses" not in ours["domain"]
    assert "domain" not in _both("action_greet")[0]
    assert ours["domain"] == {k: v for k, v in rasas["domain"].items() if k != "responses"}
    assert ours["domain"]["forms"]["journal_form"] == rasas["domain"]["forms"]["journal_form"]


def test_a_tracker_with_no_message_yet_sends_every_event():
    tracker = DialogueStateTracker("patient-2", DOMAIN.slots)
    tracker.update(ActionExecuted("action_session_start"))
    tracker.update(SessionStarted())
    assert action_payload.latest_turn(tracker.events) == list(tracker.events)
