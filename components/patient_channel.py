"""The REST channel for enrolled patients, at /webhooks/rest/webhook.

It replaces Rasa's built-in `rest` channel (same URL and reply format) and adds
what a clinic needs in front of the assistant: request validation with clear
400/413 answers, a polite refusal for senders who are not enrolled (their
message is stored nowhere), and no message text in the logs.
"""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any, Awaitable, Callable, Optional, Text

import yaml
from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.chat_gate import RejectedRequest, is_enrolled, parse_webhook_body
from bot.settings import REPO_ROOT, load_settings
from bot.storage.db import make_engine, make_session_factory

logger = logging.getLogger(__name__)

# If the database cannot answer quickly, the patient is served anyway:
# a crisis message must never wait on an enrollment lookup.
ENROLLMENT_LOOKUP_SECONDS = 2.0


class PatientRestInput(InputChannel):
    """REST webhook for patients: POST {"sender": ..., "message": ...}."""

    @classmethod
    def name(cls) -> Text:
        """The channel name, and so the URL prefix: /webhooks/rest/."""
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: Optional[dict[Text, Any]]) -> InputChannel:
        """Create the channel from credentials.yml (it takes none)."""
        return cls()

    def __init__(self) -> None:
        settings = load_settings()
        self._max_chars = settings.max_message_chars
        self._sessions = make_session_factory(make_engine(settings.database_url))
        self._not_enrolled_text = _domain_response("utter_not_enrolled")

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        """The health and webhook routes."""
        webhook = Blueprint("patient_rest_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                incoming = parse_webhook_body(request.body or b"", self._max_chars)
            except RejectedRequest as exc:
                return response.json({"error": str(exc)}, status=exc.status)

            enrolled = await self._check_enrollment(incoming.sender)
            if enrolled is False:
                return response.json(
                    [{"recipient_id": incoming.sender, "text": self._not_enrolled_text}]
                )

            collector = CollectingOutputChannel()
            try:
                await on_new_message(
                    UserMessage(
                        incoming.text, collector, incoming.sender, input_channel=self.name()
                    )
                )
            except Exception:
                logger.exception("handling a patient message failed (text not logged)")
            return response.json(collector.messages)

        return webhook

    async def _check_enrollment(self, sender: str) -> Optional[bool]:
        loop = asyncio.get_running_loop()
        lookup = loop.run_in_executor(None, is_enrolled, self._sessions, sender)
        try:
            enrolled = await asyncio.wait_for(lookup, ENROLLMENT_LOOKUP_SECONDS)
        except asyncio.TimeoutError:
            enrolled = None
        if enrolled is None:
            logger.warning("enrollment could not be checked; serving the sender anyway")
        return enrolled


def _domain_response(name: str, domain_file: Path = REPO_ROOT / "domain.yml") -> str:
    with domain_file.open(encoding="utf-8") as handle:
        responses = yaml.safe_load(handle)["responses"]
    return responses[name][0]["text"]
