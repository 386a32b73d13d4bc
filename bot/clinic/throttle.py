"""Failed sign-ins, kept in the database so a lockout survives a restart.

Each failure is one row under a key: the account tried (`clinician:<email>`,
`patient:<code>`) and the client address (`addr:<ip>`). A key with
`max_failures` failures in the last `window` is locked until the oldest of
them leaves the window. An address gets a larger allowance than an account,
so one shared address does not lock a whole clinic out, while a password
sprayed across many accounts is still slowed. A success clears the
account's failures.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Iterable, Optional

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from bot.clinic.passwords import hash_password, verify_password
from bot.storage.models import LoginFailure, utcnow

ADDRESS_FACTOR = 4


@dataclass(frozen=True)
class Policy:
    """How many failures lock a key, and for how long they count."""

    max_failures: int
    window: timedelta

    def limit_for(self, key: str) -> int:
        """The allowance for a key: larger for a client address."""
        return self.max_failures * ADDRESS_FACTOR if key.startswith("addr:") else self.max_failures


def account_key(kind: str, identifier: str) -> str:
    """The key of an account, normalised so case does not give extra attempts."""
    return f"{kind}:{identifier.strip().lower()[:250]}"


def address_key(address: Optional[str]) -> str:
    """The key of a client address."""
    return f"addr:{(address or 'unknown')[:64]}"


def locked_for(session: Session, keys: Iterable[str], policy: Policy,
               now: Optional[datetime] = None) -> Optional[timedelta]:
    """How long until the first locked key unlocks, or None if none is locked."""
    now = now or utcnow()
    since = now - policy.window
    longest: Optional[timedelta] = None
    for key in keys:
        limit = policy.limit_for(key)
        times = session.scalars(
            select(LoginFailure.occurred_at)
            .where(LoginFailure.key == key, LoginFailure.occurred_at > since)
            .order_by(LoginFailure.occurred_at.desc())
            .limit(limit)
        ).all()
        if len(times) >= limit:
            wait = times[-1] + policy.window - now
            longest = wait if longest is None or wait > longest else longest
    return longest


def record_failure(session: Session, keys: Iterable[str], policy: Policy,
                   now: Optional[datetime] = None) -> None:
    """Count one failure against every key, and forget failures that no longer count."""
    now = now or utcnow()
    keys = list(keys)
    session.execute(
        delete(LoginFailure)
        .where(LoginFailure.key.in_(keys), LoginFailure.occurred_at <= now - policy.window)
        .execution_options(synchronize_session=False)
    )
    for key in keys:
        session.add(LoginFailure(key=key, occurred_at=now))


def clear_failures(session: Session, key: str) -> None:
    """Forget an account's failures after it signs in."""
    session.execute(delete(LoginFailure).where(LoginFailure.key == key)
                    .execution_options(synchronize_session=False))


def failure_count(session: Session, key: str) -> int:
    """How many failures a key holds (for tests and the operator)."""
    return session.scalar(select(func.count()).select_from(LoginFailure)
                          .where(LoginFailure.key == key)) or 0


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def verify_nothing(secret: str) -> bool:
    """Spend the time of one password check, for an account that does not exist."""
    verify_password(_dummy_hash(), secret)
    return False
