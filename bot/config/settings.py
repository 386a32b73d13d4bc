"""Every environment variable the system reads, read here and only here.

Values come from the process environment first, then from a `.env` file in the
repository root. A malformed `.env` or a bad value raises `ConfigError` with one
line that says what to fix; callers print it and exit.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Optional

REPO_ROOT = Path(__file__).resolve().parents[2]
VAR_DIR = REPO_ROOT / "var"

_ENV_LINE = re.compile(r"^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$")


class ConfigError(Exception):
    """A setting is missing or malformed; the message is one line for the user."""


@dataclass(frozen=True)
class Settings:
    """The resolved configuration of one process."""

    database_url: str
    spool_dir: Path = VAR_DIR / "spool"
    rasa_host: str = "127.0.0.1"
    rasa_port: int = 5005
    actions_port: int = 5055
    web_host: str = "127.0.0.1"
    web_port: int = 8000
    secret_key: str = ""
    public_base_url: str = "http://127.0.0.1:8000"
    log_level: str = "INFO"
    max_message_chars: int = 20_000
    alert_episode_minutes: int = 60
    ack_timeout_minutes: Mapping[str, int] = field(
        default_factory=lambda: {"emergency": 5, "urgent": 30}
    )
    alert_include_text: bool = False
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    smtp_sender: str = "kap-alerts@localhost"
    webhook_url: str = ""
    webhook_secret: str = ""
    smtp_timeout_seconds: int = 10
    webhook_timeout_seconds: int = 5
    dispatcher_poll_ms: int = 250
    dispatcher_workers: int = 4
    dispatcher_lease_seconds: int = 60
    delivery_backoff_base_ms: int = 1000
    delivery_backoff_max_seconds: int = 300
    ack_link_hours: int = 24
    digest_hour: int = 7
    session_timeout_minutes: int = 30
    session_max_hours: int = 12
    default_crisis_resource_set: str = "us"
    invite_link_hours: int = 72
    login_max_failures: int = 5
    login_lockout_minutes: int = 15
    chat_relay_timeout_seconds: int = 30
    trusted_proxies: int = 0
    safety_eval_dir: Optional[Path] = None
    demo: bool = True
    redis_url: str = ""

    @property
    def rasa_url(self) -> str:
        """Base URL of the Rasa server (loopback by default)."""
        return f"http://{self.rasa_host}:{self.rasa_port}"

    @property
    def actions_url(self) -> str:
        """Webhook URL of the action server, as Rasa calls it."""
        return f"http://127.0.0.1:{self.actions_port}/webhook"

    @property
    def web_url(self) -> str:
        """Base URL of the journal web app."""
        return f"http://{self.web_host}:{self.web_port}"


def parse_env_file(path: Path) -> dict[str, str]:
    """Parse a `.env` file of KEY=VALUE lines; blank lines and # comments are allowed."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read {path.name}: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path.name} is not valid UTF-8") from None
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _ENV_LINE.match(stripped)
        if not match:
            raise ConfigError(
                f"{path.name} line {number} is not KEY=VALUE: {_clip(stripped)!r}"
            )
        key, value = match.group(1), match.group(2).strip()
        values[key] = _unquote(value, path.name, number)
    return values


