"""Running a clinic in the web app: staff, patients, their course, Today, the rota and import."""
import io
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from bot.storage.models import (
    AuditEvent, Clinic, Clinician, InfusionSession, IntegrationSession, OnCallShift, Patient, utcnow,
)
from tests.helpers import TEST_PASSWORD
from tests.web.conftest import ADMIN, OTHER_THERAPIST, THERAPIST, AuthActions

NEW_PASSWORD = "a brand new long password"


def _link(page: str) -> str:
    return re.search(r"(/welcome/[A-Za-z0-9_-]+)", page).group(1)


def _actions(demo, action):
    with demo() as session:
        return session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()


def test_an_admin_invites_a_clinician_who_sets_a_password_and_signs_in(app, client, auth, demo):
    auth.login(ADMIN)
    page = client.post("/admin/clinicians", data={"email": "Kit.Lane@cedargrove.example",
                                                  "display_name": "Kit Lane", "role": "therapist"})
    assert page.status_code == 200
    path = _link(page.get_data(as_text=True))
    auth.logout()
    newcomer = app.test_client()
    assert "Welcome, Kit Lane" in newcomer.get(path).get_data(as_text=True)
    short = newcomer.post(path, data={"password": "short", "confirm": "short"})
    assert short.status_code == 400 and "at least 12 characters" in short.get_data(as_text=True)
    done = newcomer.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 302 and done.headers["Location"].endswith("/login")
    assert newcomer.get(path).status_code == 404, "the link works once"
    signed_in = AuthActions(newcomer, demo).login("kit.lane@cedargrove.example", NEW_PASSWORD)
    assert signed_in.status_code == 302
    assert newcomer.get("/patients").status_code == 200
    assert _actions(demo, "clinician.invited") and _actions(demo, "clinician.password_set")


def test_a_duplicate_or_malformed_invite_is_refused_with_a_message(client, auth):
    auth.login(ADMIN)
    taken = client.post("/admin/clinicians", data={"email": THERAPIST, "display_name": "X", "role": "therapist"})
    assert taken.status_code == 400 and "already has an account" in taken.get_data(as_text=True)
    bad = client.post("/admin/clinicians", data={"email": "nobody", "display_name": "X", "role": "therapist"})
    assert bad.status_code == 400


