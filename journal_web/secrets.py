"""The Flask secret key: from SECRET_KEY, or generated once and kept under var/."""
from __future__ import annotations

import os
import secrets

from bot.settings import VAR_DIR

KEY_FILE = VAR_DIR / "secret_key"


def load_or_create_secret_key() -> str:
    """Read the stored key, creating it (mode 600) on first use."""
    try:
        return KEY_FILE.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        KEY_FILE.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_hex(32)
        fd = os.open(KEY_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(key)
        return key