def load_settings(
    environ: Optional[Mapping[str, str]] = None, env_file: Optional[Path] = None
) -> Settings:
    """Resolve settings from the environment and the `.env` file."""
    environ = os.environ if environ is None else environ
    if env_file is None:
        env_file = Path(environ.get("KAP_ENV_FILE", REPO_ROOT / ".env"))
    merged = {**parse_env_file(env_file), **environ}
    get = merged.get

    database_url = get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'kap.db'}"
    if "://" not in database_url:
        raise ConfigError(
            "DATABASE_URL must look like sqlite:///path/to.db or "
            "postgresql://user:password@host:5432/name"
        )
    web_host = get("WEB_HOST", "127.0.0.1")
    web_port = _int(get, "WEB_PORT", 8000, 1, 65535)
    return Settings(
        database_url=database_url,
        spool_dir=Path(get("SPOOL_DIR") or VAR_DIR / "spool"),
        rasa_host=get("RASA_HOST", "127.0.0.1"),
        rasa_port=_int(get, "RASA_PORT", 5005, 1, 65535),
        actions_port=_int(get, "ACTIONS_PORT", 5055, 1, 65535),
        web_host=web_host,
        web_port=web_port,
        secret_key=get("SECRET_KEY", ""),
        public_base_url=get("PUBLIC_BASE_URL") or f"http://{web_host}:{web_port}",
        log_level=_choice(get, "LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR")),
        max_message_chars=_int(get, "MAX_MESSAGE_CHARS", 20_000, 100, 1_000_000),
        alert_episode_minutes=_int(get, "ALERT_EPISODE_MINUTES", 60, 0, 7 * 24 * 60),
        ack_timeout_minutes={
            "emergency": _int(get, "ACK_TIMEOUT_EMERGENCY_MINUTES", 5, 1, 24 * 60),
            "urgent": _int(get, "ACK_TIMEOUT_URGENT_MINUTES", 30, 1, 24 * 60),
        },
        alert_include_text=_bool(get, "ALERT_INCLUDE_TEXT", False),
        smtp_host=get("SMTP_HOST", ""),
        smtp_port=_int(get, "SMTP_PORT", 25, 1, 65535),
        smtp_username=get("SMTP_USERNAME", ""),
        smtp_password=get("SMTP_PASSWORD", ""),
        smtp_starttls=_bool(get, "SMTP_STARTTLS", False),
        smtp_sender=get("SMTP_SENDER", "kap-alerts@localhost"),
        webhook_url=get("WEBHOOK_URL", ""),
        webhook_secret=get("WEBHOOK_SECRET", ""),
        smtp_timeout_seconds=_int(get, "SMTP_TIMEOUT_SECONDS", 10, 1, 300),
        webhook_timeout_seconds=_int(get, "WEBHOOK_TIMEOUT_SECONDS", 5, 1, 300),
        dispatcher_poll_ms=_int(get, "DISPATCHER_POLL_MS", 250, 10, 60_000),
        dispatcher_workers=_int(get, "DISPATCHER_WORKERS", 4, 1, 64),
        dispatcher_lease_seconds=_int(get, "DISPATCHER_LEASE_SECONDS", 60, 1, 3600),
        delivery_backoff_base_ms=_int(get, "DELIVERY_BACKOFF_BASE_MS", 1000, 1, 600_000),
        delivery_backoff_max_seconds=_int(get, "DELIVERY_BACKOFF_MAX_SECONDS", 300, 1, 24 * 3600),
        ack_link_hours=_int(get, "ACK_LINK_HOURS", 24, 1, 30 * 24),
        digest_hour=_int(get, "DIGEST_HOUR", 7, -1, 23),
        session_timeout_minutes=_int(get, "SESSION_TIMEOUT_MINUTES", 30, 1, 24 * 60),
        session_max_hours=_int(get, "SESSION_MAX_HOURS", 12, 1, 7 * 24),
        default_crisis_resource_set=get("DEFAULT_CRISIS_RESOURCE_SET", "us"),
        invite_link_hours=_int(get, "INVITE_LINK_HOURS", 72, 1, 30 * 24),
        login_max_failures=_int(get, "LOGIN_MAX_FAILURES", 5, 1, 100),
        login_lockout_minutes=_int(get, "LOGIN_LOCKOUT_MINUTES", 15, 1, 24 * 60),
        chat_relay_timeout_seconds=_int(get, "CHAT_RELAY_TIMEOUT_SECONDS", 30, 1, 300),
        trusted_proxies=_int(get, "TRUSTED_PROXIES", 0, 0, 5),
        safety_eval_dir=Path(get("SAFETY_EVAL_DIR")) if get("SAFETY_EVAL_DIR") else None,
        demo=_bool(get, "KAP_DEMO", True),
        redis_url=_redis_url(get("REDIS_URL", "")),
    )


def redact_url(url: str) -> str:
    """Hide the password in a database URL so it can be printed."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def _unquote(value: str, filename: str, number: int) -> str:
    if value[:1] in ("'", '"'):
        quote = value[0]
        end = value.find(quote, 1)
        if end == -1:
            raise ConfigError(f"{filename} line {number} has an unclosed {quote} quote")
        rest = value[end + 1 :].strip()
        if rest and not rest.startswith("#"):
            raise ConfigError(f"{filename} line {number} has text after the closing quote")
        return value[1:end]
    return value.split(" #", 1)[0].strip()


def _redis_url(raw: str) -> str:
    if raw and not re.match(r"^rediss?://[^/\s]+(?::\d+)?(?:/\d+)?$", raw):
        raise ConfigError(f"REDIS_URL must look like redis://host:6379/0, not {_clip(raw)!r}")
    return raw


def _int(get, name: str, default: int, low: int, high: int) -> int:
    raw = get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {_clip(raw)!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, not {value}")
    return value


def _bool(get, name: str, default: bool) -> bool:
    raw = get(name)
    if raw in (None, ""):
        return default
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, not {_clip(raw)!r}")


def _choice(get, name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = (get(name) or default).upper()
    if raw not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, not {_clip(raw)!r}")
    return raw


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
