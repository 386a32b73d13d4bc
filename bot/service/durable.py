"""Writes that must not be lost: to the database now, or spooled until it returns.

A journal step or a screener answer is written at once when the database
answers. When it does not, the record goes to a local spool (one fsync'd file
per record, bot/service/spool.py) and a background thread writes it when the database
is back. Every record is a full snapshot whose handler is idempotent, so a
record written twice, or after a newer one, changes nothing.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session, sessionmaker

from bot.service.spool import Spool, SpoolDrainer

logger = logging.getLogger(__name__)

Handler = Callable[[Session, dict], Any]


@dataclass(frozen=True)
class Written:
    """The outcome of a write: stored in the database now, or kept in the spool."""

    stored: bool
    result: Any = None


class DurableWriter:
    """Applies records through per-kind handlers, spooling them when the database is away."""

    def __init__(
        self,
        session_factory: sessionmaker,
        spool_dir: Path,
        handlers: Mapping[str, Handler],
        *,
        max_backoff: float = 30.0,
    ) -> None:
        self._factory = session_factory
        self._handlers = dict(handlers)
        self.spool = Spool(spool_dir)
        self.rejected_dir = Path(spool_dir) / "rejected"
        self.drainer = SpoolDrainer(
            self.spool, self._drain_one, name="durable-writer", max_backoff=max_backoff
        )

    def start(self) -> "DurableWriter":
        """Start writing spooled records in the background (left over ones first)."""
        self.drainer.start()
        return self

    def stop(self) -> None:
        """Stop the background thread; what is still spooled stays on disk."""
        self.drainer.stop()

    def write(self, record: dict) -> Written:
        """Write `record` now; if the database cannot take it, spool it.

        Raises LookupError for a record no database could take (a sender who
        is not a patient), and OSError if the spool cannot be written either.
        """
        try:
            return Written(True, self._apply(record))
        except LookupError:
            raise
        except SQLAlchemyError as exc:
            logger.warning("database unavailable (%s); keeping a %s record in the spool",
                           _one_line(exc), record.get("kind"))
        except Exception:
            # Not the database being away, but the words must not be lost either:
            # the drainer tries once more and, failing that, keeps it in rejected/.
            logger.exception("writing a %s record failed; keeping it in the spool", record.get("kind"))
        self.drainer.submit(record)
        return Written(False)

    def pending(self) -> int:
        """Records still waiting in the spool."""
        return len(self.spool.pending())

    def _apply(self, record: dict) -> Any:
        handler = self._handlers[record["kind"]]
        with self._factory.begin() as session:
            return handler(session, record)

    def _drain_one(self, record: dict) -> None:
        try:
            self._apply(record)
        except (DBAPIError, PoolTimeoutError) as exc:
            if _is_transient(exc):
                raise  # the drainer keeps the record and retries with backoff
            self._set_aside(record, exc)
        except Exception as exc:  # a record that can never be written must not block the rest
            self._set_aside(record, exc)

    def _set_aside(self, record: dict, exc: BaseException) -> None:
        logger.error("a spooled %s record cannot be written (%s); kept in %s",
                     record.get("kind"), _one_line(exc), self.rejected_dir)
        Spool(self.rejected_dir).append({**record, "error": _one_line(exc)})


def _is_transient(exc: BaseException) -> bool:
    """True for errors that mean "the database is not there right now"."""
    if isinstance(exc, PoolTimeoutError):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        name = type(exc).__name__
        return name in {"OperationalError", "InterfaceError"}
    return False


def read_rejected(spool_dir: Path) -> list[dict]:
    """Records set aside as unwritable, for an operator to look at."""
    directory = Path(spool_dir) / "rejected"
    if not directory.is_dir():
        return []
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(directory.glob("*.json"))]


def _one_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"
