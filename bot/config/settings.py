"""Every environment variable the system reads, read here and only here.

Values come from the process environment first, then from a `.env` file in the
repository root, read with python-dotenv. pydantic checks and converts them;
`Settings` stays a frozen dataclass, so `dataclasses.replace` works on it. A
malformed `.env` or a bad value raises `ConfigError` with one line that says
what to fix; callers print it and exit.
"""
from __future__ import annotations

import io
import logging
import os
import re
from dataclasses import field, fields
from pathlib import Path
from typing import Any, Dict, Mapping, Optional

from dotenv import dotenv_values
from pydantic import ValidationError, conint, validator
from pydantic.dataclasses import dataclass

REPO_ROOT = Path(__file__).resolve().parents[2]
VAR_DIR = REPO_ROOT / "var"

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ASSIGNMENT = re.compile(r"^(?:export\s+)?[A-Za-z_][A-Za-z0-9_]*\s*=\s*(['\"]?)")
_REDIS_URL = re.compile(r"^rediss?://[^/\s]+(?::\d+)?(?:/\d+)?$")
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_ACK_ENV = {"emergency": "ACK_TIMEOUT_EMERGENCY_MINUTES", "urgent": "ACK_TIMEOUT_URGENT_MINUTES"}

Port = conint(ge=1, le=65535)
Seconds = conint(ge=1, le=300)
DayMinutes = conint(ge=1, le=24 * 60)


class ConfigError(Exception):
    """A setting is missing or malformed; the message is one line for the user."""


class _Checked:
    """pydantic's configuration for `Settings`."""

    extra = "forbid"


@dataclass(frozen=True, config=_Checked)
class Settings:
    """The resolved configuration of one process (a frozen dataclass, checked by pydantic).

    Each field is read from the environment variable of its name in capitals,
    except `demo` (KAP_DEMO) and `ack_timeout_minutes` (ACK_TIMEOUT_EMERGENCY_MINUTES
    and ACK_TIMEOUT_URGENT_MINUTES).
    """

    database_url: str
    spool_dir: Path = VAR_DIR / "spool"
    rasa_host: str = "127.0.0.1"
    rasa_port: Port = 5005
    actions_port: Port = 5055
    web_host: str = "127.0.0.1"
    web_port: Port = 8000
    secret_key: str = ""
    # Empty means the web app's own address (filled in by a validator).
    public_base_url: str = ""
    log_level: str = "INFO"
    max_message_chars: conint(ge=100, le=1_000_000) = 20_000
    screen_worker: bool = True
    alert_episode_minutes: conint(ge=0, le=7 * 24 * 60) = 60
    ack_timeout_minutes: Dict[str, DayMinutes] = field(
        default_factory=lambda: {"emergency": 5, "urgent": 30}
    )
    alert_include_text: bool = False
    smtp_host: str = ""
    smtp_port: Port = 25
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    smtp_sender: str = "kap-alerts@localhost"
    webhook_url: str = ""
    webhook_secret: str = ""
    smtp_timeout_seconds: Seconds = 10
    webhook_timeout_seconds: Seconds = 5
    dispatcher_poll_ms: conint(ge=10, le=60_000) = 250
    dispatcher_workers: conint(ge=1, le=64) = 4
    dispatcher_lease_seconds: conint(ge=1, le=3600) = 60
    delivery_backoff_base_ms: conint(ge=1, le=600_000) = 1000
    delivery_backoff_max_seconds: conint(ge=1, le=24 * 3600) = 300
    ack_link_hours: conint(ge=1, le=30 * 24) = 24
    digest_hour: conint(ge=-1, le=23) = 7
    session_timeout_minutes: DayMinutes = 30
    session_max_hours: conint(ge=1, le=7 * 24) = 12
    default_crisis_resource_set: str = "us"
    invite_link_hours: conint(ge=1, le=30 * 24) = 72
    login_max_failures: conint(ge=1, le=100) = 5
    login_lockout_minutes: DayMinutes = 15
    chat_relay_timeout_seconds: Seconds = 30
    trusted_proxies: conint(ge=0, le=5) = 0
    safety_eval_dir: Optional[Path] = None
    demo: bool = True
    redis_url: str = ""

    @validator("database_url")
    def _database_url_has_a_scheme(cls, value: str) -> str:
        if "://" not in value:
            raise ValueError(
                "must look like sqlite:///path/to.db or postgresql://user:password@host:5432/name"
            )
        return value

    @validator("public_base_url", always=True)
    def _public_base_url_defaults_to_the_web_app(cls, value: str, values: dict) -> str:
        return value or f"http://{values.get('web_host', '127.0.0.1')}:{values.get('web_port', 8000)}"

    @validator("log_level", pre=True)
    def _log_level_is_known(cls, value: Any) -> str:
        value = str(value).upper()
        if value not in _LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(_LOG_LEVELS)}, not {_clip(value)!r}")
        return value

    @validator("ack_timeout_minutes", pre=True)
    def _ack_timeouts_keep_their_defaults(cls, value: Any) -> Any:
        return {"emergency": 5, "urgent": 30, **value} if isinstance(value, Mapping) else value

    @validator("redis_url")
    def _redis_url_shape(cls, value: str) -> str:
        if value and not _REDIS_URL.match(value):
            raise ValueError(f"must look like redis://host:6379/0, not {_clip(value)!r}")
        return value

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


