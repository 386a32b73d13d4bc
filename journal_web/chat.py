"""The patient's side: the chat with the assistant, and their journal (read-only).

Every message is relayed to Rasa's REST channel under the signed-in patient's
own sender id, read from the database; nothing in the request can choose it.
"""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template, request
from flask_login import current_user
from sqlalchemy import select

from bot.service.chat_relay import Reply, RelayError, relay
from bot.content.crisis_resources import resources_for
from bot.conversation.crisis import format_resources
from bot.service.failsafe import crisis_fallback, failsafe_text
from bot.storage.models import ChatMessage
from bot.clinic.timeline import journal_entries
from journal_web import db_session, page_number
from journal_web.forms import ChatForm
from journal_web.users import patient_required

bp = Blueprint("chat", __name__, url_prefix="/me")

HISTORY = 30
NOT_SENT = {
    503: "The assistant cannot be reached right now, so your message was not sent. "
         "It is still in the box: try again in a minute.",
    502: "The assistant had a problem answering. Your message is still in the box: try again.",
}


def _history() -> list[ChatMessage]:
    rows = db_session().scalars(
        select(ChatMessage).where(ChatMessage.patient_id == current_user.record.id)
        .order_by(ChatMessage.created_at.desc(), ChatMessage.id.desc()).limit(HISTORY)
    ).all()
    return list(reversed(rows))


def _relay(text: str) -> list[Reply]:
    """The assistant's replies; if it cannot answer, the crisis lines for a crisis message.

    Raises RelayError when the assistant cannot answer and the message is not a crisis.
    """
    config = current_app.config
    try:
        return relay(config["RASA_URL"], current_user.record.sender_id, text,
                     config["CHAT_RELAY_TIMEOUT_SECONDS"], config["SECRET_KEY"])
    except RelayError as exc:
        if exc.status not in (502, 503):
            raise
        try:
            resources = crisis_fallback(current_app.extensions["db_sessions"], config["SPOOL_DIR"],
                                        current_user.record.sender_id, text,
                                        config["DEFAULT_CRISIS_RESOURCE_SET"])
        except Exception:
            # Fail safe: if the message cannot even be screened here, it gets the crisis lines.
            current_app.logger.exception("the fail-safe screen failed; answering with the crisis lines")
            resources = format_resources(resources_for(config["DEFAULT_CRISIS_RESOURCE_SET"]))
        if resources is None:
            raise
        return [Reply(failsafe_text(resources))]


@bp.get("/chat")
@patient_required
def chat():
    """The chat page: recent conversation, a message box and quick replies."""
    return render_template("chat/chat.html", form=ChatForm(formdata=None), history=_history(),
                           replies=[], error=None)


@bp.post("/chat/send")
@patient_required
def send():
    """Relay one message as the signed-in patient: JSON for the page's script, a page otherwise."""
    if request.is_json:
        return _send_json()
    form = ChatForm()
    if not form.validate_on_submit():
        status = 413 if len(form.message.data or "") > current_app.config["MAX_MESSAGE_CHARS"] else 400
        return render_template("chat/chat.html", form=form, history=_history(), replies=[],
                               error=" ".join(form.message.errors) or None), status
    try:
        replies = _relay(form.message.data)
    except RelayError as exc:
        return render_template("chat/chat.html", form=form, history=_history(), replies=[],
                               error=NOT_SENT.get(exc.status, str(exc))), exc.status
    return render_template("chat/chat.html", form=ChatForm(formdata=None), history=_history(),
                           replies=replies, sent=form.message.data, error=None)


def _send_json():
    data = request.get_json(silent=True)
    text = data.get("message") if isinstance(data, dict) else None
    if not isinstance(text, str) or not text.strip():
        return jsonify(error="Type a message first."), 400
    if len(text) > current_app.config["MAX_MESSAGE_CHARS"]:
        return jsonify(error="This message is too long to send in one go. "
                             "Split it into shorter messages."), 413
    try:
        replies = _relay(text)
    except RelayError as exc:
        return jsonify(error=NOT_SENT.get(exc.status, str(exc))), exc.status
    return jsonify(replies=[reply.to_dict() for reply in replies])


@bp.get("/journal")
@patient_required
def journal():
    """The patient's saved journal entries, newest first; read-only."""
    entries, page, pages = journal_entries(db_session(), current_user.record.id, saved_only=True,
                                           page=page_number())
    return render_template("chat/journal.html", entries=entries, page=page, pages=pages)
