"""A durable local queue: each record is one fsync'd JSON file.

A process that must not lose a record (a patient's message and its safety
assessment) appends it here first, then a `SpoolDrainer` writes it to the
database in the background. If the database is locked or down, the file stays
and is retried; if the process dies, the next one finds the file. Handlers must
be idempotent, because a record can be handled again after a crash.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Callable, Optional

logger = logging.getLogger(__name__)

_CLAIM_SUFFIX = ".claimed"
_STALE_CLAIM_SECONDS = 60.0


class Spool:
    """Append-only record files in one directory, taken in order of arrival."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def append(self, record: dict) -> Path:
        """Write `record` durably and return its file."""
        name = f"{time.time_ns():020d}-{uuid.uuid4().hex[:12]}.json"
        final = self.directory / name
        temp = self.directory / f".{name}.tmp"
        data = json.dumps(record, ensure_ascii=False).encode("utf-8")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(temp, final)
        _fsync_dir(self.directory)
        return final

    def pending(self) -> list[Path]:
        """Unclaimed record files, oldest first."""
        return sorted(self.directory.glob("*.json"))

    def claim(self, path: Path) -> Optional[Path]:
        """Take a record for handling; None if another drainer took it first."""
        claimed = path.with_name(path.name + _CLAIM_SUFFIX)
        try:
            os.rename(path, claimed)
        except FileNotFoundError:
            return None
        return claimed

    def release(self, claimed: Path) -> None:
        """Put a claimed record back, to be retried."""
        try:
            os.rename(claimed, claimed.with_name(claimed.name[: -len(_CLAIM_SUFFIX)]))
        except FileNotFoundError:
            pass

    def done(self, claimed: Path) -> None:
        """Forget a handled record."""
        claimed.unlink(missing_ok=True)

    def recover_stale_claims(self, older_than: float = _STALE_CLAIM_SECONDS) -> int:
        """Return records claimed by a process that died to the queue."""
        cutoff = time.time() - older_than
        recovered = 0
        for claimed in self.directory.glob("*.json" + _CLAIM_SUFFIX):
            try:
                if claimed.stat().st_mtime < cutoff:
                    self.release(claimed)
                    recovered += 1
            except FileNotFoundError:
                continue
        return recovered

    @staticmethod
    def read(path: Path) -> dict:
        """Load one record file."""
        return json.loads(path.read_text(encoding="utf-8"))


class SpoolDrainer:
    """Hands spooled records, in order, to `handle` on a background thread.

    `handle(record)` raises to mean "retry later" (for example, the database is
    locked); the drainer then waits with exponential backoff, up to 30 s.

    With `handle_many(records)`, the records waiting are handed over up to
    `batch` at a time (one transaction for many turns under load), after
    `gather_seconds` to let those arriving together join. If a batch
    fails, its records are handled one at a time, in order, so that one bad
    record holds back only itself and those after it.
    """

    def __init__(
        self,
        spool: Spool,
        handle: Callable[[dict], None],
        *,
        name: str = "spool-drainer",
        max_backoff: float = 30.0,
        handle_many: Optional[Callable[[list[dict]], None]] = None,
        batch: int = 50,
        gather_seconds: float = 0.0,
    ) -> None:
        self.spool = spool
        self._handle = handle
        self._handle_many = handle_many
        self._batch = max(1, batch)
        self._gather = max(0.0, gather_seconds)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._max_backoff = max_backoff
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> "SpoolDrainer":
        """Start draining in the background."""
        self.spool.recover_stale_claims()
        self._thread.start()
        return self

    def submit(self, record: dict) -> None:
        """Spool a record durably and wake the drainer."""
        self.spool.append(record)
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop after the record in hand; what is left stays spooled."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def drain_once(self) -> int:
        """Handle every pending record now; return how many were handled.

        Stops at the first failure so that records keep their order.
        """
        pending = self.spool.pending()
        size = self._batch if self._handle_many is not None else 1
        return sum(self._drain_batch(pending[start:start + size]) for start in range(0, len(pending), size))

    def _drain_batch(self, paths: list[Path]) -> int:
        """Claim, read and hand over these records: together if there are several, else one by one, in order."""
        claimed, records = [], []
        for path in paths:
            taken = self.spool.claim(path)
            if taken is None:
                continue
            try:
                records.append(Spool.read(taken))
            except json.JSONDecodeError:
                _set_aside(taken)
                continue
            except Exception:
                for held in [*claimed, taken]:
                    self.spool.release(held)
                raise
            claimed.append(taken)
        if self._handle_many is not None and len(records) > 1:
            try:
                self._handle_many(records)
            except Exception:
                pass  # one record may be the cause: below, they are handled one at a time
            else:
                for taken in claimed:
                    self.spool.done(taken)
                return len(claimed)
        for index, (taken, record) in enumerate(zip(claimed, records)):
            try:
                self._handle(record)
            except Exception:
                for held in claimed[index:]:
                    self.spool.release(held)
                raise
            self.spool.done(taken)
        return len(claimed)

    def _run(self) -> None:
        backoff = 0.0
        while not self._stop.is_set():
            self._wake.wait(timeout=backoff or 5.0)
            if self._gather and not self._stop.is_set():
                self._stop.wait(self._gather)  # let the records arriving now join this batch
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                self.drain_once()
                backoff = 0.0
            except Exception as exc:
                backoff = min(self._max_backoff, max(0.5, backoff * 2))
                logger.warning(
                    "could not handle a spooled record in %s (%s); retrying in %.1f s",
                    self.spool.directory,
                    _one_line(exc),
                    backoff,
                )


def _set_aside(claimed: Path) -> None:
    logger.error("unreadable spool record %s kept aside", claimed.name)
    claimed.rename(claimed.with_suffix(".bad"))


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"
