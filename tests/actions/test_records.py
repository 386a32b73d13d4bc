"""Journal steps and screener answers: written now, or spooled and written later, exactly once."""
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from bot.service.durable import DurableWriter, read_rejected
from bot.conversation.journal import DraftSnapshot, apply_snapshot
from bot.conversation.screener import ScreeningSnapshot, apply_screening, is_complete, parse_answer, questions_to_ask, risk_level
from bot.storage.models import CrisisScreening, JournalEntry, SafetyAssessment
from tests.actions.conftest import FakeScreen

OPENED = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc).isoformat()


def _snap(**changes):
    base = dict(key="k1", sender_id="demo-ava", phase="same_day", prompt_id="sd.images", opened_at=OPENED)
    return DraftSnapshot(**{**base, **changes})


def _entries(sessions):
    with sessions() as session:
        return session.scalars(select(JournalEntry).order_by(JournalEntry.id)).all()


def test_snapshots_applied_twice_or_out_of_order_change_nothing(demo):
    steps = [_snap(), _snap(text="a"), _snap(text="a\nb"), _snap(text="a\nb", follow_up="c", status="saved")]
    for snapshot in steps + list(reversed(steps)) + steps:
        with demo.begin() as session:
            apply_snapshot(session, snapshot, FakeScreen())
    [entry] = _entries(demo)
    assert (entry.text, entry.follow_up_text, entry.status) == ("a\nb", "c", "saved")
    assert entry.created_at == datetime.fromisoformat(OPENED)
    with demo() as session:
        assert session.scalar(select(func.count()).select_from(SafetyAssessment)) == 1


def test_a_snapshot_for_someone_elses_entry_is_refused(demo):
    with demo.begin() as session:
        entry_id = apply_snapshot(session, _snap(text="mine"), FakeScreen()).entry_id
    with pytest.raises(LookupError), demo.begin() as session:
        apply_snapshot(session, _snap(key="k2", sender_id="demo-jonah", entry_id=entry_id, text="x"), FakeScreen())
    with pytest.raises(LookupError), demo.begin() as session:
        apply_snapshot(session, _snap(sender_id="a-stranger"), FakeScreen())


class _Down:
    """A session factory whose database is away."""

    def begin(self):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))


def test_the_writer_spools_while_the_database_is_away_then_writes(demo, tmp_path):
    handlers = {"journal": lambda s, r: apply_snapshot(s, DraftSnapshot.from_record(r), FakeScreen())}
    down = DurableWriter(_Down(), tmp_path, handlers)
    assert down.write(_snap(text="kept").to_record()).stored is False
    assert down.write(_snap(text="kept\nsafe").to_record()).stored is False
    assert down.pending() == 2 and _entries(demo) == []

    back = DurableWriter(demo, tmp_path, handlers)
    assert back.drainer.drain_once() == 2
    [entry] = _entries(demo)
    assert entry.text == "kept\nsafe" and back.pending() == 0


def test_a_record_that_can_never_be_written_is_set_aside_not_lost(demo, tmp_path):
    handlers = {"journal": lambda s, r: apply_snapshot(s, DraftSnapshot.from_record(r), FakeScreen())}
    writer = DurableWriter(demo, tmp_path, handlers)
    writer.spool.append(_snap(sender_id="no-longer-enrolled", text="words").to_record())
    writer.spool.append(_snap(key="k2", text="next").to_record())
    assert writer.drainer.drain_once() == 2  # the bad record does not block the next one
    [rejected] = read_rejected(tmp_path)
    assert rejected["text"] == "words" and "LookupError" in rejected["error"]
    assert [e.text for e in _entries(demo)] == ["next"]


