"""The per-process recorder of conversation turns: spool, then database."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from bot.config.settings import Settings, load_settings
from bot.service.spool import Spool, SpoolDrainer
from bot.storage.db import make_engine, make_session_factory
from bot.service.turns import record_turn, record_turns

# How long the recorder lets turns gather before writing them: a turn is on disk
# (spooled) before the reply is sent; this only delays the database copy.
GATHER_SECONDS = 0.1


def start_turn_recorder(
    settings: Optional[Settings] = None, spool_dir: Optional[Path] = None
) -> SpoolDrainer:
    """Start a drainer that writes spooled turns to the database."""
    settings = settings or load_settings()
    factory = make_session_factory(make_engine(settings.database_url))

    def handle(record: dict) -> None:
        with factory.begin() as session:
            record_turn(session, record)

    def handle_many(records: list[dict]) -> None:
        # Under load, one transaction and two lookups for the turns waiting, not one of each per turn.
        with factory.begin() as session:
            record_turns(session, records)

    spool = Spool(spool_dir or settings.spool_dir / "turns")
    return SpoolDrainer(spool, handle, name="turn-recorder", handle_many=handle_many,
                        gather_seconds=GATHER_SECONDS).start()
