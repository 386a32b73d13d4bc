"""Acknowledgement tokens and the key they are signed with."""
import dataclasses
from datetime import timedelta

import pytest

from bot.escalation.tokens import (
    ExpiredToken, InvalidToken, ack_url, alert_url, make_ack_token, read_ack_token, signing_key,
)
from bot.config.settings import load_settings
from bot.storage.models import utcnow


def test_a_token_names_one_alert_and_one_clinician_and_expires():
    now = utcnow()
    token = make_ack_token("k", "abc123", 7, now=now)
    claim = read_ack_token("k", token, 3600, now=now + timedelta(minutes=59))
    assert (claim.alert_public_id, claim.clinician_id) == ("abc123", 7)
    with pytest.raises(ExpiredToken):
        read_ack_token("k", token, 3600, now=now + timedelta(minutes=61))
    with pytest.raises(InvalidToken):
        read_ack_token("other", token, 3600, now=now)


def test_links_are_built_on_the_public_base_url():
    assert alert_url("https://kap.example/", "abc") == "https://kap.example/alerts/abc"
    assert ack_url("https://kap.example", "a.b-c") == "https://kap.example/alerts/acknowledge?token=a.b-c"


def test_without_secret_key_the_web_apps_key_file_is_used(tmp_path):
    settings = load_settings(environ={}, env_file=tmp_path / "absent.env")
    key_file = tmp_path / "secret_key"
    key_file.write_text("from-the-web-app\n", encoding="ascii")
    assert signing_key(settings, key_file) == "from-the-web-app"
    assert signing_key(dataclasses.replace(settings, secret_key="explicit"), key_file) == "explicit"


def test_a_missing_key_file_is_created_once(tmp_path):
    settings = load_settings(environ={}, env_file=tmp_path / "absent.env")
    key_file = tmp_path / "var" / "secret_key"
    first = signing_key(settings, key_file)
    assert len(first) == 64 and signing_key(settings, key_file) == first
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
