"""Database models, engine and session factories, and queries that take a Session."""
from bot.storage.db import (
    DatabaseUnavailable,
    check_database,
    make_engine,
    make_session_factory,
)

__all__ = ["DatabaseUnavailable", "check_database", "make_engine", "make_session_factory"]
