"""Rasa's check of action-server responses, compiled once: the same verdicts and errors as
jsonschema.validate, installed whenever Rasa loads our components."""
import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction

import components  # noqa: F401  (installs the check, as Rasa's import of a component does)
from components.action_validation import validate_action_result

SPEC = RemoteAction.action_response_format_spec()
RESPONSES = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "journal_text", "value": "x", "timestamp": None}],
     "responses": [{"response": "utter_x", "text": None, "buttons": []}]},
    {"events": [{"event": "active_loop", "name": None}, {"event": "followup", "name": "action_listen"}]},
    {"events": "not a list"},
    {"events": [{"no_event_key": 1}]},
    {"responses": ["not an object"]},
    ["not", "an", "object"],
    {"events": [{"event": "slot", "name": "journal_text", "value": "x", "timestamp": "yesterday"}]},
    {"events": [{"event": "slot", "name": "journal_text", "value": "x", "timestamp": None}], "responses": None},
    {"events": [{"event": "slot", "name": "journal_text", "value": float("nan"), "timestamp": None}]},
    {"events": None},
]


@pytest.mark.parametrize("response", RESPONSES)
@pytest.mark.parametrize("calls", [1, 2])
def test_the_compiled_check_agrees_with_jsonschema_validate(response, calls):
    """The same verdict on a first sight of each event and once its verdict is remembered."""
    for _ in range(calls - 1):
        for other in RESPONSES:
            try:
                validate_action_result(None, other)
            except jsonschema.ValidationError:
                pass
    try:
        jsonschema.validate(response, SPEC)
        expected = None
    except jsonschema.ValidationError as error:
        expected = error.message
    if expected is None:
        assert validate_action_result(None, response) is True
    else:
        with pytest.raises(jsonschema.ValidationError) as caught:
            validate_action_result(None, response)
        assert caught.value.message.startswith(expected)
        assert "Failed to validate Action server response" in caught.value.message


def test_rasa_uses_it_once_our_components_are_imported():
    assert RemoteAction._validate_action_result is validate_action_result
