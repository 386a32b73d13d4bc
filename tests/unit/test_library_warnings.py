"""Libraries' deprecation warnings are dropped; ours, and every other kind, are shown."""
import sysconfig
import warnings
from pathlib import Path

import pytest

from bot.config import library_warnings
from bot.config.library_warnings import is_library_file, silence_library_deprecations

LIBRARY_FILE = str(Path(sysconfig.get_paths()["purelib"]) / "somelib" / "module.py")
OUR_FILE = str(Path(__file__))


@pytest.fixture
def shown(monkeypatch):
    """Install the hook over a recorder; return what reaches the screen."""
    seen = []
    monkeypatch.setattr(warnings, "showwarning", lambda message, category, *rest: seen.append(category))
    silence_library_deprecations()
    silence_library_deprecations()  # a second call adds nothing
    return seen


@pytest.mark.parametrize("category", [DeprecationWarning, PendingDeprecationWarning, FutureWarning])
def test_a_library_deprecation_is_dropped(shown, category):
    warnings.showwarning("old API", category, LIBRARY_FILE, 1)
    assert shown == []


def test_our_own_deprecation_and_a_library_user_warning_are_shown(shown):
    warnings.showwarning("we call an old API", DeprecationWarning, OUR_FILE, 1)
    warnings.showwarning("check your data", UserWarning, LIBRARY_FILE, 1)
    assert shown == [DeprecationWarning, UserWarning]


def test_library_files_are_those_under_site_packages():
    assert is_library_file(LIBRARY_FILE)
    assert not is_library_file(OUR_FILE)
    assert not is_library_file(str(Path(library_warnings.__file__)))