# Field name -> the environment variable it is read from (ack_timeout_minutes is read from two).
_ENV_NAMES = {
    f.name: {"demo": "KAP_DEMO"}.get(f.name, f.name.upper())
    for f in fields(Settings) if f.name != "ack_timeout_minutes"
}


def parse_env_file(path: Path) -> dict[str, str]:
    """Read a `.env` file of KEY=VALUE lines with python-dotenv; blank lines and # comments are allowed."""
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
    unparsed = _UnparsedLines()
    dotenv_logger = logging.getLogger("dotenv.main")
    dotenv_logger.addFilter(unparsed)
    try:
        # No ${VAR} expansion: a password with a "$" in it stays as written.
        values = dotenv_values(stream=io.StringIO(text), interpolate=False)
    finally:
        dotenv_logger.removeFilter(unparsed)
    lines = text.splitlines()
    if unparsed.numbers:
        number = unparsed.numbers[0]
        raise ConfigError(f"{path.name} line {number} {_line_problem(lines, number)}")
    for key, value in values.items():
        if value is None or not _KEY.match(key):
            number = _line_of(lines, key)
            raise ConfigError(f"{path.name} line {number} is not KEY=VALUE: {_clip(lines[number - 1].strip())!r}")
    return dict(values)


def load_settings(
    environ: Optional[Mapping[str, str]] = None, env_file: Optional[Path] = None
) -> Settings:
    """Resolve settings from the environment and the `.env` file."""
    environ = os.environ if environ is None else environ
    if env_file is None:
        env_file = Path(environ.get("KAP_ENV_FILE", REPO_ROOT / ".env"))
    merged = {**parse_env_file(env_file), **environ}
    # An empty value means the default, as if the variable were not set.
    given = {name: merged[env] for name, env in _ENV_NAMES.items() if merged.get(env, "") != ""}
    given.setdefault("database_url", f"sqlite:///{VAR_DIR / 'kap.db'}")
    ack = {level: merged[env] for level, env in _ACK_ENV.items() if merged.get(env, "") != ""}
    try:
        return Settings(**given, ack_timeout_minutes=ack)
    except ValidationError as exc:
        raise _config_error(exc, merged) from None


def redact_url(url: str) -> str:
    """Hide the password in a database URL so it can be printed."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


class _UnparsedLines(logging.Filter):
    """Collects the line numbers python-dotenv could not parse (it only logs them) and keeps the log quiet."""

    def __init__(self) -> None:
        super().__init__()
        self.numbers: list[int] = []

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and "could not parse" in record.msg and record.args:
            self.numbers.append(int(record.args[0]))
            return False
        return True


def _line_problem(lines: list[str], number: int) -> str:
    """What is wrong with the statement python-dotenv gave up on at line `number`."""
    line = lines[number - 1].strip()
    opening = _ASSIGNMENT.match(line)
    if not opening:
        return f"is not KEY=VALUE: {_clip(line)!r}"
    quote = opening.group(1)
    if not quote:
        return f"is not KEY=VALUE: {_clip(line)!r}"
    rest = "\n".join([line[opening.end():], *lines[number:]])
    if quote not in rest:
        return f"has an unclosed {quote} quote"
    return "has text after the closing quote"


def _line_of(lines: list[str], key: str) -> int:
    pattern = re.compile(rf"^\s*(?:export\s+)?{re.escape(key)}(?:\s*=|\s*$)")
    return next((n for n, line in enumerate(lines, start=1) if pattern.match(line)), 1)


def _config_error(exc: ValidationError, given: Mapping[str, str]) -> ConfigError:
    """One line naming the variable, from pydantic's first complaint."""
    error = exc.errors()[0]
    loc = error["loc"]
    field_name = str(loc[0])
    if field_name == "ack_timeout_minutes":
        name = _ACK_ENV.get(str(loc[-1]), "ACK_TIMEOUT_*_MINUTES")
    else:
        name = _ENV_NAMES.get(field_name, field_name)
    raw = str(given.get(name, ""))
    kind = error["type"]
    if kind == "type_error.integer":
        return ConfigError(f"{name} must be a whole number, not {_clip(raw)!r}")
    if kind.startswith("value_error.number.not_"):
        bounds = Settings.__pydantic_model__.__fields__[field_name].type_
        return ConfigError(f"{name} must be between {bounds.ge} and {bounds.le}, not {raw.strip()}")
    if kind == "type_error.bool":
        return ConfigError(f"{name} must be true or false, not {_clip(raw)!r}")
    if kind == "value_error":
        return ConfigError(f"{name} {error['msg']}")
    return ConfigError(f"{name} is not valid ({error['msg']}): {_clip(raw)!r}")


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
