"""Alert policy: pure functions on plain data and an explicit clock."""
from datetime import datetime, timedelta, timezone

import pytest

from bot.escalation import policy
from bot.escalation.policy import Recipient, Roster

T0 = datetime(2026, 11, 21, 13, 0, tzinfo=timezone.utc)
THERAPIST = Recipient("therapist", "t@x.example", "T", 1)
ON_CALL = Recipient("on_call", "oc@x.example", "OC", 2)
ADMIN = Recipient("admin", "ad@x.example", "AD", 3)
MEDICAL = Recipient("medical", "med@x.example", "Nurse line")
ROSTER = Roster(THERAPIST, (ON_CALL,), (ADMIN,), MEDICAL)
TIMEOUTS = {"emergency": 5, "urgent": 30}


def emails(people):
    return [p.email for p in people]


@pytest.mark.parametrize("level, categories, stage, expected", [
    ("urgent", ["suicidal_ideation"], "therapist", [THERAPIST]),
    ("emergency", ["suicidal_behavior"], "therapist", [THERAPIST, ON_CALL]),
    ("urgent", ["medical"], "therapist", [THERAPIST, MEDICAL]),
    ("urgent", ["substance_misuse"], "therapist", [THERAPIST, MEDICAL]),
    ("urgent", ["suicidal_ideation"], "on_call", [THERAPIST, ON_CALL]),
    ("urgent", ["suicidal_ideation"], "admin", [THERAPIST, ON_CALL, ADMIN]),
    ("emergency", ["medical", "self_harm"], "admin", [THERAPIST, ON_CALL, ADMIN, MEDICAL]),
])
def test_routing_follows_level_stage_and_category(level, categories, stage, expected):
    assert policy.recipients(level, categories, stage, ROSTER) == expected


def test_an_inactive_therapist_falls_back_to_on_call_then_admin():
    assert policy.recipients("urgent", [], "therapist", Roster(None, (ON_CALL,), (ADMIN,))) == [ON_CALL]
    assert policy.recipients("urgent", [], "therapist", Roster(None, (), (ADMIN,))) == [ADMIN]
    assert policy.recipients("emergency", [], "therapist", Roster(THERAPIST, (), (ADMIN,))) == [THERAPIST, ADMIN]


def test_a_person_in_two_roles_gets_one_message():
    same = Recipient("on_call", THERAPIST.email.upper(), "T", 1)
    assert emails(policy.recipients("emergency", [], "therapist", Roster(THERAPIST, (same,)))) == [THERAPIST.email]


def test_no_medical_contact_means_no_medical_recipient():
    assert policy.recipients("urgent", ["medical"], "therapist", Roster(THERAPIST)) == [THERAPIST]


@pytest.mark.parametrize("minutes_later, status, window, joins", [
    (0, "open", 60, True),
    (60, "open", 60, True),
    (61, "open", 60, False),
    (10, "acknowledged", 60, True),
    (10, "resolved", 60, False),
    (0, "open", 0, False),
    (-5, "open", 60, True),  # a late-recorded earlier message still belongs
])
def test_episode_membership(minutes_later, status, window, joins):
    at = T0 + timedelta(minutes=minutes_later)
    assert policy.joins_episode(status=status, last_activity_at=T0, at=at, window_minutes=window) is joins


def test_merging_keeps_the_worse_level_and_adds_new_categories():
    same = policy.merge_into_episode("urgent", ["suicidal_ideation"], "urgent", ["suicidal_ideation"])
    assert (same.level, same.renotify) == ("urgent", False)
    worse = policy.merge_into_episode("urgent", ["suicidal_ideation"], "emergency", ["suicidal_behavior"])
    assert worse.level == "emergency" and worse.level_raised and worse.renotify
    assert worse.categories == ("suicidal_ideation", "suicidal_behavior")
    milder = policy.merge_into_episode("emergency", ["self_harm"], "urgent", ["medical"])
    assert milder.level == "emergency" and not milder.level_raised
    assert milder.added_categories == ("medical",) and milder.renotify


def test_escalation_deadlines_per_level_and_stage():
    assert policy.escalation_deadline("therapist", "emergency", T0, TIMEOUTS) == T0 + timedelta(minutes=5)
    assert policy.escalation_deadline("on_call", "urgent", T0, TIMEOUTS) == T0 + timedelta(minutes=30)
    assert policy.escalation_deadline("admin", "emergency", T0, TIMEOUTS) is None

    def due(status, stage, level, minutes):
        return policy.due_escalation(status=status, stage=stage, level=level, stage_started_at=T0,
                                     now=T0 + timedelta(minutes=minutes), timeouts=TIMEOUTS)

    assert due("open", "therapist", "emergency", 4.99) is None
    assert due("open", "therapist", "emergency", 5) == "on_call"
    assert due("open", "on_call", "emergency", 5) == "admin"
    assert due("open", "admin", "emergency", 500) is None
    assert due("acknowledged", "therapist", "emergency", 500) is None
    assert due("open", "therapist", "urgent", 29) is None
    assert due("open", "therapist", "urgent", 30) == "on_call"


def test_backoff_doubles_up_to_the_cap_with_bounded_jitter():
    low = [policy.backoff_seconds(n, 1.0, 60.0, lambda: 0.0) for n in range(1, 9)]
    high = [policy.backoff_seconds(n, 1.0, 60.0, lambda: 1.0) for n in range(1, 9)]
    assert high == [1, 2, 4, 8, 16, 32, 60, 60]
    assert low == [h / 2 for h in high]


def test_digest_hour():
    local = datetime(2026, 11, 21, 7, 0)
    assert policy.digest_due(local, 7) and policy.digest_due(local, 0)
    assert not policy.digest_due(local, 8)
    assert not policy.digest_due(local, -1)


def test_only_urgent_and_emergency_page():
    assert [lvl for lvl in policy.LEVELS if policy.needs_alert(lvl)] == ["urgent", "emergency"]
