"""The journal web app for therapists and patients. Built by `create_app()`."""
from __future__ import annotations

from datetime import timedelta
from typing import Any, Mapping, Optional

from flask import Flask, g, request
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from bot.storage.runtime import settings as process_settings
from bot.storage.db import make_engine, make_session_factory


def create_app(test_config: Optional[Mapping[str, Any]] = None) -> Flask:
    """Build the Flask app; nothing touches the database until a request needs it."""
    app = Flask(__name__)
    settings = process_settings()
    app.config.from_mapping(
        DATABASE_URL=settings.database_url,
        SECRET_KEY=settings.secret_key or None,
        # Largest request body; a chat message of MAX_MESSAGE_CHARS fits well inside.
        MAX_CONTENT_LENGTH=256 * 1024,
        MAX_FORM_MEMORY_SIZE=256 * 1024,
        RASA_URL=settings.rasa_url,
        CHAT_RELAY_TIMEOUT_SECONDS=settings.chat_relay_timeout_seconds,
        TRUSTED_PROXIES=settings.trusted_proxies,
        MAX_MESSAGE_CHARS=settings.max_message_chars,
        PUBLIC_BASE_URL=settings.public_base_url,
        SESSION_TIMEOUT_MINUTES=settings.session_timeout_minutes,
        SESSION_MAX_HOURS=settings.session_max_hours,
        INVITE_LINK_HOURS=settings.invite_link_hours,
        LOGIN_MAX_FAILURES=settings.login_max_failures,
        LOGIN_LOCKOUT_MINUTES=settings.login_lockout_minutes,
        DEFAULT_CRISIS_RESOURCE_SET=settings.default_crisis_resource_set,
        SPOOL_DIR=str(settings.spool_dir),
        SESSION_COOKIE_NAME="kap_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session, which times out
    )
    if test_config:
        app.config.from_mapping(test_config)
    if not app.config["SECRET_KEY"]:
        from bot.config.secret_key import load_or_create_secret_key

        app.config["SECRET_KEY"] = load_or_create_secret_key()
    https = str(app.config["PUBLIC_BASE_URL"]).startswith("https://")
    if https:
        app.config["SESSION_COOKIE_SECURE"] = True
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(minutes=app.config["SESSION_TIMEOUT_MINUTES"])

    proxies = int(app.config["TRUSTED_PROXIES"])
    if proxies:
        # Behind a reverse proxy the client address (sign-in limits, audit) and the
        # scheme come from its X-Forwarded-* headers, trusted for `proxies` hops only.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)

    app.extensions["db_sessions"] = make_session_factory(make_engine(app.config["DATABASE_URL"]))
    # Every <int:...> in a route is a database id: one out of its range is a 404, not a 500.
    app.url_map.converters["int"] = DatabaseIdConverter
    # A merged double slash would redirect to a Location built from the Host header.
    app.url_map.merge_slashes = False

    @app.teardown_appcontext
    def close_db_session(_exc: Optional[BaseException]) -> None:
        session = g.pop("db", None)
        if session is not None:
            session.close()

    from journal_web import acknowledge, admin, alerts, audit, auth, chat, cli, course, errors, main, patients, security

    csrf = security.init_app(app)
    errors.init_app(app)
    app.register_blueprint(main.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(patients.bp)
    app.register_blueprint(course.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(alerts.bp)
    app.register_blueprint(audit.bp)
    app.register_blueprint(chat.bp)
    app.register_blueprint(acknowledge.bp)
    # The emailed acknowledgement link carries its own signed token in the form body.
    csrf.exempt(acknowledge.bp)
    app.cli.add_command(cli.invite_command)
    return app


# The largest id a database integer column holds (SQLite and PostgreSQL bigint).
MAX_ID = 2**63 - 1
# Pages beyond this are empty anyway; a larger number would overflow the query's OFFSET.
MAX_PAGE = 1_000_000


class DatabaseIdConverter(IntegerConverter):
    """Flask's int converter, bounded to what a database id can be."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)


def page_number() -> int:
    """The `page` query argument: 1 when missing or malformed, at most MAX_PAGE."""
    return min(max(request.args.get("page", 1, type=int) or 1, 1), MAX_PAGE)


def db_session():
    """The request's database session, opened on first use."""
    from flask import current_app

    if "db" not in g:
        g.db = current_app.extensions["db_sessions"]()
    return g.db


def apply_change(change, message: str) -> bool:
    """Run a clinic change and commit it with `message` flashed; on a refusal, roll back and flash why.

    A refusal is the one-line error of a clinic rule (bot.clinic, bot.escalation.rota),
    never an unexpected exception, which still ends in the error page.
    """
    from flask import flash

    from bot.clinic.enrolment import EnrolmentError
    from bot.clinic.preparation import PreparationError
    from bot.clinic.schedule import ScheduleError
    from bot.clinic.staff import StaffError
    from bot.escalation.rota import RotaError

    session = db_session()
    try:
        change()
    except (EnrolmentError, PreparationError, ScheduleError, StaffError, RotaError) as exc:
        session.rollback()
        flash(str(exc))
        return False
    session.commit()
    flash(message)
    return True
