"""`python -m bot.escalation.dispatcher`: delivers every alert, re-escalates the
unacknowledged ones and sends the daily digest.

All state lives in the database, so the process can be killed at any moment:
an alert it was sending keeps its `delivery_due_at`, its lease runs out, and
the next dispatcher sends it again to every target without a recorded success.
The database is polled every DISPATCHER_POLL_MS; deliveries run on a few
worker threads so that one slow server does not hold up other patients.
"""
from __future__ import annotations

import logging
import os
import random
import signal
import socket
import sys
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Callable, Optional, Sequence

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import sessionmaker

from bot.escalation import outbox, policy
from bot.escalation.alerts import alert_view, escalate_overdue, roster_for
from bot.escalation.notifiers import Notifier, build_notifiers
from bot.escalation.outbox import Target
from bot.config.library_warnings import silence_library_deprecations
from bot.config.settings import ConfigError, Settings, load_settings
from bot.storage.db import make_engine, make_session_factory
from bot.storage.models import CrisisAlert, Patient, utcnow

logger = logging.getLogger(__name__)

DIGEST_CHECK_SECONDS = 60.0


class Dispatcher:
    """Delivers due alerts through `notifiers`; `clock` and `rand` can be controlled."""

    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker,
        notifiers: Sequence[Notifier],
        *,
        clock: Callable[[], datetime] = utcnow,
        rand: Callable[[], float] = random.random,
        worker_id: Optional[str] = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.notifiers = list(notifiers)
        self.clock = clock
        self.rand = rand
        self.worker_id = (worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}")[:64]
        self._channels = {n.channel: n for n in self.notifiers}

    # -- one pass ---------------------------------------------------------------

    def run_once(self) -> int:
        """Escalate what is overdue, then deliver every due alert in turn; return deliveries completed."""
        self.escalate()
        return sum(bool(self.deliver(alert_id)) for alert_id in self.due())

    def escalate(self) -> list[str]:
        """Move overdue unacknowledged alerts to their next stage."""
        with self.sessions.begin() as session:
            return escalate_overdue(session, self.clock(), self.settings.ack_timeout_minutes)

    def due(self, limit: int = 100) -> list[int]:
        """Ids of alerts due for delivery now (none if no channel is configured)."""
        if not self.notifiers:
            return []
        with self.sessions() as session:
            return outbox.due_alert_ids(session, self.clock(), limit)

    def deliver(self, alert_id: int) -> Optional[bool]:
        """Claim one alert and send its pending targets.

        True: this revision is delivered everywhere. False: something failed
        and a retry is scheduled. None: another dispatcher has it, or it is not due.
        """
        lease = self.settings.dispatcher_lease_seconds
        with self.sessions.begin() as session:
            if not outbox.claim(session, alert_id, self.worker_id, self.clock(), lease):
                return None
        try:
            return self._deliver_claimed(alert_id)
        except Exception:
            logger.exception("delivering alert %s failed; it stays due", alert_id)
            return self._retry(alert_id, None, None, count_attempt=True)

    # -- delivery ---------------------------------------------------------------

    def _deliver_claimed(self, alert_id: int) -> Optional[bool]:
        lease = self.settings.dispatcher_lease_seconds
        with self.sessions() as session:
            alert = session.get(CrisisAlert, alert_id)
            patient = session.get(Patient, alert.patient_id)
            # Routed to whoever was on call when the alert was raised or last escalated.
            roster = roster_for(session, patient, alert.stage_started_at or alert.created_at)
            revision, attempts = alert.revision, alert.delivery_attempts
            targets = self._targets(alert, roster)
            done = outbox.delivered_keys(session, alert.id, revision)
            pending = [t for t in targets if t.key not in done]
            blocked, blocked_until = self._blocked_by_earlier(session, alert, roster)
            view = alert_view(session, alert, self.settings.public_base_url,
                              self.settings.alert_include_text, self.settings.ack_timeout_minutes)

        if not targets:
            with self.sessions.begin() as session:
                outbox.record_attempt(session, alert_id, Target("none", "-"), revision, False,
                                      "no recipient: no active clinician or channel target",
                                      self.clock())
            logger.error("alert %s has no one to go to; retrying later", view.public_id)
            return self._retry(alert_id, revision, attempts + 1, count_attempt=True)

        failed = waiting = 0
        for target in pending:
            if target.key in blocked:
                waiting += 1  # an older alert of this patient goes first on this target
                continue
            with self.sessions.begin() as session:
                if not outbox.renew(session, alert_id, self.worker_id, self.clock(), lease):
                    logger.warning("lost the lease on alert %s", view.public_id)
                    return None
            ok, detail = self._send(view, target)
            with self.sessions.begin() as session:
                outbox.record_attempt(session, alert_id, target, revision, ok, detail, self.clock())
            if not ok:
                failed += 1
                logger.warning("alert %s to %s:%s failed: %s", view.public_id,
                               target.channel, target.role, detail)

        if failed:
            return self._retry(alert_id, revision, attempts + 1, count_attempt=True)
        if waiting:
            when = max(self.clock() + timedelta(milliseconds=self.settings.dispatcher_poll_ms),
                       blocked_until or self.clock())
            with self.sessions.begin() as session:
                outbox.retry_at(session, alert_id, self.worker_id, revision, when, count_attempt=False)
            return False
        with self.sessions.begin() as session:
            completed = outbox.complete(session, alert_id, self.worker_id, revision,
                                        self.clock(), targets)
        if completed:
            logger.info("alert %s revision %s delivered to %d targets",
                        view.public_id, revision, len(targets))
        return completed

    def _targets(self, alert: CrisisAlert, roster: policy.Roster) -> list[Target]:
        people = policy.recipients(alert.level, alert.categories or [], alert.stage, roster)
        return [t for n in self.notifiers for t in n.targets(people)]

    def _blocked_by_earlier(self, session, alert: CrisisAlert, roster: policy.Roster):
        blocked: set[tuple[str, str]] = set()
        until: Optional[datetime] = None
        for earlier in outbox.earlier_pending(session, alert):
            done = outbox.delivered_keys(session, earlier.id, earlier.revision)
            keys = {t.key for t in self._targets(earlier, roster)} - done
            if keys:
                blocked |= keys
                due = earlier.delivery_due_at
                until = due if until is None or due < until else until
        return blocked, until

    def _send(self, view, target: Target) -> tuple[bool, str]:
        from bot.escalation.notifiers import DeliveryError

        try:
            return True, self._channels[target.channel].send(view, target)
        except DeliveryError as exc:
            return False, str(exc)
        except Exception as exc:  # a bug in one channel must not stop the others
            logger.exception("notifier %s raised", target.channel)
            return False, f"{type(exc).__name__} in the {target.channel} notifier"

    def _retry(self, alert_id: int, revision: Optional[int], attempt: Optional[int], *,
               count_attempt: bool) -> bool:
        try:
            with self.sessions.begin() as session:
                if revision is None or attempt is None:
                    alert = session.get(CrisisAlert, alert_id)
                    revision, attempt = alert.revision, alert.delivery_attempts + 1
                delay = policy.backoff_seconds(
                    attempt, self.settings.delivery_backoff_base_ms / 1000,
                    self.settings.delivery_backoff_max_seconds, self.rand)
                when = self.clock() + timedelta(seconds=delay)
                outbox.retry_at(session, alert_id, self.worker_id, revision, when,
                                count_attempt=count_attempt)
        except SQLAlchemyError:
            logger.warning("could not schedule a retry of alert %s; its lease will run out", alert_id)
        return False

    # -- the long-running loop --------------------------------------------------

    def run_forever(self, stop: threading.Event) -> None:
        """Poll, escalate and deliver until `stop` is set; survive a missing database."""
        poll = self.settings.dispatcher_poll_ms / 1000
        in_flight: dict[int, Future] = {}
        next_digest = time.monotonic()
        digest: Optional[Future] = None
        error_backoff = 0.0
        # One thread more than the delivery workers, for the digest.
        with ThreadPoolExecutor(self.settings.dispatcher_workers + 1,
                                thread_name_prefix="alert-delivery") as pool:
            while not stop.is_set():
                try:
                    self.escalate()
                    for alert_id, future in list(in_flight.items()):
                        if future.done():
                            del in_flight[alert_id]
                            if future.exception() is not None:
                                logger.warning("alert %s: %s; it stays due", alert_id,
                                               _one_line(future.exception()))
                    free = self.settings.dispatcher_workers - len(in_flight)
                    for alert_id in self.due() if free > 0 else []:
                        if alert_id in in_flight:
                            continue
                        if len(in_flight) >= self.settings.dispatcher_workers:
                            break
                        in_flight[alert_id] = pool.submit(self.deliver, alert_id)
                    if time.monotonic() >= next_digest and (digest is None or digest.done()):
                        next_digest = time.monotonic() + DIGEST_CHECK_SECONDS
                        digest = pool.submit(self._digest)
                    error_backoff = 0.0
                except SQLAlchemyError as exc:
                    error_backoff = min(30.0, max(poll, error_backoff * 2))
                    logger.warning("database unavailable (%s); retrying in %.1f s",
                                   _one_line(exc), error_backoff)
                stop.wait(error_backoff or poll)

    def _digest(self) -> None:
        """Send today's review digests if their hour has come (runs on a worker)."""
        if self.settings.digest_hour < 0 or not self.settings.smtp_host:
            return
        from bot.escalation.digest import send_digests

        try:
            send_digests(self.sessions, self.settings, self.clock())
        except Exception:
            logger.exception("the daily digest failed; trying again later")


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the dispatcher until SIGTERM or Ctrl-C."""
    silence_library_deprecations()
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    logging.basicConfig(level=settings.log_level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    notifiers = build_notifiers(settings)
    if not notifiers:
        logger.warning("no alert channel configured (set SMTP_HOST and/or WEBHOOK_URL): "
                       "alerts are stored and re-escalated but not sent")
    elif settings.webhook_url and not settings.webhook_secret:
        logger.warning("WEBHOOK_SECRET is not set: webhook calls go out unsigned")
    dispatcher = Dispatcher(settings, make_session_factory(make_engine(settings.database_url)),
                            notifiers)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    logger.info("alert dispatcher %s started (%s)", dispatcher.worker_id,
                ", ".join(n.channel for n in notifiers) or "no channels")
    dispatcher.run_forever(stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
