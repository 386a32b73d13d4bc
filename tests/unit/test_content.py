"""Content files load, pass their schema checks, and feed the right phase and locale."""
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.conversation.checkin import parse_dissociation, parse_rating, parse_sleep
from bot.content.crisis_resources import load_resource_sets, resources_for
from bot.content.exercises import load_exercise, load_exercises
from bot.content.prompts import PHASES, load_prompts, choose_prompt
from bot.content.schema import ContentError
from bot.content.themes import load_themes
from bot.conversation.crisis import crisis_close_reply, crisis_reply, format_plan, format_resources, medical_reply
from bot.conversation.grounding import exercise_named_in
from bot.course.phase import integration_phase
from bot.conversation.reflection import QUOTE_WORDS, reflect
from bot.storage.models import SafetyPlan

NOW = datetime(2026, 6, 10, 20, 0, tzinfo=timezone.utc)


def test_every_content_file_loads():
    prompts = load_prompts()
    assert len(prompts) >= 40
    assert all(sum(p.phase == phase for p in prompts) >= 10 for phase in PHASES)
    assert {"us", "ca", "gb", "ie", "za", "au", "nz"} <= set(load_resource_sets())
    assert {e.id for e in load_exercises()} == {
        "five_senses", "box_breathing", "breathing_478", "body_scan", "safe_place"
    }
    assert len(load_themes()) >= 5


ORIGINAL_PROMPT_IDS = {
    "sd.images", "sd.body", "sd.moment", "sd.emotion", "da.meaning", "da.intention", "da.shift",
    "da.question", "bs.themes", "bs.hard", "bs.question", "bs.change", "og.action",
    "og.gratitude", "og.compassion", "og.values",
}


def test_prompts_keep_their_ids_and_stay_brief():
    prompts = load_prompts()
    assert ORIGINAL_PROMPT_IDS <= {p.id for p in prompts}  # journal entries refer to them
    for prompt in prompts:
        assert len(prompt.text) <= 140 and len(prompt.follow_up or "") <= 100, prompt.id
        assert ("{intention}" in prompt.text) == prompt.uses_intention, prompt.id


def test_exercises_are_paced_steps_with_an_intro_and_a_closing():
    for exercise in load_exercises():
        assert 4 <= len(exercise.steps) <= 8, exercise.id
        assert exercise.intro and exercise.closing


EXERCISE = "version: 1\nid: calm\ntitle: Calm\nintro: In.\nsteps: [one, two]\nclosing: Out.\n"


@pytest.mark.parametrize(
    "yaml_text, message",
    [
        (EXERCISE + "colour: red\n", "unknown key"),
        (EXERCISE.replace("closing: Out.\n", ""), "missing key"),
        (EXERCISE.replace("[one, two]", "[]"), "non-empty list"),
        (EXERCISE.replace("id: calm", "id: Calm Down"), "id must be"),
        (EXERCISE.replace("[one, two]", "[one, '']"), "steps\\[1\\]"),
    ],
)
def test_malformed_exercise_files_are_rejected(tmp_path: Path, yaml_text: str, message: str):
    path = tmp_path / "calm.yml"
    path.write_text(yaml_text, encoding="utf-8")
    with pytest.raises(ContentError, match=message):
        load_exercise(path)


def test_duplicate_exercise_ids_are_rejected(tmp_path: Path):
    for name in ("a.yml", "b.yml"):
        (tmp_path / name).write_text(EXERCISE, encoding="utf-8")
    with pytest.raises(ContentError, match="duplicate id 'calm'"):
        load_exercises(tmp_path)


@pytest.mark.parametrize(
    "text, exercise_id",
    [("box breathing", "box_breathing"), ("4-7-8 pls", "breathing_478"), ("54321", "five_senses"),
     ("the 5 senses thing", "five_senses"), ("body scan", "body_scan"), ("my safe place", "safe_place"),
     ("i need to ground", None)],
)
def test_an_exercise_named_in_a_message(text, exercise_id):
    assert exercise_named_in(text) == exercise_id


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
    urgent = [u.response for u in crisis_reply("urgent", resources_for("us"))]
    assert urgent == [
        "utter_crisis_opening",
        "utter_crisis_resources",
        "utter_crisis_therapist_notified",
        "utter_cssrs_intro",
    ]
    emergency = crisis_reply("emergency", resources_for("gb"))
    assert [u.response for u in emergency][3] == "utter_crisis_emergency"
    assert emergency[3].variables == {"emergency": "999 or 112"}


def test_the_crisis_close_shows_the_plan_or_else_the_lines_again():
    plan = SafetyPlan(internal_coping=["breathe"], people_to_ask=["Sam"], professionals=[], environment_safety=[])
    closing = crisis_close_reply(True, resources_for("us"), format_plan(plan))
    assert [u.response for u in closing] == ["utter_cssrs_thanks", "utter_crisis_safety_plan"]
    assert "• Sam" in closing[1].variables["plan"]
    stopped = crisis_close_reply(False, resources_for("za"), None)
    assert [u.response for u in stopped] == ["utter_cssrs_stopped", "utter_crisis_resources_again"]
    assert "0800 567 567" in stopped[1].variables["resources"]


def test_medical_reply_is_not_a_suicide_protocol():
    reply = medical_reply("urgent", resources_for("us"), "nurse line")
    names = [u.response for u in reply]
    assert not any("crisis" in name for name in names)
    assert reply[1].variables == {"contact": "nurse line"}


def test_a_reflection_mirrors_length_themes_and_the_patients_own_words():
    brief = reflect("Purple light everywhere.")
    assert brief.response == "utter_journal_reflect_brief"
    assert brief.variables == {"quote": "Purple light everywhere"}
    medium = reflect(
        "The session was quiet for a long time. Then I remembered my grandmother's kitchen, "
        "and my little sister was there too."
    )
    assert medium.response == "utter_journal_reflect_themes"
    assert medium.variables["themes"] == "people close to you and memories"
    assert medium.variables["quote"].startswith("Then I remembered my grandmother's kitchen")
    assert medium.variables["quote"].endswith("…")
    assert len(medium.variables["quote"].split()) == QUOTE_WORDS
    long = reflect(" ".join(["I walked by the sea."] * 40))
    assert long.response == "utter_journal_reflect_long" and long.variables["words"] == 200


def test_a_flagged_entry_gets_a_gentle_reflection_without_quoting_it():
    for level in ("review", "urgent", "emergency"):
        assert reflect("Some dark words here, many of them.", level).response == "utter_journal_reflect_gentle"


@pytest.mark.parametrize(
    "text, entity, rating",
    [("7", None, 7), ("about a 4", None, 4), ("6/10", None, 6), ("ten", None, 10),
     ("12", None, 12), ("idk", None, None), ("/inform_rating", 3, 3)],
)
def test_ratings_from_buttons_or_typed_text(text, entity, rating):
    assert parse_rating(text, entity) == rating


@pytest.mark.parametrize(
    "text, sleep",
    [("slept well", "well"), ("not bad", "okay"), ("barely slept", "barely"),
     ("woke up a lot", "poorly"), ("slept badly", "poorly"), ("purple", None)],
)
def test_sleep_answers(text, sleep):
    assert parse_sleep(text) == sleep


@pytest.mark.parametrize(
    "text, intent, level",
    [("no", "deny", "none"), ("i feel present", "inform_dissociation", "none"),
     ("a little spacey", "inform_dissociation", "mild"), ("still very floaty", "inform_dissociation", "strong"),
     ("yes", "affirm", "mild")],
)
def test_dissociation_answers(text, intent, level):
    assert parse_dissociation(text, intent) == level
