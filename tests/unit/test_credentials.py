"""Chat tokens and the action server's key."""
import time

import pytest

from bot.service.credentials import (CredentialError, action_server_key, bearer_token, check_chat_token,
                                     issue_chat_token, same_key)

KEY = "unit-test-key"


def test_a_token_speaks_for_its_sender_only():
    token = issue_chat_token(KEY, "demo-ava")
    check_chat_token(KEY, token, "demo-ava")
    with pytest.raises(CredentialError, match="another sender"):
        check_chat_token(KEY, token, "demo-jonah")


@pytest.mark.parametrize("token, reason", [
    (None, "no credential"), ("", "no credential"), ("x.y.z", "invalid"),
    (issue_chat_token("other-key", "demo-ava"), "invalid"),
    (issue_chat_token(KEY, "demo-ava", issued_at=int(time.time()) - 130), "expired"),
])
def test_bad_tokens_are_refused_with_a_reason(token, reason):
    with pytest.raises(CredentialError, match=reason):
        check_chat_token(KEY, token, "demo-ava")


@pytest.mark.parametrize("header, token", [
    ("Bearer abc", "abc"), ("bearer  abc ", "abc"), ("Basic abc", None), ("Bearer", None), ("", None), (None, None),
])
def test_the_bearer_token_is_read_from_the_header(header, token):
    assert bearer_token(header) == token


def test_the_action_server_key_is_derived_and_compared_safely():
    key = action_server_key(KEY)
    assert len(key) == 64 and key == action_server_key(KEY) and key != action_server_key("other")
    assert KEY not in key
    assert same_key(key, key) and not same_key(key, "") and not same_key(key, None) and not same_key(key, key[:-1])
    with pytest.raises(ValueError):
        action_server_key("")


def test_a_token_from_a_clock_a_few_seconds_fast_is_accepted_but_not_one_from_the_future():
    check_chat_token(KEY, issue_chat_token(KEY, "demo-ava", issued_at=int(time.time()) + 3), "demo-ava")
    with pytest.raises(CredentialError):
        check_chat_token(KEY, issue_chat_token(KEY, "demo-ava", issued_at=int(time.time()) + 60), "demo-ava")
