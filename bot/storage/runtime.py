"""Per-process singletons for the long-running servers (built on first use)."""
from __future__ import annotations

from functools import lru_cache

from sqlalchemy.orm import sessionmaker

from bot.config.settings import Settings, load_settings
from bot.storage.db import make_engine, make_session_factory


@lru_cache(maxsize=1)
def settings() -> Settings:
    """This process's settings, read once."""
    return load_settings()


@lru_cache(maxsize=1)
def session_factory() -> sessionmaker:
    """This process's database session factory."""
    return make_session_factory(make_engine(settings().database_url))

