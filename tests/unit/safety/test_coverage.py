"""The coverage map: every warning sign has rules with examples, and the README shows the current map."""
from pathlib import Path

from bot.safety.coverage import coverage, render

README = Path(__file__).resolve().parents[3] / "bot" / "safety" / "README.md"


def test_every_warning_sign_has_rules_with_examples():
    rows = coverage()
    gaps = [row["sign"] for row in rows if not row["rules"] or not row["fire"]]
    assert gaps == []


def test_the_readme_shows_the_current_map():
    text = README.read_text(encoding="utf-8")
    shown = text.split("<!-- coverage:start -->\n", 1)[1].split("<!-- coverage:end -->", 1)[0]
    assert shown == render(coverage()), "run `python -m bot.safety.coverage` and paste the table into the README"


def test_every_target_rule_serves_a_warning_sign():
    """A new rule joins the map: each target rule falls under one of its rows."""
    from bot.safety.rules import load_rules

    covered = {rule for row in coverage() for rule in row["rules"]}
    orphans = [rule.id for rule in load_rules().targets if rule.id not in covered]
    assert orphans == [], "add these rule ids to SIGNS in bot/safety/coverage.py"
