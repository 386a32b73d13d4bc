"""The action server writes what was spooled before it started, without waiting for a request."""
import time

import pytest
from sqlalchemy import select

from bot.conversation.journal import DraftSnapshot
from bot.service.spool import Spool
from bot.storage.models import JournalEntry
from tests.helpers import free_port
from tests.servers import RASA, running, server_env

pytestmark = pytest.mark.e2e


def test_a_journal_step_spooled_before_start_is_written_at_start(servers, tmp_path):
    spool_dir = tmp_path / "spool"
    key = "spooled-before-start"
    snapshot = DraftSnapshot(
        key=key,
        sender_id="demo-jonah",
        phase="days_after",
        prompt_id=None,
        opened_at="2026-11-20T09:00:00+00:00",
        text="Written while the database was away.",
    )
    Spool(spool_dir / "records").append(snapshot.to_record())
    env = {**server_env(servers.settings, tmp_path), "SPOOL_DIR": str(spool_dir)}
    port = free_port()
    with running(
        {"actions": [str(RASA), "run", "actions", "--actions", "actions", "-p", str(port)]},
        env,
        tmp_path / "logs",
        [f"http://127.0.0.1:{port}/health"],
    ):
        # No request is sent: the start-up hook alone must drain the spool.
        deadline = time.monotonic() + 30
        entry = None
        while entry is None and time.monotonic() < deadline:
            with servers.sessions() as session:
                entry = session.scalar(
                    select(JournalEntry).where(JournalEntry.text == "Written while the database was away.")
                )
            time.sleep(0.2)
    assert entry is not None, (tmp_path / "logs" / "actions.log").read_text()
    assert entry.status == "draft" and entry.phase == "days_after"
    assert list((spool_dir / "records").glob("*.json*")) == []
