"""Links to alerts, and the signed, expiring tokens of acknowledgement links.

A token names one alert and one clinician and is signed with the web app's
SECRET_KEY, so the link in an email is itself the credential that lets that
clinician acknowledge that alert, until it expires.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Optional
from urllib.parse import quote

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from bot.config.secret_key import KEY_FILE, fixed_clock_signer, signing_key  # noqa: F401 (re-exported)

ALERT_PATH = "/alerts/{public_id}"
ACK_PATH = "/alerts/acknowledge"
REVIEW_PATH = "/review"
_SALT = "kap.alert.acknowledge"
SECRET_KEY_FILE = KEY_FILE


class InvalidToken(Exception):
    """The token was not signed with our key, or is malformed."""


class ExpiredToken(InvalidToken):
    """The token was ours but is older than allowed."""


@dataclass(frozen=True)
class AckClaim:
    """What a valid acknowledgement token says."""

    alert_public_id: str
    clinician_id: int


def alert_url(base_url: str, public_id: str) -> str:
    """The web app's page for one alert."""
    return base_url.rstrip("/") + ALERT_PATH.format(public_id=public_id)


def ack_url(base_url: str, token: str) -> str:
    """The acknowledgement link that carries `token`."""
    return f"{base_url.rstrip('/')}{ACK_PATH}?token={quote(token)}"


def review_url(base_url: str) -> str:
    """The web app's review queue."""
    return base_url.rstrip("/") + REVIEW_PATH


def make_ack_token(secret_key: str, alert_public_id: str, clinician_id: int,
                   now: Optional[datetime] = None) -> str:
    """A signed token for `clinician_id` to acknowledge one alert."""
    return _serializer(secret_key, now).dumps({"a": alert_public_id, "c": int(clinician_id)})


def read_ack_token(secret_key: str, token: str, max_age_seconds: int,
                   now: Optional[datetime] = None) -> AckClaim:
    """Verify a token; raise ExpiredToken or InvalidToken if it cannot be used."""
    try:
        data = _serializer(secret_key, now).loads(token, max_age=max_age_seconds)
    except SignatureExpired:
        raise ExpiredToken("this acknowledgement link has expired") from None
    except BadSignature:
        raise InvalidToken("this acknowledgement link is not valid") from None
    if not isinstance(data, dict) or not isinstance(data.get("a"), str) or not isinstance(data.get("c"), int):
        raise InvalidToken("this acknowledgement link is not valid")
    return AckClaim(data["a"], data["c"])



def _serializer(secret_key: str, now: Optional[datetime]) -> URLSafeTimedSerializer:
    if not secret_key:
        raise ValueError("no secret key to sign acknowledgement links with")
    signer = TimestampSigner if now is None else fixed_clock_signer(int(now.timestamp()))
    return URLSafeTimedSerializer(secret_key, salt=_SALT, signer=signer)
