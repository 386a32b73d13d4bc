"""The delivery queue, kept in crisis_alert itself.

An alert is due while `delivery_due_at` is set: some recipient of its current
revision has not been reached yet. A dispatcher takes an alert with a lease
(`claimed_by`, `claimed_until`), records every attempt as an AlertDelivery,
and clears `delivery_due_at` only when every target of the revision it sent
has a successful attempt, and only if the revision did not change meanwhile.
A dispatcher that dies simply lets its lease run out; the alert is then taken
again, and targets without a recorded success are sent again (at least once).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional, Sequence

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from bot.storage.models import AlertDelivery, AuditEvent, CrisisAlert


@dataclass(frozen=True)
class Target:
    """One place to deliver an alert: a channel and an address on it."""

    channel: str
    address: str
    clinician_id: Optional[int] = None
    role: str = ""

    @property
    def key(self) -> tuple[str, str]:
        """What identifies this target in the delivery log."""
        return (self.channel, self.address)


def due_alert_ids(session: Session, now: datetime, limit: int = 100) -> list[int]:
    """Alerts waiting for delivery whose time has come and that nobody holds, oldest first."""
    return list(session.scalars(
        select(CrisisAlert.id)
        .where(
            CrisisAlert.delivery_due_at.is_not(None),
            CrisisAlert.delivery_due_at <= now,
            or_(CrisisAlert.claimed_until.is_(None), CrisisAlert.claimed_until < now),
        )
        .order_by(CrisisAlert.id)
        .limit(limit)
    ))


def claim(session: Session, alert_id: int, worker: str, now: datetime, lease_seconds: float) -> bool:
    """Take a due alert for `lease_seconds`; False if it is not due or someone else holds it."""
    result = session.execute(
        update(CrisisAlert)
        .where(
            CrisisAlert.id == alert_id,
            CrisisAlert.delivery_due_at.is_not(None),
            CrisisAlert.delivery_due_at <= now,
            or_(CrisisAlert.claimed_until.is_(None), CrisisAlert.claimed_until < now,
                CrisisAlert.claimed_by == worker),
        )
        .values(claimed_by=worker, claimed_until=now + timedelta(seconds=lease_seconds))
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def renew(session: Session, alert_id: int, worker: str, now: datetime, lease_seconds: float) -> bool:
    """Extend our lease before the next send; False if we lost it."""
    result = session.execute(
        update(CrisisAlert)
        .where(CrisisAlert.id == alert_id, CrisisAlert.claimed_by == worker)
        .values(claimed_until=now + timedelta(seconds=lease_seconds))
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def delivered_keys(session: Session, alert_id: int, revision: int) -> set[tuple[str, str]]:
    """Targets that already have a successful delivery of `revision`."""
    rows = session.execute(
        select(AlertDelivery.channel, AlertDelivery.recipient).where(
            AlertDelivery.alert_id == alert_id,
            AlertDelivery.revision == revision,
            AlertDelivery.succeeded.is_(True),
        )
    ).all()
    return {(channel, recipient) for channel, recipient in rows}


def earlier_pending(session: Session, alert: CrisisAlert) -> list[CrisisAlert]:
    """The same patient's older alerts that still wait for delivery (for ordering)."""
    return list(session.scalars(
        select(CrisisAlert)
        .where(
            CrisisAlert.patient_id == alert.patient_id,
            CrisisAlert.id < alert.id,
            CrisisAlert.delivery_due_at.is_not(None),
        )
        .order_by(CrisisAlert.id)
    ))


def record_attempt(
    session: Session, alert_id: int, target: Target, revision: int, succeeded: bool,
    detail: str, at: datetime,
) -> None:
    """Log one attempt on one target."""
    session.add(AlertDelivery(
        alert_id=alert_id, channel=target.channel, recipient=target.address[:254],
        revision=revision, attempted_at=at, succeeded=succeeded, detail=detail[:2000],
    ))


def complete(session: Session, alert_id: int, worker: str, revision: int, now: datetime,
             targets: Sequence[Target]) -> bool:
    """Mark `revision` delivered and release the lease; False if the alert changed meanwhile."""
    result = session.execute(
        update(CrisisAlert)
        .where(CrisisAlert.id == alert_id, CrisisAlert.claimed_by == worker,
               CrisisAlert.revision == revision)
        .values(delivery_due_at=None, delivery_attempts=0, claimed_by=None, claimed_until=None)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        release(session, alert_id, worker)
        return False
    alert = session.get(CrisisAlert, alert_id)
    session.add(AuditEvent(
        occurred_at=now, actor_type="system", action="alert.delivered",
        object_type="crisis_alert", object_id=alert.public_id, patient_id=alert.patient_id,
        detail={"revision": revision,
                "targets": [f"{t.channel}:{t.role or t.address}" for t in targets]},
    ))
    return True


def retry_at(session: Session, alert_id: int, worker: str, revision: int, when: datetime,
             *, count_attempt: bool) -> None:
    """Release the lease and try again at `when` (unless a new revision is already due)."""
    values = {"delivery_due_at": when, "claimed_by": None, "claimed_until": None}
    if count_attempt:
        values["delivery_attempts"] = CrisisAlert.delivery_attempts + 1
    result = session.execute(
        update(CrisisAlert)
        .where(CrisisAlert.id == alert_id, CrisisAlert.claimed_by == worker,
               CrisisAlert.revision == revision)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        release(session, alert_id, worker)


def release(session: Session, alert_id: int, worker: str) -> None:
    """Give the lease back without changing when the alert is due."""
    session.execute(
        update(CrisisAlert)
        .where(CrisisAlert.id == alert_id, CrisisAlert.claimed_by == worker)
        .values(claimed_by=None, claimed_until=None)
        .execution_options(synchronize_session=False)
    )
