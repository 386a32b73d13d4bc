"""The durable turn path: spool first, database second, nothing lost or doubled."""
import sqlite3
import threading
import time

import pytest
from sqlalchemy import func, select

from bot.service.spool import Spool, SpoolDrainer
from bot.storage.models import ChatMessage, SafetyAssessment
from bot.service.turns import record_turn, record_turns, turn_record

URGENT = {
    "level": "urgent",
    "categories": ["suicidal_ideation"],
    "findings": [{"rule": "r1", "category": "suicidal_ideation", "level": "urgent",
                  "start": 0, "end": 4, "text": "test", "modifiers": []}],
}


def _writer(sessions):
    def handle(record):
        with sessions.begin() as session:
            record_turn(session, record)
    return handle


def _count(sessions, model):
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_patient_turn_is_stored_with_its_assessment(demo):
    with demo.begin() as session:
        record_turn(session, turn_record("demo-ava", "patient", "test", "m1", safety=URGENT, intent="crisis"))
        record_turn(session, turn_record("demo-ava", "assistant", "reply", "b1"))
    with demo() as session:
        message = session.scalar(select(ChatMessage).where(ChatMessage.external_id == "m1"))
        assessment = session.scalar(select(SafetyAssessment))
        assert message.text == "test" and message.intent == "crisis"
        assert assessment.chat_message_id == message.id
        assert assessment.level == "urgent" and assessment.categories == ["suicidal_ideation"]
        assert assessment.findings[0]["rule"] == "r1"
    assert _count(demo, ChatMessage) == 2


def test_unknown_sender_is_stored_nowhere(demo):
    with demo.begin() as session:
        assert record_turn(session, turn_record("stranger", "patient", "hi", "m9", safety=URGENT)) is None
    assert _count(demo, ChatMessage) == 0 and _count(demo, SafetyAssessment) == 0


def test_a_redelivered_record_is_stored_once(demo):
    record = turn_record("demo-ava", "patient", "hello", "same-id", safety={"level": "none", "categories": [], "findings": []})
    for _ in range(3):
        with demo.begin() as session:
            record_turn(session, record)
    assert _count(demo, ChatMessage) == 1 and _count(demo, SafetyAssessment) == 1


def test_spool_keeps_records_in_order_until_handled(tmp_path):
    spool = Spool(tmp_path)
    seen = []
    drainer = SpoolDrainer(spool, seen.append)
    for n in range(5):
        spool.append({"n": n})
    assert drainer.drain_once() == 5
    assert [r["n"] for r in seen] == [0, 1, 2, 3, 4]
    assert spool.pending() == []


def test_a_failing_handler_keeps_the_record_and_the_order(tmp_path):
    spool = Spool(tmp_path)
    failing = {"on": True}
    seen = []

    def handle(record):
        if failing["on"] and record["n"] == 1:
            raise RuntimeError("database is locked")
        seen.append(record["n"])

    drainer = SpoolDrainer(spool, handle)
    for n in range(3):
        spool.append({"n": n})
    with pytest.raises(RuntimeError):
        drainer.drain_once()
    assert seen == [0] and len(spool.pending()) == 2
    failing["on"] = False
    assert drainer.drain_once() == 2
    assert seen == [0, 1, 2]


def test_a_claim_left_by_a_dead_process_is_recovered(tmp_path):
    spool = Spool(tmp_path)
    path = spool.append({"n": 1})
    claimed = spool.claim(path)
    assert spool.pending() == []
    assert spool.recover_stale_claims(older_than=-1) == 1
    assert [p.name for p in spool.pending()] == [path.name]
    assert not claimed.exists()


def test_turns_survive_a_locked_database_and_land_when_it_frees(demo, settings, tmp_path):
    db_path = settings.database_url.removeprefix("sqlite:///")
    locker = sqlite3.connect(db_path, timeout=1, isolation_level=None, check_same_thread=False)
    locker.execute("BEGIN EXCLUSIVE")
    drainer = SpoolDrainer(Spool(tmp_path / "spool"), _writer(demo), max_backoff=0.5)
    release = threading.Timer(2.0, lambda: locker.execute("COMMIT"))
    release.start()
    drainer.start()
    drainer.submit(turn_record("demo-ava", "patient", "still here", "m-locked",
                               safety={"level": "none", "categories": [], "findings": []}))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and _count(demo, ChatMessage) == 0:
        time.sleep(0.2)
    drainer.stop()
    release.join()
    locker.close()
    assert _count(demo, ChatMessage) == 1
    assert drainer.spool.pending() == []


