"""Fixtures for the safety screen tests: the screen is built once per session."""
import pytest

from bot.safety import build_screen
from bot.safety.rules import load_rules


@pytest.fixture(scope="session")
def safety_screen():
    """The packaged screen, built once."""
    return build_screen()


@pytest.fixture(scope="session")
def safety_rules():
    """The packaged rule set."""
    return load_rules()
