"""Shared fixtures: settings and a migrated, seeded database in a temp dir."""
from __future__ import annotations

from pathlib import Path

import pytest

from bot.storage import runtime
from bot.service.cli import migrate
from bot.config.settings import Settings
from bot.storage.db import make_engine, make_session_factory
from bot.clinic.seed import seed_demo_clinic
from tests.helpers import TEST_PASSWORD, make_settings
from tests.servers import servers, trained_model  # noqa: F401  (session fixtures, shared)
from tests.postgres_server import postgres_server  # noqa: F401  (session fixture, shared)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings pointing at an empty temporary database."""
    return make_settings(tmp_path)


@pytest.fixture
def sessions(settings: Settings):
    """A session factory over a freshly migrated database."""
    migrate(settings)
    engine = make_engine(settings.database_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def demo(sessions):
    """The demo clinic, seeded with a known password for every clinician."""
    with sessions.begin() as session:
        seed_demo_clinic(session, make_password=lambda: TEST_PASSWORD)
    return sessions


@pytest.fixture
def runtime_db(settings: Settings, demo, monkeypatch):
    """Point the per-process runtime (used by actions) at the seeded test database."""
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SPOOL_DIR", str(settings.spool_dir))
    runtime.settings.cache_clear()
    runtime.session_factory.cache_clear()
    yield demo
    runtime.settings.cache_clear()
    runtime.session_factory.cache_clear()