def test_records_waiting_are_handed_over_together_in_order(tmp_path):
    spool = Spool(tmp_path)
    batches = []
    drainer = SpoolDrainer(spool, lambda record: batches.append([record]), handle_many=batches.append, batch=3)
    for n in range(7):
        spool.append({"n": n})
    assert drainer.drain_once() == 7
    assert [[r["n"] for r in batch] for batch in batches] == [[0, 1, 2], [3, 4, 5], [6]]
    assert spool.pending() == []


def test_a_failing_batch_is_handled_one_by_one_and_stops_at_the_bad_record(tmp_path):
    spool = Spool(tmp_path)
    stored, failing = [], {"on": True}

    def handle(record):
        if failing["on"] and record["n"] == 2:
            raise RuntimeError("a constraint failed")
        stored.append(record["n"])

    def handle_many(records):
        staged = []
        for record in records:  # all or nothing, as one transaction
            if failing["on"] and record["n"] == 2:
                raise RuntimeError("a constraint failed")
            staged.append(record["n"])
        stored.extend(staged)

    drainer = SpoolDrainer(spool, handle, handle_many=handle_many, batch=4)
    for n in range(6):
        spool.append({"n": n})
    (tmp_path / "00000000000000000001-broken.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(RuntimeError):
        drainer.drain_once()
    assert stored == [0, 1]
    assert len(spool.pending()) == 4 and len(list(tmp_path.glob("*.bad"))) == 1
    failing["on"] = False
    assert drainer.drain_once() == 4
    assert stored == [0, 1, 2, 3, 4, 5]


def test_the_turn_recorder_stores_a_burst_of_turns_with_their_alert(demo, settings, tmp_path):
    from bot.service.recorder import start_turn_recorder
    from bot.storage.models import CrisisAlert

    drainer = start_turn_recorder(settings, spool_dir=tmp_path / "turns")
    none = {"level": "none", "categories": [], "findings": []}
    try:
        for n in range(30):
            safety = URGENT if n == 17 else none
            drainer.submit(turn_record("demo-ava", "patient", f"line {n}", f"burst-{n}", safety=safety))
            drainer.submit(turn_record("demo-ava", "assistant", f"reply {n}", f"burst-reply-{n}"))
        drainer.submit(turn_record("demo-ava", "patient", "line 0", "burst-0", safety=none))  # redelivered
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (drainer.spool.pending() or _count(demo, ChatMessage) < 60):
            time.sleep(0.2)
    finally:
        drainer.stop()
    assert _count(demo, ChatMessage) == 60 and _count(demo, SafetyAssessment) == 30
    with demo() as session:
        alerts = session.scalars(select(CrisisAlert)).all()
        texts = [m.text for m in session.scalars(select(ChatMessage).order_by(ChatMessage.id))]
    assert len(alerts) == 1 and alerts[0].level == "urgent"
    assert texts[:4] == ["line 0", "reply 0", "line 1", "reply 1"]


def test_many_turns_at_once_are_stored_as_one_by_one(demo):
    none = {"level": "none", "categories": [], "findings": []}
    with demo.begin() as session:
        record_turn(session, turn_record("demo-ava", "patient", "already here", "many-0", safety=none))
    records = [
        turn_record("demo-ava", "patient", "already here", "many-0", safety=none),  # stored before
        turn_record("stranger", "patient", "hi", "many-1", safety=URGENT),  # not enrolled
        turn_record("demo-ava", "patient", "test", "many-2", safety=URGENT),
        turn_record("demo-ava", "assistant", "reply", "many-3"),
        turn_record("demo-ava", "assistant", "reply", "many-3"),  # twice in one batch
        turn_record("", "patient", "no sender", "many-4", safety=none),
    ]
    with demo.begin() as session:
        assert record_turns(session, records) == 2
    with demo() as session:
        stored = session.scalars(select(ChatMessage.external_id).order_by(ChatMessage.id)).all()
        assert stored == ["many-0", "many-2", "many-3"]
        assessment = session.scalar(select(SafetyAssessment).where(SafetyAssessment.level == "urgent"))
        assert assessment.chat_message_id == session.scalar(
            select(ChatMessage.id).where(ChatMessage.external_id == "many-2"))
