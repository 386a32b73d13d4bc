"""Engine and session factories. Nothing connects at import time."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool, QueuePool

from bot.config.settings import ConfigError, redact_url


class DatabaseUnavailable(Exception):
    """The database cannot be reached; the message is one line for the user."""


def make_engine(database_url: str, *, echo: bool = False, pooled: bool = True) -> Engine:
    """Build an engine in SQLAlchemy 2.0 style for SQLite or PostgreSQL.

    A SQLite file gets a pool of connections too (SQLAlchemy 1.4 would open a
    new one, and run its PRAGMAs, for every session); `pooled=False` keeps the
    old behaviour, for benchmarks that compare the two.
    """
    try:
        url = make_url(database_url)
    except (ArgumentError, ValueError):
        raise ConfigError(
            f"DATABASE_URL is not a valid database URL: {redact_url(database_url)}"
        ) from None
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        in_memory = not url.database or url.database == ":memory:"
        pool = {} if in_memory else (
            {"poolclass": QueuePool, "pool_size": 5, "max_overflow": 10} if pooled else {"poolclass": NullPool})
        engine = create_engine(
            url, future=True, echo=echo,
            # A pooled connection is used by one thread at a time, but not always the one that opened it.
            connect_args={"timeout": 15, "check_same_thread": False}, **pool,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    try:
        return create_engine(
            url, future=True, echo=echo, pool_pre_ping=True, connect_args=_pg_args(url)
        )
    except (ArgumentError, ImportError) as exc:
        raise ConfigError(f"DATABASE_URL is not usable: {exc}") from None


def make_session_factory(engine: Engine) -> sessionmaker:
    """A session factory; callers own session lifetime (`with factory.begin() as s:`)."""
    return sessionmaker(engine, future=True, expire_on_commit=False, class_=Session)


def check_database(engine: Engine) -> None:
    """Raise DatabaseUnavailable with one clear line if the database cannot be used."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise DatabaseUnavailable(
            f"cannot reach the database at {redact_url(str(engine.url))}: {reason}"
        ) from None


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL lets the web app read while the Rasa server writes; foreign keys are
    # off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.close()


def _pg_args(url) -> dict:
    if url.get_backend_name() == "postgresql":
        return {"connect_timeout": 5}
    return {}
