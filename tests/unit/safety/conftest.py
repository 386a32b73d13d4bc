"""Fixtures for the safety screen tests: each screen is built once per session.

`safety_screen` is the rules alone: the tests that pin what a rule or a
context rule does run on it. `full_screen` adds the learned second reader, as
in production; tests of the reader and of what the whole screen promises run
on it.
"""
import pytest

from bot.safety import build_screen
from bot.safety.rules import load_rules


@pytest.fixture(scope="session")
def safety_screen():
    """The packaged rules, without the learned reader, built once."""
    return build_screen(reader=False)


@pytest.fixture(scope="session")
def full_screen():
    """The packaged screen as production builds it (rules and learned reader), built once."""
    return build_screen()


@pytest.fixture(scope="session")
def safety_rules():
    """The packaged rule set."""
    return load_rules()
