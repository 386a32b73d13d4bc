"""The patient timeline: flagged spans, filters, search, pages, the mood chart and the audit of views."""
import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.storage.models import AuditEvent, JournalEntry, utcnow
from bot.clinic.timeline import TimelineFilter, highlight, timeline_page
from tests.web.conftest import add_entry


def _f(start, end, level="review", rule="r", text=None):
    return {"rule": rule, "category": "suicidal_ideation", "level": level, "start": start, "end": end,
            **({"text": text} if text else {})}


def test_plain_text_is_one_segment():
    h = highlight("nothing here", [])
    assert [(s.text, s.covering) for s in h.segments] == [("nothing here", ())]


def test_nested_spans_split_into_runs_covered_by_each():
    text = "I want to die tonight"
    h = highlight(text, [_f(0, 21, "review", "outer"), _f(2, 13, "urgent", "inner")])
    runs = [(s.text, s.covering, s.level) for s in h.segments]
    assert runs == [("I ", (1,), "review"), ("want to die", (1, 2), "urgent"), (" tonight", (1,), "review")]
    assert [s.ends for s in h.segments] == [(), (2,), (1,)]
    assert "".join(s.text for s in h.segments) == text


def test_overlapping_spans_keep_every_character_once():
    text = "abcdefghij"
    h = highlight(text, [_f(1, 6, rule="a"), _f(4, 9, "emergency", rule="b")])
    assert [(s.text, s.covering) for s in h.segments] == [
        ("a", ()), ("bcd", (1,)), ("ef", (1, 2)), ("ghi", (2,)), ("j", ())]
    assert h.segments[2].level == "emergency"


@pytest.mark.parametrize("finding", [
    _f(5, 500), _f(-1, 3), _f(4, 2), {"rule": "x", "level": "urgent"}, _f(0, 3, text="zzz"),
])
def test_a_span_that_does_not_fit_is_listed_not_dropped_nor_crashing(finding):
    h = highlight("short text", [finding])
    assert "".join(s.text for s in h.segments) == "short text"
    assert h.unplaced == (finding,)


def test_a_stale_span_is_found_again_by_its_text():
    h = highlight("new words first, then I want to die", [_f(0, 11, text="I want to die")])
    flagged = [s.text for s in h.segments if s.covering]
    assert flagged == ["I want to die"] and not h.unplaced


def test_the_timeline_shows_highlights_with_rule_category_and_level(client, auth, world):
    auth.login()
    page = client.get(f"/patients/{world.ava}").get_data(as_text=True)
    assert 'class="flag lvl-emergency" title="urgent · suicidal ideation · rule si.want_to_die; ' \
           'emergency · suicidal behavior · rule sb.plan">want to die</mark>' in page
    # The tap target: a numbered link to the finding's description.
    assert re.search(r'<a class="flag-ref lvl-urgent" href="#j\d+-f1"', page)
    assert re.search(r'<li id="j\d+-f1">', page)


def test_the_timeline_has_every_kind(client, auth, world):
    auth.login()
    page = client.get(f"/patients/{world.ava}").get_data(as_text=True)
    for kind in ("kind-journal", "kind-checkin", "kind-grounding", "kind-infusion", "kind-alert", "kind-chat"):
        assert kind in page, kind
    assert "8 → 4 /10" in page  # distress before and after grounding


def test_filters_by_kind_flagged_and_search(client, auth, world):
    auth.login()
    only_checkins = client.get(f"/patients/{world.ava}?kind=checkin").get_data(as_text=True)
    assert "kind-checkin" in only_checkins and "kind-journal" not in only_checkins
    flagged = client.get(f"/patients/{world.ava}?flagged=1").get_data(as_text=True)
    assert "funeral" not in flagged and "want to die" in flagged and "kind-checkin" not in flagged
    found = client.get(f"/patients/{world.ava}?q=FUNERAL").get_data(as_text=True)
    assert "funeral" in found and "1 item." in found
    wildcard = client.get(f"/patients/{world.ava}?q=%25").get_data(as_text=True)
    assert "0 items." in wildcard


def test_date_range_filter(client, auth, world):
    auth.login()
    today = utcnow().date()
    page = client.get(f"/patients/{world.ava}?kind=checkin&from={today - timedelta(days=2)}"
                      f"&to={today + timedelta(days=1)}").get_data(as_text=True)
    assert 1 <= page.count("kind-checkin") <= 3


def test_pages_are_cut_and_linked(client, auth, world, demo):
    with demo.begin() as session:
        for n in range(60):
            add_entry(session, world.ava, f"entry number {n}", when=utcnow() - timedelta(days=10, minutes=n))
    auth.login()
    first = client.get(f"/patients/{world.ava}?kind=journal").get_data(as_text=True)
    assert first.count('class="item kind-journal') == 25 and "Page 1 of 3" in first
    assert 'href="/patients/%d?kind=journal&amp;page=2"' % world.ava in first
    last = client.get(f"/patients/{world.ava}?kind=journal&page=99").get_data(as_text=True)
    assert "Page 3 of 3" in last and "entry number 59" in last


def test_timeline_query_is_newest_first_across_kinds(demo, world):
    with demo() as session:
        page = timeline_page(session, world.ava, TimelineFilter(), 1, 100)
    times = [item.at for item in page.items]
    assert times == sorted(times, reverse=True)
    assert page.counts["journal"] == 3 and page.counts["checkin"] == 4 and page.counts["chat"] == 1


def test_the_mood_chart_gets_its_data_and_infusions(client, auth, world):
    auth.login()
    page = client.get(f"/patients/{world.ava}").get_data(as_text=True)
    assert '<canvas id="mood-chart"' in page
    raw = re.search(r'<script type="application/json" id="mood-data">(.*?)</script>', page, re.S).group(1)
    data = json.loads(raw)
    assert [v for _, v in data["mood"]] == [3, 4, 6, 7]
    assert [v for _, v in data["anxiety"]] == [8, 7, 5, 3]
    assert sorted(v for _, v in data["distress"]) == [4, 8]
    assert len(data["infusions"]) == 2
    assert "/static/vendor/chart.js/chart.umd.min.js" in page


def test_the_charting_library_is_served_locally_with_its_license(client):
    script = client.get("/static/vendor/chart.js/chart.umd.min.js")
    assert script.status_code == 200 and b"Chart.js v4" in script.data[:200]
    assert b"MIT License" in client.get("/static/vendor/chart.js/LICENSE.md").data


def test_viewing_a_timeline_is_audited(client, auth, world, demo):
    auth.login()
    client.get(f"/patients/{world.ava}")
    with demo() as session:
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "patient.viewed"))
    assert (event.actor_type, event.actor_id, event.patient_id) == ("clinician", world.therapist, world.ava)
    assert event.detail["view"] == "timeline"


def test_drafts_are_shown_as_drafts(client, auth, world, demo):
    with demo.begin() as session:
        session.add(JournalEntry(patient_id=world.ava, phase="ongoing", text="half a thought", status="draft"))
    auth.login()
    page = client.get(f"/patients/{world.ava}?kind=journal").get_data(as_text=True)
    assert "half a thought" in page and "<strong>draft</strong>" in page
