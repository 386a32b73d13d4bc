"""The signing key shared by the web app and alert links when SECRET_KEY is unset."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from itsdangerous import TimestampSigner

from bot.config.settings import VAR_DIR, Settings

KEY_FILE = VAR_DIR / "secret_key"


def load_or_create_secret_key(key_file: Path = KEY_FILE) -> str:
    """Read the stored key, creating it (mode 600) on first use.

    The key is written to a private temporary file and published with a hard
    link, which fails if another process published first: every process ends
    up reading the same complete key, never an empty or half-written one.
    """
    try:
        key = key_file.read_text(encoding="ascii").strip()
        if key:
            return key
    except FileNotFoundError:
        pass
    key_file.parent.mkdir(parents=True, exist_ok=True)
    temp = key_file.with_name(f".{key_file.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(secrets.token_hex(32))
        handle.flush()
        os.fsync(handle.fileno())
    try:
        os.link(temp, key_file)
    except FileExistsError:
        pass
    finally:
        temp.unlink()
    return key_file.read_text(encoding="ascii").strip()


def signing_key(settings: Settings, key_file: Path = KEY_FILE) -> str:
    """SECRET_KEY, or the key kept under var/ when SECRET_KEY is unset.

    Every process of one installation signs and checks with this key: the web
    app's sessions, acknowledgement links, chat tokens and the action server's
    credential. Several machines share it by setting SECRET_KEY.
    """
    if settings.secret_key:
        return settings.secret_key
    return load_or_create_secret_key(key_file)


def fixed_clock_signer(timestamp: int) -> type:
    """An itsdangerous signer whose clock reads `timestamp`: to sign as of, or check against, a set time."""
    class FixedClockSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return timestamp

    return FixedClockSigner
