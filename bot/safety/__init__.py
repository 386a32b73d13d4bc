"""Crisis and medical-risk screen for patient messages and journal entries.

    from bot.safety import build_screen
    screen = build_screen()          # once per process
    assessment = screen(text)        # per message; never raises

Importing this package is cheap: spaCy and medspaCy load in build_screen().
See bot/safety/README.md for the level policy and how to add a rule.
"""
from bot.safety.model import CATEGORIES, LEVELS, Assessment, Finding
from bot.safety.screen import Screen, build_screen, screen

__all__ = [
    "LEVELS",
    "CATEGORIES",
    "Finding",
    "Assessment",
    "Screen",
    "build_screen",
    "screen",
]
