"""`python -m bot`: operator commands (see bot/service/cli.py)."""
import sys

from bot.service.cli import main

sys.exit(main())
