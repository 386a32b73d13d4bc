"""The windowed SQL tracker store: a long conversation's tracker has the same state as the whole
session, every event is stored once and in order, and another instance's writes are never missed."""
import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActiveLoop, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from rasa.core.tracker_store import SQLTrackerStore

from components.tracker_store import DEFAULT_WINDOW, WindowedSQLTrackerStore, windowed_tracker

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = Domain.load(str(ROOT / "domain.yml"))


def _run(coroutine):
    """Run a coroutine on its own thread: the session's browser fixture keeps an event loop
    running on the main thread, where asyncio.run would refuse."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


class Broker:
    """Collects what the store publishes to the event broker."""

    def __init__(self):
        self.published = []

    def publish(self, event):
        self.published.append(event)


def _turn(tracker, number: int) -> None:
    """One journaling turn, as Rasa records it: listen, the message, the form, a reply."""
    tracker.update(ActionExecuted("action_listen"))
    tracker.update(UserUttered(f"line {number}", {"name": "share_experience", "confidence": 0.9}))
    tracker.update(ActionExecuted("journal_form"))
    tracker.update(SlotSet("journal_text", f"line {number}"))
    tracker.update(BotUttered("Got it. Keep going."))


def _conversation(turns: int) -> DialogueStateTracker:
    tracker = DialogueStateTracker("patient-1", DOMAIN.slots)
    tracker.update(ActionExecuted("action_session_start"))
    tracker.update(SlotSet("crisis_resource_set", "us"))
    tracker.update(ActionExecuted("action_listen"))
    tracker.update(UserUttered("i want to journal", {"name": "start_journal", "confidence": 1.0}))
    tracker.update(ActionExecuted("journal_form"))
    tracker.update(ActiveLoop("journal_form"))
    tracker.update(SlotSet("journal_phase", "same_day"))
    for number in range(turns):
        _turn(tracker, number)
    return tracker


@pytest.mark.parametrize("window", [DEFAULT_WINDOW, 60, 150])
def test_a_long_form_is_windowed_and_the_policies_see_exactly_the_whole_sessions_history(window):
    full = _conversation(200)
    events = [event.as_dict() for event in full.events]
    windowed = windowed_tracker("patient-1", events, DOMAIN.slots, window)
    assert len(windowed.events) < window + 20 < len(full.events)
    assert windowed.current_slot_values() == full.current_slot_values()
    assert windowed.active_loop_name == "journal_form" and windowed.latest_message.text == "line 199"
    assert windowed.past_states(DOMAIN) == full.past_states(DOMAIN)


def test_many_turns_without_a_form_keep_the_state_and_the_recent_history():
    full = DialogueStateTracker("patient-1", DOMAIN.slots)
    full.update(ActionExecuted("action_session_start"))
    full.update(SlotSet("crisis_resource_set", "us"))
    for number in range(120):
        full.update(ActionExecuted("action_listen"))
        full.update(UserUttered(f"question {number}", {"name": "ask_question", "confidence": 0.9}))
        full.update(ActionExecuted("action_answer_question"))
        full.update(BotUttered("An answer."))
    for window, recent in ((100, 20), (DEFAULT_WINDOW, 12)):
        windowed = windowed_tracker("patient-1", [e.as_dict() for e in full.events], DOMAIN.slots, window)
        assert len(windowed.events) < window + 10 < len(full.events)
        assert windowed.current_slot_values() == full.current_slot_values()
        # More states than the longest rule (8 steps) or the memoized history (4) reads.
        assert windowed.past_states(DOMAIN)[-recent:] == full.past_states(DOMAIN)[-recent:]


@pytest.fixture
def store(tmp_path):
    def make(broker=None):
        return WindowedSQLTrackerStore(domain=DOMAIN, host=f"sqlite:///{tmp_path / 'rasa.db'}", event_broker=broker,
                                       window=60)
    return make


def _stored(store, sender="patient-1"):
    with store.session_scope() as session:
        return [json.loads(row.data) for row in session.query(store.SQLEvent)
                .filter(store.SQLEvent.sender_id == sender).order_by(store.SQLEvent.id)]


def test_every_event_is_stored_once_in_order_across_turns_cache_and_reloads(store):
    first, broker = store(), Broker()
    first.event_broker = broker
    tracker = _conversation(3)
    _run(first.save(tracker))
    expected = [event.as_dict() for event in tracker.events]
    for number in range(3, 80):
        tracker = _run(first.retrieve("patient-1"))
        _turn(tracker, number)
        expected += [event.as_dict() for event in list(tracker.events)[-5:]]
        _run(first.save(tracker))
    assert _stored(first) == expected
    assert [e["event"] for e in broker.published] == [e["event"] for e in expected]
    assert len(tracker.events) <= 2 * 60 + 20  # re-windowed on save as it grew
    reloaded = _run(store().retrieve("patient-1"))
    assert reloaded.current_slot_values() == tracker.current_slot_values()
    assert reloaded.latest_message.text == "line 79"


def test_another_instances_write_is_seen_and_a_handed_out_tracker_is_not_handed_out_twice(store):
    mine, theirs = store(), store()
    _run(mine.save(_conversation(2)))
    cached = _run(mine.retrieve("patient-1"))
    _turn(cached, 2)
    _run(mine.save(cached))  # now cached by `mine`
    other = _run(theirs.retrieve("patient-1"))
    _turn(other, 3)
    _run(theirs.save(other))  # a message handled by the other instance
    again = _run(mine.retrieve("patient-1"))
    assert again is not cached and again.latest_message.text == "line 3"
    assert _run(mine.retrieve("patient-1")) is not again  # taken out of the cache when handed out
    texts = [e.get("text") for e in _stored(mine) if e["event"] == "user"]
    assert texts == ["i want to journal", "line 0", "line 1", "line 2", "line 3"]


def _rows(store):
    with store.session_scope() as session:
        return [(row.sender_id, row.type_name, row.timestamp, row.intent_name, row.action_name, row.data)
                for row in session.query(store.SQLEvent).order_by(store.SQLEvent.id)]


def test_the_rows_are_those_rasas_own_store_writes(tmp_path):
    ours = WindowedSQLTrackerStore(domain=DOMAIN, host=f"sqlite:///{tmp_path / 'ours.db'}")
    rasas = SQLTrackerStore(domain=DOMAIN, host=f"sqlite:///{tmp_path / 'rasa.db'}")
    tracker = _conversation(3)
    _run(ours.save(tracker))
    _run(rasas.save(tracker))
    tracker = _run(ours.retrieve("patient-1"))
    _turn(tracker, 3)
    _run(ours.save(tracker))
    _run(rasas.save(tracker))
    assert _rows(ours) == _rows(rasas) and len(_rows(ours)) == 7 + 4 * 5


def test_a_sqlite_file_keeps_its_connections_open_between_messages(tmp_path):
    store = WindowedSQLTrackerStore(domain=DOMAIN, host=f"sqlite:///{tmp_path / 'rasa.db'}")
    opened = []
    sa.event.listen(store.engine, "connect", lambda *_: opened.append(1))
    tracker = _conversation(1)
    for number in range(1, 20):
        _run(store.save(tracker))
        tracker = _run(store.retrieve("patient-1"))
        _turn(tracker, number)
    assert len(opened) == 1
    assert store.window == DEFAULT_WINDOW


def test_a_turn_longer_than_the_window_keeps_its_message():
    """The end of a questionnaire or a crisis protocol can run to some 60 events in one turn."""
    full = DialogueStateTracker("patient-1", DOMAIN.slots)
    full.update(ActionExecuted("action_session_start"))
    for number in range(30):  # many turns without a form: a long history before the cut
        full.update(ActionExecuted("action_listen"))
        full.update(UserUttered(f"question {number}", {"name": "ask_question", "confidence": 0.9}))
        full.update(ActionExecuted("action_answer_question"))
        full.update(BotUttered("An answer."))
    full.update(ActionExecuted("action_listen"))
    full.update(UserUttered("1", {"name": "inform_rating", "confidence": 1.0}))
    full.update(ActionExecuted("action_questionnaire_done"))
    for number in range(70):
        full.update(SlotSet("journal_text", f"value {number}"))
    full.update(BotUttered("The questions are done."))
    full.update(ActionExecuted("action_listen"))  # the turn ends listening
    windowed = windowed_tracker("patient-1", [e.as_dict() for e in full.events], DOMAIN.slots, 60)
    assert len(windowed.events) < len(full.events)
    assert windowed.latest_message.text == "1"
    assert any(isinstance(e, UserUttered) and e.text == "1" for e in windowed.events)
    assert windowed.current_slot_values() == full.current_slot_values()
    assert windowed.past_states(DOMAIN)[-3:] == full.past_states(DOMAIN)[-3:]
