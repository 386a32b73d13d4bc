"""Action-server start-up hooks: only Rasa may call, and spooled records are written at once.

rasa_sdk imports a top-level package of this name when the action server
starts and calls `init_hooks`; it is the SDK's only extension point.

- Every call but /health must carry the action server's key (derived from the
  installation's signing key; Rasa sends it in a header set in the runtime
  endpoints file). Without it the answer is 401: a forged call cannot read a
  patient's name, phase or safety plan, nor write a journal entry.
- Journal steps and screener answers spooled while the database was away (or
  left by a stopped server) are written at start-up, not at the first
  journaling or crisis step after it.
"""
from __future__ import annotations

import logging

import pluggy
from sanic import response

from bot.config.secret_key import signing_key
from bot.config.settings import load_settings
from bot.service.credentials import ACTION_KEY_HEADER, action_server_key, same_key

logger = logging.getLogger(__name__)
hookimpl = pluggy.HookimplMarker("rasa_sdk")


OPEN_PATHS = frozenset({"/health"})


class DrainSpoolOnStart:
    """Starts the action server's durable writer once the server is up."""

    @hookimpl
    def attach_sanic_app_extensions(self, app) -> None:
        """Register the start-up listener on the action server's Sanic app."""
        app.register_listener(_start_durable_writer, "after_server_start")


class RequireActionKey:
    """Refuses every call that does not carry the action server's key."""

    @hookimpl
    def attach_sanic_app_extensions(self, app) -> None:
        """Register the key check as the first request middleware."""
        try:
            key = action_server_key(signing_key(load_settings()))
        except Exception as exc:
            # Fail closed: an action server that cannot know its key answers no one.
            logger.error("the action server's key could not be derived (%s); refusing every call", exc)
            key = None
        app.register_middleware(_key_check(key), "request")


def _key_check(key):
    async def check(request):
        if request.path in OPEN_PATHS:
            return None
        presented = request.headers.get(ACTION_KEY_HEADER)
        if key is None or not same_key(key, presented):
            logger.warning("refused an action server call without a valid key (%s %s)",
                           request.method, request.path)
            return response.json({"error": "this action server answers only its Rasa server"},
                                 status=401)
        return None

    return check


async def _start_durable_writer(app, loop) -> None:
    from actions.common import durable_writer

    try:
        durable_writer()
    except Exception:
        # The server must still answer: the writer starts again on the first write.
        logger.exception("could not start the durable writer at start-up")


def init_hooks(manager: pluggy.PluginManager) -> None:
    """Called by rasa_sdk.plugin when the action server starts."""
    manager.register(RequireActionKey())
    manager.register(DrainSpoolOnStart())
