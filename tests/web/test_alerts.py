"""The alert inbox, acknowledging and resolving with notes, and the review queue."""
from datetime import timedelta

from sqlalchemy import select

from bot.storage.models import AuditEvent, CrisisAlert, utcnow
from tests.web.conftest import OTHER_THERAPIST, add_alert, add_entry, finding


def _alert(demo, public_id):
    with demo() as session:
        return session.scalar(select(CrisisAlert).where(CrisisAlert.public_id == public_id))


def _events(demo, action):
    with demo() as session:
        return session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()


def test_acknowledging_changes_the_state_and_writes_an_audit_event(client, auth, world, demo):
    auth.login()
    reply = client.post(f"/alerts/{world.ava_alert}/acknowledge", data={"note": "Called Ava, she is safe."})
    assert reply.status_code == 302
    alert = _alert(demo, world.ava_alert)
    assert alert.status == "acknowledged" and alert.acknowledged_by_id == world.therapist
    assert alert.note == "Called Ava, she is safe."
    [event] = _events(demo, "alert.acknowledged")
    assert (event.actor_type, event.actor_id, event.object_id) == ("clinician", world.therapist, world.ava_alert)
    page = client.get(f"/alerts/{world.ava_alert}").get_data(as_text=True)
    assert "Alert acknowledged." in page and "Called Ava, she is safe." in page
    assert 'action="/alerts/%s/acknowledge"' % world.ava_alert not in page


def test_acknowledging_twice_changes_nothing_more(client, auth, world, demo):
    auth.login()
    client.post(f"/alerts/{world.ava_alert}/acknowledge", data={"note": ""})
    client.post(f"/alerts/{world.ava_alert}/acknowledge", data={"note": "again"})
    assert len(_events(demo, "alert.acknowledged")) == 1
    assert _alert(demo, world.ava_alert).note is None


def test_resolving_needs_a_note_and_is_audited(client, auth, world, demo):
    auth.login()
    reply = client.post(f"/alerts/{world.ava_alert}/resolve", data={"note": "  "})
    assert reply.status_code == 400 and "Say briefly what was done." in reply.get_data(as_text=True)
    assert _alert(demo, world.ava_alert).status == "open"
    client.post(f"/alerts/{world.ava_alert}/resolve", data={"note": "Seen in clinic today; plan updated."})
    alert = _alert(demo, world.ava_alert)
    assert alert.status == "resolved" and alert.resolved_by_id == world.therapist
    assert alert.acknowledged_by_id == world.therapist  # an open alert is acknowledged on the way
    assert "Seen in clinic today" in alert.note
    assert [e.action for e in _events(demo, "alert.resolved")] == ["alert.resolved"]
    assert len(_events(demo, "alert.acknowledged")) == 1


def test_a_note_that_is_too_long_is_refused(client, auth, world, demo):
    auth.login()
    reply = client.post(f"/alerts/{world.ava_alert}/acknowledge", data={"note": "x" * 2001})
    assert reply.status_code == 400
    assert _alert(demo, world.ava_alert).status == "open"


def test_the_inbox_is_most_severe_then_newest_with_tabs(client, auth, world, demo):
    with demo.begin() as session:
        _, a = add_entry(session, world.ava, "older emergency", "emergency", when=utcnow() - timedelta(days=3),
                         categories=["suicidal_behavior"])
        add_alert(session, world.ava, a, "emergency").public_id
        _, b = add_entry(session, world.jonah, "new urgent", "urgent", when=utcnow(),
                         categories=["medical"])
        add_alert(session, world.jonah, b, "urgent")
    auth.login()
    page = client.get("/alerts").get_data(as_text=True)
    order = [page.index(name) for name in ("suicidal behavior", "medical", "suicidal ideation")]
    assert order == sorted(order)
    assert "Open (3)" in page and "Acknowledged (0)" in page
    client.post(f"/alerts/{world.ava_alert}/acknowledge", data={"note": ""})
    acknowledged = client.get("/alerts?status=acknowledged").get_data(as_text=True)
    assert "Acknowledged (1)" in acknowledged and world.ava_alert in acknowledged


def test_the_alert_page_shows_the_flagged_text_escaped_and_highlighted(client, auth, world):
    auth.login()
    page = client.get(f"/alerts/{world.ava_alert}").get_data(as_text=True)
    assert "&lt;script&gt;" in page and '<mark class="flag' in page
    assert 'id="alert-status">open<' in page


def test_the_review_queue_lists_review_findings_and_marks_them_reviewed(client, auth, world, demo):
    auth.login()
    page = client.get("/review").get_data(as_text=True)
    assert "wanted to die</mark>" in page and "hopeless</mark>" in page
    assert "Zoe felt" not in page
    reply = client.post(f"/review/{world.review_assessment}", data={"note": "Part of the experience."})
    assert reply.status_code == 302
    page = client.get("/review").get_data(as_text=True)
    assert "wanted to die</mark>" not in page and "hopeless</mark>" in page
    assert "wanted to die</mark>" in client.get("/review?show=all").get_data(as_text=True)
    [event] = _events(demo, "assessment.reviewed")
    assert event.detail == {"note": "Part of the experience."} and event.patient_id == world.ava


def test_only_review_findings_can_be_marked(client, auth, world, demo):
    with demo() as session:
        from bot.storage.models import SafetyAssessment
        urgent = session.scalar(select(SafetyAssessment.id).where(SafetyAssessment.level == "urgent",
                                                                  SafetyAssessment.patient_id == world.ava))
    auth.login()
    assert client.post(f"/review/{urgent}").status_code == 404


def test_the_other_therapist_sees_their_own_queue(client, auth, world):
    auth.login(OTHER_THERAPIST)
    page = client.get("/review").get_data(as_text=True)
    assert "nothing mattered</mark>" in page and "hopeless</mark>" not in page


def test_viewing_an_alert_is_audited(client, auth, world, demo):
    auth.login()
    client.get(f"/alerts/{world.ava_alert}")
    [event] = _events(demo, "alert.viewed")
    assert event.patient_id == world.ava and event.actor_id == world.therapist


def test_a_flagged_text_is_shown_with_its_finding_even_when_the_span_is_stale(client, auth, world, demo):
    with demo.begin() as session:
        text = "Edited later: I want to die"
        _, a = add_entry(session, world.ava, text, "urgent",
                         [dict(finding(text, "I want to die", "urgent", "suicidal_ideation", "si.x"), start=0, end=4)])
        public_id = add_alert(session, world.ava, a).public_id
    auth.login()
    page = client.get(f"/alerts/{public_id}").get_data(as_text=True)
    assert ">I want to die</mark>" in page
