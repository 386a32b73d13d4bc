"""Settings: environment, .env files and the clear errors for bad values."""
import dataclasses
from pathlib import Path

import pytest

from bot.config.settings import ConfigError, load_settings, parse_env_file, redact_url


def test_defaults_use_sqlite_under_var_and_loopback(tmp_path: Path):
    settings = load_settings(environ={}, env_file=tmp_path / "none.env")
    assert settings.database_url.startswith("sqlite:///") and settings.database_url.endswith("var/kap.db")
    assert (settings.rasa_host, settings.rasa_port) == ("127.0.0.1", 5005)
    assert settings.actions_port == 5055 and settings.web_port == 8000
    assert settings.ack_timeout_minutes == {"emergency": 5, "urgent": 30}
    assert settings.alert_include_text is False


def test_env_file_is_read_and_environment_wins(tmp_path: Path):
    env_file = tmp_path / ".env"
    env_file.write_text(
        "# comment\n\nexport WEB_PORT=8100\nRASA_PORT='5100'\nSMTP_HOST=\"mail.example\"  # inline\n"
        "SMTP_STARTTLS=yes\n",
        encoding="utf-8",
    )
    settings = load_settings(environ={"WEB_PORT": "8200"}, env_file=env_file)
    assert settings.web_port == 8200
    assert settings.rasa_port == 5100
    assert settings.smtp_host == "mail.example"
    assert settings.smtp_starttls is True


@pytest.mark.parametrize(
    "content, message",
    [
        ("WEB_PORT 8000\n", "line 1 is not KEY=VALUE"),
        ("OK=1\nSMTP_HOST='unclosed\n", "line 2 has an unclosed ' quote"),
        ("A='x' y\n", "text after the closing quote"),
        ("1BAD=2\n", "line 1 is not KEY=VALUE"),
    ],
)
def test_malformed_env_file_names_the_line(tmp_path: Path, content: str, message: str):
    env_file = tmp_path / ".env"
    env_file.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        parse_env_file(env_file)


def test_env_file_that_is_not_utf8_is_a_clear_error(tmp_path: Path):
    env_file = tmp_path / ".env"
    env_file.write_bytes(b"SMTP_HOST=caf\xe9\n")
    with pytest.raises(ConfigError, match="not valid UTF-8"):
        parse_env_file(env_file)


@pytest.mark.parametrize(
    "environ, message",
    [
        ({"RASA_PORT": "abc"}, "RASA_PORT must be a whole number"),
        ({"WEB_PORT": "70000"}, "WEB_PORT must be between 1 and 65535"),
        ({"SMTP_STARTTLS": "maybe"}, "SMTP_STARTTLS must be true or false"),
        ({"DATABASE_URL": "kap.db"}, "DATABASE_URL must look like"),
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL must be one of"),
    ],
)
def test_bad_values_are_one_line_errors(tmp_path: Path, environ: dict, message: str):
    with pytest.raises(ConfigError, match=message) as caught:
        load_settings(environ=environ, env_file=tmp_path / "none.env")
    assert "\n" not in str(caught.value)


def test_redact_url_hides_the_password():
    assert redact_url("postgresql://kap:s3cret@db:5432/kap") == "postgresql://kap:***@db:5432/kap"
    assert redact_url("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"


def test_a_bad_value_from_pydantic_is_a_config_error_naming_the_variable(tmp_path: Path):
    with pytest.raises(ConfigError, match="ACK_TIMEOUT_URGENT_MINUTES must be between 1 and 1440, not 0"):
        load_settings(environ={"ACK_TIMEOUT_URGENT_MINUTES": "0"}, env_file=tmp_path / "none.env")
    with pytest.raises(ConfigError, match="REDIS_URL must look like redis://"):
        load_settings(environ={"REDIS_URL": "http://cache"}, env_file=tmp_path / "none.env")


def test_a_malformed_line_is_an_error_not_a_dotenv_warning(tmp_path: Path, caplog):
    env_file = tmp_path / ".env"
    env_file.write_text("OK=1\nNOT A SETTING\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="line 2 is not KEY=VALUE"):
        parse_env_file(env_file)
    assert not caplog.records


def test_settings_are_immutable_and_empty_values_mean_the_default(tmp_path: Path):
    settings = load_settings(environ={"WEB_PORT": "", "ACK_TIMEOUT_URGENT_MINUTES": "45"},
                             env_file=tmp_path / "none.env")
    assert settings.web_port == 8000 and settings.public_base_url == "http://127.0.0.1:8000"
    assert settings.ack_timeout_minutes == {"emergency": 5, "urgent": 45}
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.web_port = 9000
    assert dataclasses.replace(settings, web_port=9000).web_port == 9000
