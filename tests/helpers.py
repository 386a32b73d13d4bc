"""Small helpers shared by tests."""
from __future__ import annotations

from pathlib import Path

from bot.config.settings import Settings, load_settings
from bot.service.ports import free_port  # noqa: F401  (the tests' import of it)

TEST_PASSWORD = "correct horse battery staple"


def make_settings(tmp_path: Path, **overrides: str) -> Settings:
    """Settings for a test: its own SQLite file and spool under tmp_path."""
    environ = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'test.db'}",
        "SPOOL_DIR": str(tmp_path / "spool"),
        **overrides,
    }
    return load_settings(environ=environ, env_file=tmp_path / "absent.env")
