"""Rasa server plugins (NLU component, input channel, event broker, tracker store): thin, over bot/.

Importing any of them also gives Rasa's check of action-server responses a
validator built once (components/action_validation.py), its calls to the
action server connections that are kept open (components/action_connections.py),
and requests that carry the latest turn, not the whole session
(components/action_payload.py).
"""
from components.action_connections import install as _install_action_connections
from components.action_payload import install as _install_action_payload
from components.action_validation import install as _install_action_validation

_install_action_validation()
_install_action_connections()
_install_action_payload()
