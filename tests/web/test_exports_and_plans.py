"""Journal exports (CSV safe from formula injection, printable page), the safety plan
editor, and the admin's audit log."""
import csv
import io

import pytest
from sqlalchemy import select

from bot.conversation.crisis import format_plan, safety_plan_for
from bot.clinic.export import safe_cell
from bot.storage.models import AuditEvent, SafetyPlan
from tests.web.conftest import ADMIN, add_entry


@pytest.mark.parametrize("value, expected", [
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
    ("+1+1", "'+1+1"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"), ("\t=1", "'\t=1"),
    ("plain", "plain"), ("a=b", "a=b"), (None, ""),
])
def test_cells_a_spreadsheet_would_run_are_quoted(value, expected):
    assert safe_cell(value) == expected


def test_the_csv_export_has_every_entry_and_no_formula(client, auth, world, demo):
    with demo.begin() as session:
        add_entry(session, world.ava, '=cmd|" /C calc"!A0')
    auth.login()
    reply = client.get(f"/patients/{world.ava}/journal.csv")
    assert reply.status_code == 200 and reply.mimetype == "text/csv"
    assert 'filename="journal-P-AVA1.csv"' in reply.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(reply.get_data(as_text=True))))
    assert len(rows) == 4
    texts = {r["text"] for r in rows}
    assert "'=cmd|\" /C calc\"!A0" in texts
    script = next(r for r in rows if "script" in r["text"])
    assert script["screen_level"] == "urgent" and "suicidal_ideation" in script["categories"]
    assert all(not r[c].startswith(("=", "+", "-", "@")) for r in rows for c in r)
    with demo() as session:
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "patient.viewed")
                               .order_by(AuditEvent.id.desc()))
    assert event.detail == {"view": "export_csv", "entries": 4}


def test_the_printable_journal(client, auth, world):
    auth.login()
    page = client.get(f"/patients/{world.ava}/journal/print").get_data(as_text=True)
    assert "3 entries" in page and "funeral" in page and '<mark class="flag' in page
    assert 'id="print-button"' in page and "/static/js/print.js" in page


def test_the_plan_starts_from_the_clinic_default(client, auth, world):
    auth.login()
    page = client.get(f"/patients/{world.ava}/safety-plan").get_data(as_text=True)
    assert "no plan of their own yet" in page and "Slow breathing: in for 4" in page
    for n in range(1, 7):
        assert f"{n}. " in page


def test_saving_the_plan_makes_the_patients_own_and_the_assistant_uses_it(client, auth, world, demo):
    auth.login()
    reply = client.post(f"/patients/{world.ava}/safety-plan", data={
        "warning_signs": "Not sleeping\n\n  Pulling away from friends  ",
        "internal_coping": "Walk by the river",
        "social_distractions": "The library",
        "people_to_ask": "My sister <Dana>",
        "professionals": "Dr. Hale 555-0100",
        "environment_safety": "Pills kept by Dana",
    })
    assert reply.status_code == 302
    with demo() as session:
        plan = session.scalar(select(SafetyPlan).where(SafetyPlan.patient_id == world.ava))
        assert plan.warning_signs == ["Not sleeping", "Pulling away from friends"]
        assert plan.updated_by_id == world.therapist
        assert safety_plan_for(session, world.ava, plan.clinic_id).id == plan.id
        assert "Walk by the river" in format_plan(plan)
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "safety_plan.updated"))
        assert event.patient_id == world.ava and len(event.detail["sections"]) == 6
    page = client.get(f"/patients/{world.ava}/safety-plan").get_data(as_text=True)
    assert "My sister &lt;Dana&gt;" in page and "Last changed" in page


def test_an_unchanged_plan_is_not_saved_again(client, auth, world, demo):
    auth.login()
    data = {"warning_signs": "a", "internal_coping": "b"}
    client.post(f"/patients/{world.ava}/safety-plan", data=data)
    client.post(f"/patients/{world.ava}/safety-plan", data=data)
    with demo() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == "safety_plan.updated")).all()
    assert len(events) == 1


def test_a_plan_section_has_limits(client, auth, world):
    auth.login()
    reply = client.post(f"/patients/{world.ava}/safety-plan",
                        data={"warning_signs": "\n".join(f"line {n}" for n in range(21))})
    assert reply.status_code == 400 and "At most 20 lines" in reply.get_data(as_text=True)
    reply = client.post(f"/patients/{world.ava}/safety-plan", data={"internal_coping": "x" * 501})
    assert reply.status_code == 400 and "under 500 characters" in reply.get_data(as_text=True)


def test_the_admin_reads_who_viewed_and_changed_what(client, auth, world):
    auth.login()
    client.get(f"/patients/{world.ava}")
    client.post(f"/alerts/{world.ava_alert}/acknowledge", data={"note": ""})
    auth.logout()
    auth.login(ADMIN)
    viewed, acked = ('<td data-label="Action">patient.viewed</td>',
                     '<td data-label="Action">alert.acknowledged</td>')
    page = client.get("/audit").get_data(as_text=True)
    assert viewed in page and acked in page and "Dr. Rowan Hale" in page
    filtered = client.get("/audit?patient=p-ava1&action=alert.").get_data(as_text=True)
    assert acked in filtered and viewed not in filtered
    assert "P-AVA1" in filtered
    none = client.get("/audit?patient=P-NOBODY").get_data(as_text=True)
    assert "0 events." in none
