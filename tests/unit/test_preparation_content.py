"""The preparation content: the default checklist, its schema check, typed answers, offers and the window."""
from datetime import datetime, timedelta, timezone

import pytest

from bot.content.preparation import (
    CONFIRMED, NOT_YET, check_checklist, default_checklist, intention_questions, load_preparation, new_item_id,
    parse_readiness,
)
from bot.content.schema import ContentError
from bot.course.offers import (
    BEFORE_INFUSION, DEFAULT_OFFERS, WEEKLY, OffersError, check_offers, due_questionnaire,
)
from bot.course.phase import describe_when, in_preparation_window

NOW = datetime(2026, 12, 5, 18, 0, tzinfo=timezone.utc)


def test_the_default_checklist_covers_the_clinical_reference_with_stable_ids():
    assert [item.id for item in default_checklist()] == ["fasting", "ride_home", "medicines", "no_alcohol",
                                                         "comfort"]
    texts = " ".join(item.text for item in default_checklist()).lower()
    for needle in ("2 hours", "30 minutes", "drive", "medicines", "alcohol", "eye mask"):
        assert needle in texts
    assert intention_questions().question == "In one sentence, what would you like to explore or heal?"
    assert len(intention_questions().reflections) >= 2


@pytest.mark.parametrize("raw, message", [
    ([], "non-empty list"),
    ("fasting", "non-empty list"),
    ([{"id": "a", "text": "x"}] * 21, "at most 20"),
    ([{"id": "a", "text": "x"}, {"id": "a", "text": "y"}], "duplicate id 'a'"),
    ([{"id": "Bad Id", "text": "x"}], "id must be"),
    ([{"id": "a", "text": "  "}], "text is empty"),
    ([{"id": "a", "text": "x" * 401}], "longer than 400"),
    ([{"id": "a", "text": "x", "colour": "red"}], "unknown key(s) colour"),
    ([{"text": "x"}], "missing key(s) id"),
])
def test_a_malformed_checklist_is_refused_with_one_line(raw, message):
    with pytest.raises(ContentError, match=None) as caught:
        check_checklist(raw, "the checklist")
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_a_broken_preparation_file_names_itself(tmp_path):
    path = tmp_path / "preparation.yml"
    path.write_text("version: 1\nchecklist: []\nintention: {reflections: [], question: x}\n")
    with pytest.raises(ContentError, match="preparation.yml checklist: expected a non-empty list"):
        load_preparation(path)
    path.write_text("version: 2\nchecklist: []\nintention: {}\n")
    with pytest.raises(ContentError, match="unsupported version 2"):
        load_preparation(path)


@pytest.mark.parametrize("text, reading", [
    ("yes", CONFIRMED), ("yep sorted", CONFIRMED), ("Done ✅", CONFIRMED), ("all good", CONFIRMED),
    ("ok", CONFIRMED), ("ive arranged it", CONFIRMED), ("👍", CONFIRMED), ("confirmed", CONFIRMED),
    ("not yet", NOT_YET), ("no", NOT_YET), ("nope not sorted", NOT_YET), ("not ready", NOT_YET),
    ("i havent asked anyone yet", NOT_YET), ("will do tomorrow", NOT_YET), ("idk", NOT_YET),
    ("still need to ask my sister", NOT_YET), ("not_yet", NOT_YET),
    ("my sister", None), ("", None), ("purple", None),
])
def test_typed_answers_to_a_checklist_item(text, reading):
    assert parse_readiness(text) == reading


def test_a_new_item_gets_an_id_from_its_words_unique_in_the_list():
    assert new_item_id("Bring a water bottle!", set()) == "bring_a_water_bottle"
    assert new_item_id("Bring a water bottle!", {"bring_a_water_bottle"}) == "bring_a_water_bottle_2"
    assert new_item_id("!!!", set()) == "item"


def test_the_preparation_window_is_the_72_hours_before_an_infusion():
    assert in_preparation_window(NOW, NOW + timedelta(hours=72))
    assert in_preparation_window(NOW, NOW + timedelta(minutes=1))
    assert not in_preparation_window(NOW, NOW + timedelta(hours=72, seconds=1))
    assert not in_preparation_window(NOW, NOW - timedelta(minutes=1))
    assert not in_preparation_window(NOW, None)


def test_when_an_infusion_is_told_in_the_patients_zone():
    denver = "America/Denver"  # 11:00 there at NOW
    assert describe_when(NOW + timedelta(hours=2), NOW, denver) == "today at 13:00"
    assert describe_when(NOW + timedelta(hours=22), NOW, denver) == "tomorrow at 09:00"
    assert describe_when(NOW + timedelta(hours=70), NOW, denver) == "on Tuesday at 09:00"
    assert describe_when(NOW + timedelta(days=9), NOW, denver) == "on Monday 14 December at 11:00"


def test_offer_settings_are_checked():
    assert check_offers(None) == DEFAULT_OFFERS
    assert check_offers({"phq9": ["weekly"]}) == {"phq9": (WEEKLY,), "gad7": ()}
    with pytest.raises(OffersError, match="phq9 can be offered only"):
        check_offers({"phq9": ["daily"]})
    with pytest.raises(OffersError, match="must map"):
        check_offers({"beck": ["weekly"]})


def _due(offers=DEFAULT_OFFERS, next_infusion=None, last_infusion=None, **done):
    return due_questionnaire(offers, NOW, next_infusion=next_infusion, last_infusion=last_infusion,
                             last_completed=done)


def test_a_phq9_is_due_before_each_infusion_unless_taken_since_the_window_opened():
    soon = NOW + timedelta(hours=30)
    assert _due(next_infusion=soon) == "phq9"
    assert _due(next_infusion=soon, phq9=NOW - timedelta(hours=10), gad7=NOW) is None
    # taken before the window opened, and more than a week ago: due again
    assert _due(next_infusion=soon, phq9=NOW - timedelta(days=8), gad7=NOW) == "phq9"
    before_only = {"phq9": (BEFORE_INFUSION,), "gad7": ()}
    assert _due(before_only, next_infusion=soon, phq9=soon - timedelta(hours=73)) == "phq9"
    assert _due(before_only, next_infusion=NOW + timedelta(days=5)) is None


def test_weekly_offers_only_during_a_course():
    recent = NOW - timedelta(days=10)
    assert _due(last_infusion=recent) == "phq9"
    assert _due(last_infusion=recent, phq9=NOW - timedelta(days=3)) == "gad7"
    assert _due(last_infusion=recent, phq9=NOW - timedelta(days=3), gad7=NOW - timedelta(days=6)) is None
    assert _due(last_infusion=NOW - timedelta(days=40)) is None  # the course is over
    assert _due({"phq9": (), "gad7": ()}, last_infusion=recent) is None  # the clinic offers none
