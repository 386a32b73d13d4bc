"""What Rasa sends the action server with each call: the latest turn, not the whole session.

Rasa 3.6 sends every event of the tracker with every call (some 60 to 80 events
here, each user message with its full parse data) and, to the form validations,
the whole domain with every response's text: 25 to 60 kB of JSON a call, built
and encoded on the one thread that serves every patient, several calls per
message. Nothing on the action server reads them: our actions read the slots,
the latest message and the active form, and Rasa SDK's form validation reads
the slots set at the end of the events and the domain's forms and slots.

`install()` makes RemoteAction send the same request with two things left
out: the events before the latest turn (what is sent starts at the
`action_listen` before the latest user message) and the domain's `responses`.
The slots, latest message, active form and everything else are Rasa's own.
Installed when Rasa imports any of our components (components/__init__.py),
and only if RemoteAction has the method it replaces.
"""
from __future__ import annotations

from typing import Any, Dict, Iterable, List, Text

from components.patching import replace_method

_LEFT_OUT_OF_DOMAIN = ("responses",)
_rasa_action_call_format = None


def latest_turn(events: Iterable[Any]) -> List[Any]:
    """The events from the `action_listen` before the latest user message on (all of them if there is none)."""
    from components.tracker_store import latest_turn_start

    events = list(events)
    start = latest_turn_start(events)
    return events if start is None else events[start:]


def action_call_format(self: Any, tracker: Any, domain: Any) -> Dict[Text, Any]:
    """RemoteAction._action_call_format, with the latest turn's events and no response texts."""
    import rasa
    from rasa.shared.core.trackers import EventVerbosity

    state = tracker.current_state(EventVerbosity.NONE)
    state["events"] = [event.as_dict() for event in latest_turn(tracker.events)]
    result = {"next_action": self._name, "sender_id": tracker.sender_id, "tracker": state,
              "version": rasa.__version__}
    if not self._is_selective_domain_enabled() or domain.does_custom_action_explicitly_need_domain(self.name()):
        result["domain"] = {key: value for key, value in domain.as_dict().items() if key not in _LEFT_OUT_OF_DOMAIN}
    return result


def install() -> bool:
    """Replace RemoteAction._action_call_format; False if this Rasa has no such method."""
    global _rasa_action_call_format
    from rasa.core.actions.action import RemoteAction

    _rasa_action_call_format = replace_method(RemoteAction, "_action_call_format", action_call_format)
    return _rasa_action_call_format is not None
