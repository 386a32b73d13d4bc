"""What the servers are started with: the runtime endpoints file and the environment."""
import dataclasses
import stat

import pytest
import yaml

from bot.config.secret_key import signing_key
from bot.service.cli import server_env, write_runtime_endpoints
from bot.service.credentials import ACTION_KEY_HEADER, action_server_key


@pytest.fixture
def settings(settings):
    """The test settings with a signing key of their own (nothing read from var/)."""
    return dataclasses.replace(settings, secret_key="runtime-endpoints-test")


def test_the_runtime_endpoints_carry_the_tracker_store_and_the_action_key_privately(settings, tmp_path):
    path = write_runtime_endpoints(settings, tmp_path / "endpoints.yml")
    endpoints = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert endpoints["tracker_store"] == {"type": "SQL", "url": settings.database_url}
    assert endpoints["action_endpoint"]["url"] == settings.actions_url
    assert endpoints["action_endpoint"]["headers"] == {ACTION_KEY_HEADER: action_server_key(signing_key(settings))}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_nothing_is_reported_to_rasas_vendor(settings):
    assert server_env(settings)["RASA_TELEMETRY_ENABLED"] == "false"
