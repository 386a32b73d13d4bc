"""The check Rasa makes of every action-server response, with its validator built once.

Rasa 3.6 checks each response against its schema with `jsonschema.validate`,
which checks the schema itself against the JSON Schema meta-schema on every
call before checking the response: about 20 ms of CPU each time, on the one
thread that serves every patient, and a journaling message makes three to six
such calls (the screen's slot mapping, the form's validation, its next
question). That was most of what this assistant cost per message over a bare
Rasa bot, and what capped it under load.

`install()` gives RemoteAction the same check, the same schema, the same
errors and message, with the validator compiled once (0.3 ms a call). It is
installed when Rasa imports any of our components (components/__init__.py),
and only if RemoteAction has the method it replaces.

Actions return the same few events over and over (the form's next slot, a
cleared draft), so each short event's verdict is remembered, by a digest (no
patient's words are kept): a response whose events are all valid, and whose
`responses` are objects, is valid under the schema without running the whole
schema again. Anything else takes the full check, which gives the same error
as before.
"""
from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from functools import lru_cache
from typing import Any, Dict, Text

from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for

from components.patching import replace_method

MESSAGE = (
    ". Failed to validate Action server response from API, make sure your response from the Action "
    "endpoint is valid. For more information about the format visit {docs}/custom-actions"
)


@lru_cache(maxsize=1)
def _validator() -> Any:
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)  # once, as jsonschema.validate does on every call
    return cls(schema)


@lru_cache(maxsize=1)
def _event_validator() -> Any:
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    return validator_for(schema)(schema["properties"]["events"]["items"])


# A verdict is remembered by a digest of the event, so no patient's words are kept, and
# only for short events: a long one (a journal draft) seldom comes back.
_REMEMBERED_EVENT_CHARS = 1024
_REMEMBERED_VERDICTS = 4096
_verdicts: "OrderedDict[bytes, bool]" = OrderedDict()
_verdicts_lock = threading.Lock()


def _event_is_valid(event: Any, event_json: str) -> bool:
    if len(event_json) > _REMEMBERED_EVENT_CHARS:
        return _event_validator().is_valid(event)
    digest = hashlib.blake2b(event_json.encode("utf-8"), digest_size=16).digest()
    with _verdicts_lock:
        known = _verdicts.get(digest)
    if known is None:
        known = _event_validator().is_valid(event)
        with _verdicts_lock:
            _verdicts[digest] = known
            while len(_verdicts) > _REMEMBERED_VERDICTS:
                _verdicts.popitem(last=False)
    return known


def _known_valid(result: Any) -> bool:
    """True only if `result` is certainly valid: the schema's own parts, each event checked once."""
    if not isinstance(result, dict):
        return False
    events, responses = result.get("events", []), result.get("responses", [])
    if not isinstance(events, list) or not isinstance(responses, list):
        return False
    if not all(isinstance(response, dict) for response in responses):
        return False
    for event in events:
        try:
            key = json.dumps(event, sort_keys=True, allow_nan=False)
        except (TypeError, ValueError):
            return False
        if not _event_is_valid(event, key):
            return False
    return True


def validate_action_result(self: Any, result: Dict[Text, Any]) -> bool:
    """RemoteAction._validate_action_result, with the validator built once."""
    from rasa.shared.constants import DOCS_BASE_URL

    if _known_valid(result):
        return True
    error = best_match(_validator().iter_errors(result))
    if error is not None:
        error.message += MESSAGE.format(docs=DOCS_BASE_URL)
        raise error
    return True


def install() -> bool:
    """Replace RemoteAction's check with the compiled one; False if this Rasa has no such method."""
    from rasa.core.actions.action import RemoteAction

    return replace_method(RemoteAction, "_validate_action_result", validate_action_result) is not None