def test_screener_answers_are_upserted_by_key_and_only_ever_added(demo):
    def apply(answers, status="in_progress"):
        with demo.begin() as session:
            apply_screening(session, ScreeningSnapshot("s1", "demo-ava", "urgent", answers, status, OPENED))

    apply({})
    apply({"cssrs_q1": "no", "cssrs_q2": "yes"})
    apply({"cssrs_q1": "yes"})  # a stored answer is never changed
    apply({"cssrs_q1": "no", "cssrs_q2": "yes", "cssrs_q3": "yes", "cssrs_q4": "yes"}, "completed")
    apply({}, "in_progress")  # the status never goes back
    with demo() as session:
        [row] = session.scalars(select(CrisisScreening)).all()
    assert row.answers == {"cssrs_q1": "no", "cssrs_q2": "yes", "cssrs_q3": "yes", "cssrs_q4": "yes"}
    assert (row.level, row.trigger_level, row.status) == ("emergency", "urgent", "completed")


@pytest.mark.parametrize(
    "answers, trigger, expected",
    [
        ({}, "urgent", ["cssrs_q1", "cssrs_q2", "cssrs_q6"]),
        ({}, "emergency", ["crisis_safe_now", "cssrs_q1", "cssrs_q2", "cssrs_q6"]),
        ({"cssrs_q2": "yes"}, "urgent", ["cssrs_q1", "cssrs_q2", "cssrs_q3", "cssrs_q4", "cssrs_q5", "cssrs_q6"]),
        ({"cssrs_q2": "declined"}, "urgent", ["cssrs_q1", "cssrs_q2", "cssrs_q6"]),
        ({"cssrs_q6": "yes"}, "urgent", ["cssrs_q1", "cssrs_q2", "cssrs_q6", "cssrs_q6_recent"]),
    ],
)
def test_the_screener_follows_the_c_ssrs_skip_logic(answers, trigger, expected):
    assert questions_to_ask(answers, trigger) == expected


def test_a_no_never_completes_the_screener_early():
    assert not is_complete({"cssrs_q1": "no"}, "urgent")
    assert not is_complete({"cssrs_q1": "no", "cssrs_q2": "no"}, "urgent")
    assert is_complete({"cssrs_q1": "no", "cssrs_q2": "no", "cssrs_q6": "no"}, "urgent")


@pytest.mark.parametrize(
    "answers, level",
    [
        ({"cssrs_q1": "yes", "cssrs_q2": "yes", "cssrs_q3": "yes"}, "urgent"),
        ({"cssrs_q4": "yes"}, "emergency"),
        ({"cssrs_q5": "yes"}, "emergency"),
        ({"cssrs_q6": "yes", "cssrs_q6_recent": "no"}, "urgent"),
        ({"cssrs_q6": "yes", "cssrs_q6_recent": "yes"}, "emergency"),
        ({"crisis_safe_now": "no"}, "emergency"),
        ({"cssrs_q4": "declined"}, "urgent"),
    ],
)
def test_risk_level_from_the_answers(answers, level):
    assert risk_level(answers, "urgent") == level
    assert risk_level({}, "emergency") == "emergency"  # never below what started the protocol


@pytest.mark.parametrize(
    "question, intent, text, answer",
    [
        ("cssrs_q1", "affirm", "yes", "yes"),
        ("cssrs_q1", "deny", "nope", "no"),
        ("cssrs_q1", "skip_prompt", "skip", "declined"),
        ("cssrs_q1", "nlu_fallback", "sometimes", "yes"),
        ("cssrs_q1", "nlu_fallback", "i'd rather not say", "declined"),
        ("cssrs_q2", "deny", "not sure", "yes"),
        ("cssrs_q1", "deny", "no", "no"),
        ("crisis_safe_now", "nlu_fallback", "i don't know", "no"),
        ("crisis_safe_now", "affirm", "yes, I'm home", "yes"),
        ("cssrs_q2", "crisis", "every day", "yes"),
        ("crisis_safe_now", "crisis", "i'm on the roof", "no"),
        ("cssrs_q3", "greet", "hello", None),
    ],
)
def test_answers_are_read_conservatively(question, intent, text, answer):
    assert parse_answer(question, intent, text) == answer
