"""The credentials between our own processes: chat tokens and the action server's key.

A chat token proves that the web app signed this patient in. The web app
issues one per relayed message, bound to the patient's sender id and valid for
a couple of minutes; the REST channel refuses any message without one that
matches its sender. Tokens are signed with the installation's signing key
(`bot.config.secret_key.signing_key`), which the web app and Rasa share.

The action server's key is derived from the same signing key, so Rasa and the
action server agree on it without another setting; Rasa sends it in a header
on every call, and the action server refuses calls without it.
"""
from __future__ import annotations

import hashlib
import hmac
import time
from typing import Optional

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from bot.config.secret_key import fixed_clock_signer

CHAT_TOKEN_SECONDS = 120
# Tolerated difference between the clocks of the web app's and Rasa's machines.
CLOCK_LEEWAY_SECONDS = 5
AUTHORIZATION_SCHEME = "Bearer"
ACTION_KEY_HEADER = "X-KAP-Action-Key"
_CHAT_SALT = "kap.chat-token.v1"
_ACTION_KEY_LABEL = b"kap.action-server.v1"


class CredentialError(Exception):
    """The credential is missing, forged, expired or made for someone else."""


def issue_chat_token(secret_key: str, sender_id: str, issued_at: Optional[int] = None) -> str:
    """A short-lived token that lets the bearer speak as `sender_id`, and no one else.

    `issued_at` (epoch seconds) is for tests of expiry; the clock is used otherwise.
    """
    return _serializer(secret_key, issued_at).dumps({"s": sender_id})


def check_chat_token(secret_key: str, token: Optional[str], sender_id: str,
                     max_age: int = CHAT_TOKEN_SECONDS) -> None:
    """Raise CredentialError unless `token` is ours, unexpired and made for `sender_id`."""
    if not token:
        raise CredentialError("no credential")
    try:
        # Checked against a clock a few seconds ahead, so a token from a machine whose clock
        # runs slightly fast is not "from the future"; the leeway is added to its age limit too.
        checker = _serializer(secret_key, int(time.time()) + CLOCK_LEEWAY_SECONDS)
        claim = checker.loads(token, max_age=max_age + CLOCK_LEEWAY_SECONDS)
    except SignatureExpired:
        raise CredentialError("expired credential") from None
    except BadSignature:
        raise CredentialError("invalid credential") from None
    if not isinstance(claim, dict) or not hmac.compare_digest(str(claim.get("s", "")), sender_id):
        raise CredentialError("credential made for another sender")


def bearer_token(authorization: Optional[str]) -> Optional[str]:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != AUTHORIZATION_SCHEME.lower() or not token.strip():
        return None
    return token.strip()


def action_server_key(secret_key: str) -> str:
    """The key Rasa sends to the action server, derived from the signing key."""
    if not secret_key:
        raise ValueError("no signing key to derive the action server's key from")
    return hmac.new(secret_key.encode("utf-8"), _ACTION_KEY_LABEL, hashlib.sha256).hexdigest()


def same_key(expected: str, presented: object) -> bool:
    """True if `presented` (a header value, perhaps absent) is `expected`; constant time."""
    return isinstance(presented, str) and bool(presented) and hmac.compare_digest(expected, presented)


def _serializer(secret_key: str, issued_at: Optional[int] = None) -> URLSafeTimedSerializer:
    if not secret_key:
        raise ValueError("no signing key for chat tokens")
    if issued_at is None:
        return URLSafeTimedSerializer(secret_key, salt=_CHAT_SALT)
    return URLSafeTimedSerializer(secret_key, salt=_CHAT_SALT, signer=fixed_clock_signer(int(issued_at)))
