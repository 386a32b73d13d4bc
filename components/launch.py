"""`python -m components.launch ARGS`: the `rasa` command (Rasa server or action
server) without other libraries' deprecation warnings.

They are raised while Rasa is imported, before any of our plugins is, so the
hook (bot/config/library_warnings.py) goes in first, here.
"""
import sys

from bot.config.library_warnings import silence_library_deprecations


def main() -> None:
    """Install the hook, then hand over to Rasa's own command line."""
    silence_library_deprecations()
    from rasa.__main__ import main as rasa_main

    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()
