"""The REST channel for enrolled patients, at /webhooks/rest/webhook.

It replaces Rasa's built-in `rest` channel (same URL and reply format) and adds
what a clinic needs in front of the assistant: a credential on every message
(a chat token the web app issues to the signed-in patient, bound to the sender
id; without one the answer is 401 and nothing is stored, whoever the sender),
request validation with clear 400/413 answers, a polite refusal for senders
who are not enrolled (their message is stored nowhere), and no message text in
the logs. It remembers each
sender's last message for a short while (in memory) and passes it on with the
next one, so the safety screen can read a sentence typed in pieces; and the
closed question the assistant asked last (a checklist item, a questionnaire
item), so a short typed answer is read as an answer to it. Each message is
screened in the screen's worker process before Rasa reads it, when that worker
is up (SCREEN_WORKER; bot/safety/worker.py), so this server's one thread is
free for other patients meanwhile.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable, Optional, Text

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.config.secret_key import signing_key
from bot.service.chat_gate import NOT_ENROLLED, EnrolmentLookup, RejectedRequest, parse_webhook_body
from bot.service.credentials import CredentialError, bearer_token, check_chat_token
from bot.service.failsafe import crisis_fallback, domain_response, failsafe_text
from bot.conversation.crisis import format_resources, load_crisis_context
from bot.conversation.routing import closed_question, intent_for
from bot.safety import screen
from bot.safety.answers import ANSWERING_KEY
from bot.safety.fragments import PREVIOUS_TEXT_KEY, RecentMessages
from bot.safety.screen import screen_version
from bot.safety.worker import ScreenWorker, assessed_reply
from bot.config.settings import load_settings
from bot.storage.db import make_engine, make_session_factory
from components import action_connections

logger = logging.getLogger(__name__)

# If the database cannot answer quickly, the patient is served anyway:
# a crisis message must never wait on an enrollment lookup.
ENROLLMENT_LOOKUP_SECONDS = 2.0
# A closed question is remembered this long; a reply after it is read on its own.
QUESTION_SECONDS = 10 * 60.0


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
        self._secret_key = signing_key(settings)
        self._default_resources = settings.default_crisis_resource_set
        self._sessions = make_session_factory(make_engine(settings.database_url))
        self._not_enrolled_text = domain_response("utter_not_enrolled")
        self._discharged_text = domain_response("utter_discharged")
        self._discharged_crisis_text = domain_response("utter_discharged_crisis")
        self._spool_dir = settings.spool_dir
        self._recent = RecentMessages()
        self._asked = RecentMessages(ttl=QUESTION_SECONDS)
        self._enrolment = EnrolmentLookup(self._sessions)
        self._screen_worker: Optional[ScreenWorker] = None
        if settings.screen_worker:
            self._screen_worker = ScreenWorker(screen_version())
            self._screen_worker.start()

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        """The health and webhook routes."""
        webhook = Blueprint("patient_rest_webhook", __name__)
        # Rasa's calls to the action server share open connections (components/action_connections.py).
        webhook.after_server_stop(_close_action_connections)
        if self._screen_worker is not None:
            webhook.after_server_stop(self._stop_screen_worker)

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            token = bearer_token(request.headers.get("authorization"))
            if token is None:
                return _unauthorized()
            try:
                incoming = parse_webhook_body(request.body or b"", self._max_chars)
            except RejectedRequest as exc:
                return response.json({"error": str(exc)}, status=exc.status)
            try:
                check_chat_token(self._secret_key, token, incoming.sender)
            except CredentialError as exc:
                logger.warning("refused a chat message: %s", exc)
                return _unauthorized()

            status = await self._check_enrollment(incoming.sender)
            if status == NOT_ENROLLED:
                return response.json(
                    [{"recipient_id": incoming.sender, "text": self._not_enrolled_text}]
                )
            previous = self._recent.swap(incoming.sender, incoming.text)
            if status == "discharged":
                self._asked.put(incoming.sender, None)
                return response.json(await self._discharged_reply(incoming, previous))
            # Single use: a second message sent before this one's reply is read without the question.
            question = self._asked.take(incoming.sender)
            metadata = {key: value for key, value in ((PREVIOUS_TEXT_KEY, previous), (ANSWERING_KEY, question))
                        if value}
            if self._screen_worker is not None:
                # As the NLU component will read it: Rasa strips the text, the metadata omits what is empty.
                await self._screen_worker.prescreen(incoming.text.strip(), previous or None, question or None)
            collector = CollectingOutputChannel()
            try:
                await on_new_message(
                    UserMessage(
                        incoming.text,
                        collector,
                        incoming.sender,
                        input_channel=self.name(),
                        metadata=metadata or None,
                    )
                )
            except Exception:
                logger.exception("handling a patient message failed (text not logged)")
            replies = collector.messages
            last = next((reply for reply in reversed(replies) if reply.get("text")), None)
            self._asked.put(incoming.sender, closed_question(last) if last else None)
            failsafe = await self._failsafe_if_needed(incoming, previous, question, replies)
            return response.json(replies + failsafe)

        return webhook

    async def _failsafe_if_needed(
        self, incoming, previous: Optional[str], question: Optional[str], replies: list[dict]
    ) -> list[dict]:
        """The crisis lines, if the assistant's replies lack them when they are needed.

        Needed when the assistant said nothing at all, or when the message is a
        crisis and the replies do not carry the clinic's crisis lines (the
        action server being down, say). Never leave a patient with nothing.
        """
        crisis = intent_for(assessed_reply(screen, incoming.text.strip(), previous or None, question or None)) is not None
        if replies and not crisis:
            return []
        loop = asyncio.get_running_loop()
        context = await loop.run_in_executor(
            None, load_crisis_context, self._sessions, incoming.sender, self._default_resources
        )
        resources = format_resources(context.resources)
        if any(resources in reply.get("text", "") for reply in replies):
            return []
        logger.error("the assistant's reply lacked the crisis lines; adding the fail-safe reply")
        return [{"recipient_id": incoming.sender, "text": failsafe_text(resources)}]

    async def _discharged_reply(self, incoming, previous: Optional[str]) -> list[dict]:
        """A discharged patient's chat is closed, politely; a crisis still gets the crisis lines.

        A crisis message is recorded with its assessment, so the clinic is alerted.
        """
        loop = asyncio.get_running_loop()
        resources = await loop.run_in_executor(
            None, crisis_fallback, self._sessions, self._spool_dir, incoming.sender, incoming.text,
            self._default_resources, previous)
        replies = [{"recipient_id": incoming.sender, "text": self._discharged_text}]
        if resources is not None:
            replies.append({"recipient_id": incoming.sender,
                            "text": self._discharged_crisis_text.replace("{resources}", resources)})
        return replies

    async def _stop_screen_worker(self, _app: Any, _loop: Any) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self._screen_worker.close)

    async def _check_enrollment(self, sender: str) -> Optional[str]:
        remembered = self._enrolment.remembered(sender)
        if remembered is not None:
            return remembered
        loop = asyncio.get_running_loop()
        lookup = loop.run_in_executor(None, self._enrolment, sender)
        try:
            status = await asyncio.wait_for(lookup, ENROLLMENT_LOOKUP_SECONDS)
        except asyncio.TimeoutError:
            status = None
        if status is None:
            logger.warning("enrollment could not be checked; serving the sender anyway")
        return status


async def _close_action_connections(_app: Any, _loop: Any) -> None:
    await action_connections.close()


def _unauthorized() -> HTTPResponse:
    """The one answer to every message without a valid credential, whatever its sender."""
    return response.json(
        {"error": "sign in to chat: this message carried no valid credential"},
        status=401, headers={"WWW-Authenticate": 'Bearer realm="kap-chat"'},
    )