def test_a_new_password_ends_every_earlier_session_of_that_clinician(app, client, auth, demo, world):
    auth.login(OTHER_THERAPIST)  # the session an attacker might have kept
    assert client.get("/patients").status_code == 200
    admin = app.test_client()
    AuthActions(admin, demo).login(ADMIN)
    page = admin.post(f"/admin/clinicians/{world.colleague}/reset-link").get_data(as_text=True)
    app.test_client().post(_link(page), data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    reply = client.get("/patients")
    assert reply.status_code == 302 and reply.headers["Location"].startswith("/login")


def test_deactivation_waits_until_the_patients_are_reassigned(app, client, auth, demo, world):
    auth.login(ADMIN)
    page = client.post(f"/admin/clinicians/{world.colleague}/deactivate", follow_redirects=True)
    assert "still the therapist of 1 patient: reassign them" in page.get_data(as_text=True)
    demoted = client.post(f"/admin/clinicians/{world.colleague}/role", data={"role": "on_call"},
                          follow_redirects=True)
    assert "reassign them" in demoted.get_data(as_text=True)
    with demo() as session:
        morgan = session.get(Clinician, world.colleague)
        assert morgan.is_active and morgan.role == "therapist"


def test_deactivation_ends_the_session_and_keeps_the_record(app, client, auth, demo, world):
    auth.login(OTHER_THERAPIST)
    admin = app.test_client()
    AuthActions(admin, demo).login(ADMIN)
    admin.post(f"/patients/{world.zoe}/therapist", data={"therapist_id": world.therapist})
    admin.post(f"/admin/clinicians/{world.colleague}/deactivate")
    assert client.get("/patients").status_code == 302
    with demo() as session:
        assert session.get(Clinician, world.colleague).is_active is False
    assert AuthActions(app.test_client(), demo).login(OTHER_THERAPIST).status_code == 401, "sign-in refused"


def test_a_therapist_enrols_a_patient_and_schedules_the_course(client, auth, demo, world):
    auth.login(THERAPIST)
    form = client.get("/patients/new").get_data(as_text=True)
    assert "America/Denver" in form
    enrolled = client.post("/patients/new", data={"display_name": "Robin", "code": "CG-2001",
                                                  "therapist_id": world.therapist,
                                                  "timezone": "America/Denver", "locale": "en-US"})
    assert enrolled.status_code == 302
    with demo() as session:
        robin = session.scalar(select(Patient).where(Patient.code == "CG-2001"))
    assert robin.therapist_id == world.therapist and robin.status == "active"
    # Two hours ago, but never before midnight: "today" on the clinic's clock, whatever the hour of the run.
    local_now = utcnow().astimezone(ZoneInfo("America/Denver"))
    day = max(local_now - timedelta(hours=2), local_now.replace(hour=0, minute=1, second=0, microsecond=0))
    client.post(f"/patients/{robin.id}/infusions", data={
        "infusion-day": day.strftime("%Y-%m-%d"), "infusion-at": day.strftime("%H:%M"), "infusion-route": "IV",
        "infusion-status": "scheduled", "infusion-dose_mg": "35"})
    client.post(f"/patients/{robin.id}/sessions", data={
        "session-day": (day + timedelta(days=3)).strftime("%Y-%m-%d"), "session-at": "15:00",
        "session-status": "scheduled"})
    with demo() as session:
        infusion = session.scalar(select(InfusionSession).where(InfusionSession.patient_id == robin.id))
        booked = session.scalar(select(IntegrationSession).where(IntegrationSession.patient_id == robin.id))
    assert infusion.route == "IV" and infusion.dose_mg == 35 and booked.status == "scheduled"
    manage = client.get(f"/patients/{robin.id}/manage").get_data(as_text=True)
    assert "35 mg" in manage and "MST" in manage
    today = client.get("/today").get_data(as_text=True)
    assert "Robin" in today and "Infusion (IV)" in today
    page = client.get(f"/patients/{robin.id}").get_data(as_text=True)
    assert "1 infusion marked" in page and "next integration session" in page
    assert {e.action for e in _actions(demo, "patient.enrolled") + _actions(demo, "infusion.added")}


def test_a_therapist_enrols_only_for_themselves(client, auth, world, demo):
    auth.login(THERAPIST)
    reply = client.post("/patients/new", data={"display_name": "Robin", "code": "CG-2002",
                                                "therapist_id": world.colleague, "timezone": "UTC", "locale": "en"})
    assert reply.status_code == 400
    with demo() as session:
        assert session.scalar(select(Patient).where(Patient.code == "CG-2002")) is None


def test_bad_enrolment_values_are_explained_and_nothing_is_written(client, auth, world, demo):
    auth.login(THERAPIST)
    for data, message in (({"code": "P AVA!"}, "patient code"), ({"timezone": "Moon/Base"}, "not a time zone"),
                          ({"code": "P-AVA1"}, "is taken")):
        fields = {"display_name": "R", "code": "CG-9", "therapist_id": world.therapist, "timezone": "UTC",
                  "locale": "en", **data}
        reply = client.post("/patients/new", data=fields)
        assert reply.status_code == 400 and message in reply.get_data(as_text=True)
    with demo() as session:
        assert session.scalar(select(func.count()).select_from(Patient).where(Patient.display_name == "R")) == 0


def test_discharge_and_reassignment_are_audited(client, auth, demo, world):
    auth.login(ADMIN)
    client.post(f"/patients/{world.ava}/status", data={"status": "discharged"})
    client.post(f"/patients/{world.ava}/therapist", data={"therapist_id": world.colleague})
    with demo() as session:
        ava = session.get(Patient, world.ava)
    assert ava.status == "discharged" and ava.therapist_id == world.colleague
    [moved] = _actions(demo, "patient.reassigned")
    assert moved.detail == {"from": world.therapist, "to": world.colleague}
    auth.logout()
    auth.login(THERAPIST)
    assert client.get(f"/patients/{world.ava}/manage").status_code in (403, 404)


def test_clinic_settings_are_checked_and_saved(client, auth, demo):
    auth.login(ADMIN)
    fields = {"name": "Cedar Grove", "timezone": "America/Denver", "locale": "en-US", "crisis_resource_set": "us",
              "medical_contact": "", "medical_contact_email": ""}
    bad = client.post("/admin/clinic", data={**fields, "timezone": "Nowhere/Land"})
    assert bad.status_code == 400 and "not a time zone" in bad.get_data(as_text=True)
    assert client.post("/admin/clinic", data={**fields, "crisis_resource_set": "gb"}).status_code == 302
    with demo() as session:
        clinic = session.scalar(select(Clinic).where(Clinic.name == "Cedar Grove"))
    assert clinic.crisis_resource_set == "gb" and clinic.country == "GB"


def test_the_rota_takes_shifts_in_the_clinics_time(client, auth, demo, world):
    auth.login(ADMIN)
    now = utcnow()
    reply = client.post("/admin/rota", data={"clinician_id": world.colleague,
                                              "start_day": (now - timedelta(days=1)).strftime("%Y-%m-%d"),
                                              "start_at": "00:00",
                                              "end_day": (now + timedelta(days=2)).strftime("%Y-%m-%d"),
                                              "end_at": "00:00"})
    assert reply.status_code == 302
    assert "On call now:</strong> Dr. Morgan Reyes" in client.get("/admin/rota").get_data(as_text=True)
    backwards = client.post("/admin/rota", data={"clinician_id": world.colleague, "start_day": "2026-12-10",
                                                  "start_at": "10:00", "end_day": "2026-12-09", "end_at": "10:00"})
    assert backwards.status_code == 400 and "end after it starts" in backwards.get_data(as_text=True)
    with demo() as session:
        assert session.scalar(select(func.count()).select_from(OnCallShift)) == 3  # two from the world


CSV_HEADER = "code,display_name,therapist_email,infusion_at,infusion_route,integration_at\n"


def _upload(client, text: str, action: str):
    return client.post("/admin/import", data={"action": action,
                                              "file": (io.BytesIO(text.encode()), "patients.csv")},
                       content_type="multipart/form-data")


def test_a_csv_with_one_bad_row_writes_nothing_and_names_the_line(client, auth, demo):
    auth.login(ADMIN)
    text = CSV_HEADER + f"CG-3001,Ash,{THERAPIST},2026-12-20 09:00,IV,\nCG-3002,Bo,nobody@x.example,,,\n"
    for action in ("check", "import"):
        reply = _upload(client, text, action)
        page = reply.get_data(as_text=True)
        assert reply.status_code == 400 and "Line 3:" in page and "Nothing was imported" in page
    with demo() as session:
        assert session.scalar(select(Patient).where(Patient.code == "CG-3001")) is None


def test_a_good_csv_is_checked_then_imported(client, auth, demo):
    auth.login(ADMIN)
    text = CSV_HEADER + f"CG-3001,Ash,{THERAPIST},2026-12-20 09:00,IV,2026-12-22 10:00\n"
    checked = _upload(client, text, "check")
    assert checked.status_code == 200 and "1 patients, 1 infusions, 1 integration sessions" in checked.get_data(as_text=True)
    with demo() as session:
        assert session.scalar(select(Patient).where(Patient.code == "CG-3001")) is None, "a check writes nothing"
    assert _upload(client, text, "import").status_code == 302
    with demo() as session:
        assert session.scalar(select(Patient).where(Patient.code == "CG-3001")).display_name == "Ash"
