"""Rasa's SQL tracker store, made to cost the same at message 200 of a conversation as at message 1.

Rasa's policies and its action-server payload walk every event of the session
on every message, several times; a journaling session of 200 messages holds
thousands of events, and each reply took about half a second. Two changes,
neither of which changes what is stored:

- **A window.** The tracker handed to Rasa holds the session's latest events
  (from a turn boundary at most `window` events back), preceded by what the
  policies make of the earlier ones (see `rewindow`). Its slots, form and
  latest message are those of the whole session, because every event is
  still replayed once when the tracker is loaded. The policies only look a
  few turns back (MemoizationPolicy max_history 4, rules of at most 8 steps).
- **A per-process cache.** After a save, this process keeps the tracker with
  the highest event id it wrote. The next message of that conversation reuses
  it if the database has no newer event for the sender (checked with one
  indexed query), so another instance that wrote in between is always seen.
  A tracker is handed out once: it leaves the cache when retrieved and comes
  back only when saved, so a failed turn never leaves a stale copy behind.

Every event still goes to the `events` table, in order, exactly once: what is
appended after loading is saved from the position the tracker had when it was
handed out, and that position moves on with each save.
"""
from __future__ import annotations

import itertools
import json
import logging
import threading
from collections import OrderedDict, deque
from typing import Any, Iterator, List, Optional, Text

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import (
    ActionExecuted, ActiveLoop, BotUttered, Event, SlotSet, UserUttered, deserialise_events,
)
from rasa.shared.core.trackers import DialogueStateTracker

logger = logging.getLogger(__name__)

# Some 14 of the policies' states (a few turns): the longest rule has 8 steps, and the
# MemoizationPolicy looks 4 back. Every event is replayed on load, and the payload to the
# action server and the policies' states grow with the window: at 60 events a message cost
# about a fifth more of the Rasa process under load than at 30.
DEFAULT_WINDOW = 30
# A windowed tracker takes up to a few hundred kB: the latest 200 conversations stay cached.
DEFAULT_CACHED_CONVERSATIONS = 200
# Where, in a tracker handed out, the events not yet in the database begin.
_SAVED_UP_TO = "_kap_saved_up_to"


