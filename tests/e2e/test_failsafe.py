"""Fail safe: with the action server down, a patient in crisis still gets the crisis lines."""
import dataclasses

import pytest

from bot.service.cli import write_runtime_endpoints
from tests.helpers import free_port
from tests.servers import rasa_command, running, server_env

pytestmark = pytest.mark.e2e


def test_a_crisis_message_gets_resources_when_the_action_server_is_down(
    servers, trained_model, tmp_path
):
    rasa_port = free_port()
    dead_actions = dataclasses.replace(servers.settings, actions_port=free_port())
    endpoints = write_runtime_endpoints(dead_actions, tmp_path / "endpoints.yml")
    url = f"http://127.0.0.1:{rasa_port}"
    with running(
        {"rasa": rasa_command(trained_model, rasa_port, endpoints)},
        server_env(servers.settings, tmp_path),
        tmp_path / "logs",
        [f"{url}/webhooks/rest/"],
    ):
        from tests.servers import chat_token, post_json

        replies = post_json(
            f"{url}/webhooks/rest/webhook", {"sender": "demo-ava", "message": "i want to kil myself"},
            token=chat_token("demo-ava"),
        )
    text = " ".join(r.get("text", "") for r in replies)
    assert "having trouble answering" in text
    assert "988" in text and "911" in text
