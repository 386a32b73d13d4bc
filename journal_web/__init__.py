"""The journal web app for therapists and patients. Built by `create_app()`."""
from __future__ import annotations

from typing import Any, Mapping, Optional

from flask import Flask, g

from bot.runtime import settings as process_settings
from bot.storage.db import make_engine, make_session_factory


def create_app(test_config: Optional[Mapping[str, Any]] = None) -> Flask:
    """Build the Flask app; nothing touches the database until a request needs it."""
    app = Flask(__name__)
    settings = process_settings()
    app.config.from_mapping(
        DATABASE_URL=settings.database_url,
        SECRET_KEY=settings.secret_key or None,
        MAX_CONTENT_LENGTH=256 * 1024,
    )
    if test_config:
        app.config.from_mapping(test_config)
    if not app.config["SECRET_KEY"]:
        from journal_web.secrets import load_or_create_secret_key

        app.config["SECRET_KEY"] = load_or_create_secret_key()

    app.extensions["db_sessions"] = make_session_factory(make_engine(app.config["DATABASE_URL"]))

    @app.teardown_appcontext
    def close_db_session(_exc: Optional[BaseException]) -> None:
        session = g.pop("db", None)
        if session is not None:
            session.close()

    from journal_web import main

    app.register_blueprint(main.bp)
    return app


def db_session():
    """The request's database session, opened on first use."""
    from flask import current_app

    if "db" not in g:
        g.db = current_app.extensions["db_sessions"]()
    return g.db
