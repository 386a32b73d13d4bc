"""Content files load, pass their schema checks, and feed the right phase and locale."""
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.content.crisis_resources import load_resource_sets, resources_for
from bot.content.prompts import load_prompts, choose_prompt
from bot.content.schema import ContentError
from bot.crisis import crisis_reply, format_plan, format_resources, medical_reply
from bot.phase import integration_phase
from bot.storage.models import SafetyPlan

NOW = datetime(2026, 6, 10, 20, 0, tzinfo=timezone.utc)


def test_every_content_file_loads():
    assert len(load_prompts()) >= 16
    assert {"us", "ca", "gb", "ie", "za", "au", "nz"} <= set(load_resource_sets())


def test_south_africa_gets_sadag_not_988():
    text = format_resources(resources_for("za"))
    assert "0800 567 567" in text and "10111" in text
    assert "988" not in text


@pytest.mark.parametrize(
    "yaml_text, message",
    [
        ("version: 1\nsets:\n  - {id: x, country: X, emergency: '1', lines: [{id: a, name: n, contact: c}], colour: red}\n", "unknown key"),
        ("version: 1\nsets:\n  - {id: x, country: X, lines: [{id: a, name: n, contact: c}]}\n", "missing key"),
        ("version: 1\nsets:\n  - {id: x, country: X, emergency: '1', lines: []}\n", "non-empty list"),
        ("version: 1\nsets: [\n", "not valid YAML"),
    ],
)
def test_malformed_resource_files_are_rejected(tmp_path: Path, yaml_text: str, message: str):
    path = tmp_path / "resources.yml"
    path.write_text(yaml_text, encoding="utf-8")
    with pytest.raises(ContentError, match=message):
        load_resource_sets(path)


def test_duplicate_prompt_ids_are_rejected(tmp_path: Path):
    path = tmp_path / "prompts.yml"
    path.write_text(
        "version: 1\nprompts:\n"
        + "".join(f"  - {{id: p{i}, phase: {p}, text: t}}\n" for i, p in enumerate(["same_day", "days_after", "before_session", "ongoing"]))
        + "  - {id: p0, phase: ongoing, text: again}\n",
        encoding="utf-8",
    )
    with pytest.raises(ContentError, match="duplicate id 'p0'"):
        load_prompts(path)


@pytest.mark.parametrize(
    "last, next_session, zone, expected",
    [
        (NOW - timedelta(hours=3), None, "UTC", "same_day"),
        # 20:00 UTC is 14:00 in Denver; an infusion at 09:00 Denver time is the same day there.
        (NOW - timedelta(hours=5), None, "America/Denver", "same_day"),
        (NOW - timedelta(days=2), None, "UTC", "days_after"),
        (NOW - timedelta(days=3), None, "UTC", "days_after"),
        (NOW - timedelta(days=6), NOW + timedelta(hours=30), "UTC", "before_session"),
        (NOW - timedelta(days=6), NOW + timedelta(days=5), "UTC", "ongoing"),
        (None, None, "UTC", "ongoing"),
    ],
)
def test_integration_phase(last, next_session, zone, expected):
    assert integration_phase(NOW, last, next_session, zone) == expected


def test_prompt_choice_avoids_recent_and_skipped_prompts():
    same_day = [p.id for p in load_prompts() if p.phase == "same_day"]
    first = choose_prompt("same_day", [], None)
    assert first.id == same_day[0]
    second = choose_prompt("same_day", [same_day[0]], None, skip=[same_day[1]])
    assert second.id == same_day[2]
    # Every prompt used: the least recent is offered again rather than none.
    again = choose_prompt("same_day", list(reversed(same_day)), None)
    assert again.id == same_day[0]


def test_intention_prompt_only_when_an_intention_exists():
    ids_without = {choose_prompt("days_after", [], None, skip=[]).id}
    prompt = next(p for p in load_prompts() if p.uses_intention)
    assert prompt.id not in ids_without
    assert "be kind" in prompt.render("be kind")


def test_crisis_reply_order_and_emergency_instruction():
    plan = SafetyPlan(internal_coping=["breathe"], people_to_ask=["Sam"], professionals=[], environment_safety=[])
    urgent = [u.response for u in crisis_reply("urgent", resources_for("us"), format_plan(plan))]
    assert urgent == [
        "utter_crisis_opening",
        "utter_crisis_resources",
        "utter_crisis_therapist_notified",
        "utter_crisis_safety_plan",
    ]
    emergency = crisis_reply("emergency", resources_for("gb"), None)
    call_now = next(u for u in emergency if u.response == "utter_crisis_emergency")
    assert call_now.variables == {"emergency": "999 or 112"}


def test_medical_reply_is_not_a_suicide_protocol():
    reply = medical_reply("urgent", resources_for("us"), "nurse line")
    names = [u.response for u in reply]
    assert not any("crisis" in name for name in names)
    assert reply[1].variables == {"contact": "nurse line"}