class WindowedSQLTrackerStore(SQLTrackerStore):
    """A SQLTrackerStore whose trackers hold a bounded window of the session, cached between turns."""

    def __init__(self, *args: Any, window: int = DEFAULT_WINDOW,
                 cached_conversations: int = DEFAULT_CACHED_CONVERSATIONS, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.engine.dialect.name == "sqlite":
            self._pool_sqlite_connections()
        events = self.SQLEvent.__table__
        self._newest_statement = sa.select(sa.func.max(events.c.id)).where(
            events.c.sender_id == sa.bindparam("sender_id"))
        self.window = max(20, int(window))
        self._capacity = max(0, int(cached_conversations))
        self._cache: "OrderedDict[str, tuple[int, DialogueStateTracker]]" = OrderedDict()
        self._cache_lock = threading.Lock()

    def _pool_sqlite_connections(self) -> None:
        """Keep SQLite connections open between sessions.

        SQLAlchemy 1.4 gives a SQLite file no pool: every session of every
        message opened the file again and ran its PRAGMAs, on the thread that
        serves every patient. Rasa has created the tables by now.
        """
        url = self.engine.url
        if url.database and url.database != ":memory:":
            self.engine.dispose()
            self.engine = sa.create_engine(
                url, poolclass=sa.pool.QueuePool, pool_size=5, max_overflow=10,
                # A pooled connection is used by one thread at a time, but not always the one that opened it.
                connect_args={"check_same_thread": False},
            )
            self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
        sa.event.listen(self.engine, "connect", _sqlite_pragmas)

    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        """The session's tracker, windowed; from this process's cache when nothing newer was written."""
        with self._cache_lock:
            cached = self._cache.pop(sender_id, None)
        with self.session_scope() as session:
            newest = self._newest_id(session, sender_id)
            if cached is not None and newest == cached[0]:
                return cached[1]
            rows = self._event_query(session, sender_id, fetch_events_from_all_sessions=False).all()
            if not rows or not self.domain:
                return None
            events = [json.loads(row.data) for row in rows]
        return windowed_tracker(sender_id, events, self.domain.slots, self.window)

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Append the events added since the tracker was handed out; keep it for the next turn.

        The rows are those Rasa's own save writes, inserted in one statement
        rather than through the ORM's unit of work, in the same transaction that
        reads the newest id for the cache.
        """
        await self.stream_events(tracker)
        with self.session_scope() as session:
            rows = [_event_row(tracker.sender_id, event) for event in self._additional_events(session, tracker)]
            if rows:
                session.execute(self.SQLEvent.__table__.insert(), rows)
            newest = self._newest_id(session, tracker.sender_id)
            session.commit()
        setattr(tracker, _SAVED_UP_TO, len(tracker.events))
        if len(tracker.events) > self.window + self.window // 3:
            rewindow(tracker, self.window)
        self._keep(tracker.sender_id, newest, tracker)

    async def stream_events(self, tracker: DialogueStateTracker) -> None:
        """Publish the new events to the event broker (Rasa's own version reloads the whole session)."""
        if self.event_broker is None:
            return
        if getattr(tracker, _SAVED_UP_TO, None) is None:
            await super().stream_events(tracker)
            return
        await self._stream_new_events(self.event_broker, list(self._additional_events(None, tracker)),
                                      tracker.sender_id)

    def _additional_events(self, session: Any, tracker: DialogueStateTracker) -> Iterator[Event]:
        """The events after the position the tracker was loaded or last saved at."""
        saved = getattr(tracker, _SAVED_UP_TO, None)
        if saved is None:  # a tracker this store did not hand out (a new conversation)
            return super()._additional_events(session, tracker)
        return itertools.islice(tracker.events, saved, len(tracker.events))

    def _newest_id(self, session: Any, sender_id: Text) -> Optional[int]:
        # A Core statement built once, run on the session's connection: asked twice per message,
        # the ORM query it replaces cost several times the lookup itself.
        return session.connection().execute(self._newest_statement, {"sender_id": sender_id}).scalar()

    def _keep(self, sender_id: Text, newest: Optional[int], tracker: DialogueStateTracker) -> None:
        if not self._capacity or newest is None:
            return
        with self._cache_lock:
            self._cache[sender_id] = (newest, tracker)
            self._cache.move_to_end(sender_id)
            while len(self._cache) > self._capacity:
                self._cache.popitem(last=False)


def _event_row(sender_id: Text, event: Event) -> dict:
    """One row of Rasa's `events` table, as SQLTrackerStore.save writes it."""
    data = event.as_dict()
    return {
        "sender_id": sender_id,
        "type_name": event.type_name,
        "timestamp": data.get("timestamp"),
        "intent_name": data.get("parse_data", {}).get("intent", {}).get("name"),
        "action_name": data.get("name"),
        "data": json.dumps(data),
    }


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """On SQLite: wait for the app's writers instead of failing at once, and in WAL mode (which
    the app sets on the file) sync at checkpoints, not on every commit. A killed process loses
    nothing; only a power cut could lose the last turns of a conversation, never a record."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def windowed_tracker(sender_id: Text, events: List[dict], slots: Any, window: int) -> DialogueStateTracker:
    """Replay every event, then keep only the latest `window` or so, after the state at the cut."""
    tracker = DialogueStateTracker(sender_id, slots)
    for event in deserialise_events(events):
        tracker.update(event)
    rewindow(tracker, window)
    setattr(tracker, _SAVED_UP_TO, len(tracker.events))
    return tracker


def rewindow(tracker: DialogueStateTracker, window: int) -> None:
    """Cut the tracker's events at a turn boundary `window` events back, and stand in for what was cut.

    What stands in for the events before the cut is what Rasa's policies would
    make of them: their applied events (`DialogueStateTracker.applied_events`,
    which folds a form's turns away), compacted, so the history the policies
    see is the same as the whole session's. When that is still long (many
    turns without a form), it is the state at the cut instead: one SlotSet per
    slot that differs from its initial value, and the active form.

    The latest turn is never cut, however long it is (the questionnaire's end
    and a crisis protocol run to some 60 events): its message is what the
    policies and session expiry read.
    """
    events = list(tracker.events)
    cut = _turn_boundary(events, len(events) - window)
    latest_turn = latest_turn_start(events)
    if cut is not None and latest_turn is not None and cut > latest_turn:
        cut = latest_turn if latest_turn > 0 else None
    if cut is None:
        return
    before = tracker.init_copy()
    for event in events[:cut]:
        before.update(event)
    prefix: List[Event] = compact(before.applied_events())
    if len(prefix) > window // 2:
        stamp = events[cut].timestamp
        prefix = [SlotSet(slot.name, slot.value, timestamp=stamp)
                  for slot in before.slots.values() if slot.value != slot.initial_value]
        if before.active_loop_name:
            prefix.append(ActiveLoop(before.active_loop_name, timestamp=stamp))
    tracker.events = deque(prefix + events[cut:])
    saved = getattr(tracker, _SAVED_UP_TO, None)
    if saved is not None:
        setattr(tracker, _SAVED_UP_TO, max(0, saved - cut + len(prefix)))


def compact(events: List[Event]) -> List[Event]:
    """The events with, between two actions or messages, only the last SlotSet of each slot and the
    last BotUttered: the policies' states are taken at each action, so they come out the same."""
    kept: List[Event] = []
    run: List[Event] = []

    def flush() -> None:
        final = {}
        for position, event in enumerate(run):
            if isinstance(event, SlotSet):
                final[("slot", event.key)] = position
            elif isinstance(event, BotUttered):
                final[("bot",)] = position
        wanted = set(final.values())
        kept.extend(event for position, event in enumerate(run)
                    if not isinstance(event, (SlotSet, BotUttered)) or position in wanted)
        run.clear()

    for event in events:
        if isinstance(event, (ActionExecuted, UserUttered)):
            flush()
            kept.append(event)
        else:
            run.append(event)
    flush()
    return kept


def latest_turn_start(events: List[Event]) -> Optional[int]:
    """Where the latest turn starts: the `action_listen` before the latest user message, if there is one."""
    for index in range(len(events) - 1, -1, -1):
        if isinstance(events[index], UserUttered):
            for before in range(index - 1, -1, -1):
                event = events[before]
                if isinstance(event, ActionExecuted) and event.action_name == ACTION_LISTEN_NAME:
                    return before
            return None
    return None


def _turn_boundary(events: List[Event], start: int) -> Optional[int]:
    """The first `action_listen` at or after `start` (a turn boundary), if it is not at the very start."""
    if start <= 0:
        return None
    for index in range(start, len(events)):
        event = events[index]
        if isinstance(event, ActionExecuted) and event.action_name == ACTION_LISTEN_NAME:
            return index
    return None
