"""What the servers are started with: the runtime endpoints file and the environment."""
import dataclasses
import stat

import pytest
import yaml

from bot.config.secret_key import signing_key
from bot.service.cli import TRACKER_STORE, server_env, write_runtime_endpoints
from bot.service.credentials import ACTION_KEY_HEADER, action_server_key
from tests.helpers import make_settings


@pytest.fixture
def settings(settings):
    """The test settings with a signing key of their own (nothing read from var/)."""
    return dataclasses.replace(settings, secret_key="runtime-endpoints-test")


def test_the_runtime_endpoints_carry_the_tracker_store_and_the_action_key_privately(settings, tmp_path):
    path = write_runtime_endpoints(settings, tmp_path / "endpoints.yml")
    endpoints = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert endpoints["tracker_store"] == {"type": TRACKER_STORE, "url": settings.database_url}
    assert endpoints["action_endpoint"]["url"] == settings.actions_url
    assert endpoints["action_endpoint"]["headers"] == {ACTION_KEY_HEADER: action_server_key(signing_key(settings))}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_nothing_is_reported_to_rasas_vendor(settings):
    assert server_env(settings)["RASA_TELEMETRY_ENABLED"] == "false"


def _written(settings, tmp_path) -> dict:
    return yaml.safe_load(write_runtime_endpoints(settings, tmp_path / "endpoints.yml").read_text(encoding="utf-8"))


def test_without_redis_url_there_is_no_lock_store(tmp_path):
    settings = make_settings(tmp_path, SECRET_KEY="runtime-endpoints-test")
    assert "lock_store" not in _written(settings, tmp_path)


@pytest.mark.parametrize("url, store", [
    ("redis://127.0.0.1:6379/1", {"type": "redis", "url": "127.0.0.1", "port": 6379, "db": 1}),
    ("redis://cache.internal", {"type": "redis", "url": "cache.internal", "port": 6379, "db": 0}),
    ("redis://:s3cret@10.0.0.5:6390/0",
     {"type": "redis", "url": "10.0.0.5", "port": 6390, "db": 0, "password": "s3cret"}),
    ("rediss://kap:s%40cret@cache.internal:6380/2",
     {"type": "redis", "url": "cache.internal", "port": 6380, "db": 2, "username": "kap",
      "password": "s@cret", "use_ssl": True}),
])
def test_redis_url_becomes_a_redis_lock_store_that_rasa_builds(tmp_path, url, store):
    from rasa.core.lock_store import LockStore, RedisLockStore
    from rasa.utils.endpoints import EndpointConfig

    settings = make_settings(tmp_path, REDIS_URL=url, SECRET_KEY="runtime-endpoints-test")
    written = _written(settings, tmp_path)["lock_store"]
    assert written == store

    # Rasa 3.6 builds its lock store from exactly these keys (redis-py connects lazily).
    lock_store = LockStore.create(EndpointConfig.from_dict(written))
    assert isinstance(lock_store, RedisLockStore)
    connection = lock_store.red.connection_pool.connection_kwargs
    assert (connection["host"], connection["port"], connection["db"]) == (store["url"], store["port"], store["db"])
    assert connection.get("password") == store.get("password")
