"""Clear error answers, as a page or as JSON; never a traceback."""
from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from journal_web.users import wants_json

logger = logging.getLogger(__name__)

MESSAGES = {
    400: ("Bad request", "The request could not be understood. Go back and try again."),
    401: ("Please sign in", "Please sign in to continue."),
    403: ("Not allowed", "Your account cannot open this page."),
    404: ("Not found", "There is nothing here, or it is not yours to see."),
    405: ("Not allowed", "This page cannot be used that way."),
    410: ("Link no longer valid", "This link has expired or was already used."),
    413: ("Too large", "What you sent is too large. Shorten it and try again."),
    429: ("Too many attempts", "Too many attempts. Wait a few minutes and try again."),
    500: ("Something went wrong", "Something went wrong on our side. It has been logged; "
                                  "please try again."),
    503: ("Temporarily unavailable", "The service cannot reach its database right now. "
                                     "Please try again in a minute."),
}
CSRF_MESSAGE = ("This form has expired or did not come from this site. "
                "Reload the page and try again.")


def error_response(status: int, message: str = ""):
    """The error as JSON for scripts, or as a page."""
    title, default = MESSAGES.get(status, MESSAGES[500] if status >= 500 else MESSAGES[400])
    message = message or default
    if wants_json():
        return jsonify(error=message), status
    return render_template("errors/error.html", title=title, message=message, status=status), status


def init_app(app: Flask) -> None:
    """Register the handlers."""

    @app.errorhandler(CSRFError)
    def csrf_failed(_exc):
        return error_response(400, CSRF_MESSAGE)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        # Unhandled exceptions arrive here as a 500, after Flask has logged them.
        return error_response(exc.code or 500)

    @app.errorhandler(OperationalError)
    def database_unreachable(exc):
        logger.error("database error: %s", str(getattr(exc, "orig", exc)).splitlines()[0])
        return error_response(503)
