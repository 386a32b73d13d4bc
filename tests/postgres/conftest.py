"""A new, migrated and seeded database per test, on the run's PostgreSQL server
(`postgres_server`, tests/postgres_server.py)."""
import pytest

from bot.service.cli import migrate, seed
from tests.helpers import make_settings
from tests.postgres_server import create_database


@pytest.fixture
def postgres_settings(postgres_server, tmp_path):
    """Settings over a new, migrated and seeded database on the shared server."""
    name = f"kap_{tmp_path.name.lower().replace('-', '_')[:40]}"
    settings = make_settings(tmp_path, DATABASE_URL=create_database(postgres_server, name))
    migrate(settings)
    seed(settings, out=lambda line: None)
    return settings
