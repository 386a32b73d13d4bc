"""Small helpers shared by tests."""
from __future__ import annotations

import socket
from pathlib import Path

from bot.config.settings import Settings, load_settings

TEST_PASSWORD = "correct horse battery staple"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def make_settings(tmp_path: Path, **overrides: str) -> Settings:
    """Settings for a test: its own SQLite file and spool under tmp_path."""
    environ = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'test.db'}",
        "SPOOL_DIR": str(tmp_path / "spool"),
        **overrides,
    }
    return load_settings(environ=environ, env_file=tmp_path / "absent.env")
