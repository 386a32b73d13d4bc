"""Action-server start-up hook: spooled records are written as soon as it starts.

rasa_sdk imports a top-level package of this name when the action server
starts and calls `init_hooks`; it is the SDK's only start-up hook. Journal
steps and screener answers spooled while the database was away (or left by a
stopped server) are then written at start-up, not at the first journaling or
crisis step after it.
"""
from __future__ import annotations

import logging

import pluggy

logger = logging.getLogger(__name__)
hookimpl = pluggy.HookimplMarker("rasa_sdk")


class DrainSpoolOnStart:
    """Starts the action server's durable writer once the server is up."""

    @hookimpl
    def attach_sanic_app_extensions(self, app) -> None:
        """Register the start-up listener on the action server's Sanic app."""
        app.register_listener(_start_durable_writer, "after_server_start")


async def _start_durable_writer(app, loop) -> None:
    from actions.common import durable_writer

    try:
        durable_writer()
    except Exception:
        # The server must still answer: the writer starts again on the first write.
        logger.exception("could not start the durable writer at start-up")


def init_hooks(manager: pluggy.PluginManager) -> None:
    """Called by rasa_sdk.plugin when the action server starts."""
    manager.register(DrainSpoolOnStart())
