"""Access rules: every protected route refuses the anonymous, and every route that
takes an id answers 404 for another therapist's patient."""
import pytest
from sqlalchemy import select

from bot.storage.models import CrisisAlert, SafetyPlan
from tests.web.conftest import ADMIN, ON_CALL, OTHER_CLINIC_ADMIN, OTHER_THERAPIST, THERAPIST

# (method, path template, {placeholder: world attribute of the signed-in therapist's
# own object}). The same template filled with Zoe's objects belongs to another therapist.
CLINICIAN_ROUTES = [
    ("GET", "/patients", {}),
    ("GET", "/patients/{patient}", {}),
    ("GET", "/patients/{patient}/journal.csv", {}),
    ("GET", "/patients/{patient}/measures.csv", {}),
    ("GET", "/patients/{patient}/journal/print", {}),
    ("GET", "/patients/{patient}/safety-plan", {}),
    ("POST", "/patients/{patient}/safety-plan", {}),
    ("POST", "/patients/{patient}/invites", {}),
    ("GET", "/alerts", {}),
    ("GET", "/alerts/{alert}", {}),
    ("POST", "/alerts/{alert}/acknowledge", {}),
    ("POST", "/alerts/{alert}/resolve", {}),
    ("GET", "/review", {}),
    ("POST", "/review/{review}", {}),
    ("GET", "/audit", {}),
    ("GET", "/today", {}),
    ("GET", "/patients/new", {}),
    ("POST", "/patients/new", {}),
    ("GET", "/patients/{patient}/manage", {}),
    ("POST", "/patients/{patient}/manage", {}),
    ("POST", "/patients/{patient}/status", {}),
    ("POST", "/patients/{patient}/therapist", {}),
    ("POST", "/patients/{patient}/infusions", {}),
    ("POST", "/patients/{patient}/sessions", {}),
    ("POST", "/patients/{patient}/infusions/{infusion}/status", {}),
    ("POST", "/patients/{patient}/sessions/{session}/status", {}),
]
# Admin pages: any other clinician gets 403; an admin of another clinic gets 404 for an id.
ADMIN_ROUTES = [
    ("GET", "/admin/clinic"),
    ("POST", "/admin/clinic"),
    ("GET", "/admin/clinic/safety-plan"),
    ("POST", "/admin/clinic/safety-plan"),
    ("GET", "/admin/clinic/preparation"),
    ("POST", "/admin/clinic/preparation"),
    ("GET", "/admin/clinicians"),
    ("POST", "/admin/clinicians"),
    ("POST", "/admin/clinicians/{clinician}/role"),
    ("POST", "/admin/clinicians/{clinician}/deactivate"),
    ("POST", "/admin/clinicians/{clinician}/reactivate"),
    ("POST", "/admin/clinicians/{clinician}/reset-link"),
    ("GET", "/admin/rota"),
    ("POST", "/admin/rota"),
    ("POST", "/admin/rota/{shift}/delete"),
    ("GET", "/admin/import"),
    ("POST", "/admin/import"),
]
PATIENT_ROUTES = [
    ("GET", "/me/chat"),
    ("POST", "/me/chat/send"),
    ("GET", "/me/journal"),
    ("GET", "/me/passphrase"),
    ("POST", "/me/passphrase"),
]
ID_ROUTES = [(m, p) for m, p, _ in CLINICIAN_ROUTES if "{" in p]
PUBLIC_ENDPOINTS = {"static", "main.index", "main.healthz", "auth.login", "auth.logout",
                    "auth.patient_login", "auth.invite", "auth.redeem_invite",
                    "acknowledge.confirm", "acknowledge.acknowledge_alert", "auth.welcome"}
POST_DATA = {"note": "Called the patient.", "warning_signs": "x", "message": "hi",
             "passphrase": "a long enough passphrase", "confirm": "a long enough passphrase"}
# Route-specific fields, by the end of the path, so that a permitted request does what it asks.
POST_DATA_BY_ENDING = {
    "/patients/{patient}/status": {"status": "paused"},
    "/infusions/{infusion}/status": {"status": "completed"},
    "/sessions/{session}/status": {"status": "cancelled"},
    "/therapist": {"therapist_id": "{therapist}"},
    "/infusions": {"infusion-day": "2026-12-24", "infusion-at": "09:30", "infusion-route": "IV",
                   "infusion-status": "scheduled"},
    "/sessions": {"session-day": "2026-12-27", "session-at": "15:00", "session-status": "scheduled"},
    "/manage": {"display_name": "Ava", "timezone": "America/Denver", "locale": "en-US"},
    "/role": {"role": "on_call"},
}


def _fill(world, path, patient, alert, review, infusion, session):
    return path.format(patient=patient, alert=alert, review=review, infusion=infusion, session=session,
                       clinician=world.colleague, shift=world.shift, therapist=world.therapist)


def own(world, path):
    return _fill(world, path, world.ava, world.ava_alert, world.review_assessment, world.ava_infusion,
                 world.ava_session)


def others(world, path):
    return _fill(world, path, world.zoe, world.zoe_alert, world.zoe_review_assessment, world.zoe_infusion,
                 world.zoe_session)


def call(client, method, path, template=None, world=None):
    if method == "GET":
        return client.get(path)
    data = dict(POST_DATA)
    for ending, extra in POST_DATA_BY_ENDING.items():
        if (template or path).endswith(ending):
            data.update({key: value.format(therapist=world.therapist) if world else value
                         for key, value in extra.items()})
    return client.post(path, data=data)


def test_the_lists_cover_every_route_of_the_app(app):
    listed = ({p.split("{")[0].rstrip("/") for _, p, _ in CLINICIAN_ROUTES} | {p for _, p in PATIENT_ROUTES}
              | {p.split("{")[0].rstrip("/") for _, p in ADMIN_ROUTES})
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        stem = rule.rule.split("<")[0].rstrip("/")
        assert stem in listed, f"{rule.rule} ({rule.endpoint}) is not in the access tests"


@pytest.mark.parametrize("method, path", [(m, p) for m, p, _ in CLINICIAN_ROUTES])
def test_anonymous_is_sent_to_the_clinician_sign_in(client, world, method, path):
    reply = call(client, method, own(world, path))
    assert reply.status_code == 302
    assert reply.headers["Location"].startswith("/login")


@pytest.mark.parametrize("method, path", PATIENT_ROUTES)
def test_anonymous_is_sent_to_the_patient_sign_in(client, method, path):
    reply = call(client, method, path)
    assert reply.status_code == 302
    assert reply.headers["Location"].startswith("/me/login")


@pytest.mark.parametrize("method, path", PATIENT_ROUTES)
def test_anonymous_script_gets_json_401(client, method, path):
    reply = client.open(path, method=method, json={"message": "hi"},
                        headers={"Accept": "application/json"})
    assert reply.status_code == 401 and "sign in" in reply.get_json()["error"]


@pytest.mark.parametrize("method, path", ID_ROUTES)
def test_another_therapists_patient_is_not_found(client, auth, world, method, path):
    auth.login()
    reply = call(client, method, others(world, path))
    assert reply.status_code == 404
    assert "P-ZOE3" not in reply.get_data(as_text=True)


@pytest.mark.parametrize("method, path", ID_ROUTES)
def test_the_same_routes_work_for_the_therapists_own_patient(client, auth, world, method, path):
    auth.login()
    reply = call(client, method, own(world, path), path, world)
    assert reply.status_code in (200, 302)


def test_lists_show_only_the_therapists_own_patients(client, auth, world):
    auth.login()
    for path in ("/patients", "/alerts", "/review"):
        page = client.get(path).get_data(as_text=True)
        assert "P-AVA1" in page and "P-ZOE3" not in page, path
    auth.logout()
    auth.login(OTHER_THERAPIST)
    for path in ("/patients", "/alerts", "/review"):
        page = client.get(path).get_data(as_text=True)
        assert "P-ZOE3" in page and "P-AVA1" not in page, path


def test_nothing_leaks_after_the_stolen_ids_nor_changes(client, auth, world, demo):
    auth.login()
    client.post(f"/alerts/{world.zoe_alert}/acknowledge", data={"note": "not mine"})
    client.post(f"/patients/{world.zoe}/safety-plan", data={"warning_signs": "x"})
    with demo() as session:
        alert = session.scalar(select(CrisisAlert).where(CrisisAlert.public_id == world.zoe_alert))
        assert alert.status == "open"
        assert session.scalar(select(SafetyPlan).where(SafetyPlan.patient_id == world.zoe)) is None


@pytest.mark.parametrize("method, path", [(m, p) for m, p, _ in CLINICIAN_ROUTES])
def test_a_patient_cannot_open_clinician_pages(client, auth, world, method, path):
    auth.login_patient()
    assert call(client, method, own(world, path)).status_code == 403


@pytest.mark.parametrize("method, path", PATIENT_ROUTES)
def test_a_clinician_cannot_open_patient_pages(client, auth, method, path):
    auth.login()
    assert call(client, method, path).status_code == 403


def test_the_audit_log_is_for_admins(client, auth):
    auth.login()
    assert client.get("/audit").status_code == 403
    auth.logout()
    auth.login(ADMIN)
    assert client.get("/audit").status_code == 200


def test_an_admin_sees_the_whole_clinic_and_no_other(client, auth, world):
    auth.login(ADMIN)
    page = client.get("/patients").get_data(as_text=True)
    assert all(code in page for code in ("P-AVA1", "P-JON2", "P-ZOE3"))
    assert client.get(f"/patients/{world.zoe}").status_code == 200
    auth.logout()
    auth.login(OTHER_CLINIC_ADMIN)
    assert "P-AVA1" not in client.get("/patients").get_data(as_text=True)
    assert client.get(f"/patients/{world.ava}").status_code == 404
    assert client.get(f"/alerts/{world.ava_alert}").status_code == 404


def test_on_call_sees_a_patient_while_an_alert_is_unresolved(client, auth, world):
    auth.login(ON_CALL)
    page = client.get("/patients").get_data(as_text=True)
    assert "P-AVA1" in page and "P-ZOE3" in page and "P-JON2" not in page
    assert client.get(f"/patients/{world.jonah}").status_code == 404
    reply = client.post(f"/alerts/{world.ava_alert}/resolve", data={"note": "Spoke with her; safe."})
    assert reply.status_code == 302
    assert client.get(f"/patients/{world.ava}").status_code == 404
    assert "P-AVA1" not in client.get("/patients").get_data(as_text=True)


def test_on_call_can_read_but_not_change_a_safety_plan(client, auth, world):
    auth.login(ON_CALL)
    page = client.get(f"/patients/{world.ava}/safety-plan")
    assert page.status_code == 200 and "Only the patient's therapist" in page.get_data(as_text=True)
    assert client.post(f"/patients/{world.ava}/safety-plan", data={"warning_signs": "x"}).status_code == 403
    assert client.post(f"/patients/{world.ava}/invites").status_code == 403


@pytest.mark.parametrize("method, path", ADMIN_ROUTES)
def test_admin_pages_send_the_anonymous_to_sign_in(client, world, method, path):
    reply = call(client, method, own(world, path))
    assert reply.status_code == 302 and reply.headers["Location"].startswith("/login")


@pytest.mark.parametrize("who", ["therapist", "on_call", "patient"])
@pytest.mark.parametrize("method, path", ADMIN_ROUTES)
def test_only_admins_reach_the_admin_pages(client, auth, world, who, method, path):
    if who == "patient":
        auth.login_patient()
    else:
        auth.login({"therapist": THERAPIST, "on_call": ON_CALL}[who])
    assert call(client, method, own(world, path), path, world).status_code == 403


@pytest.mark.parametrize("method, path", ADMIN_ROUTES)
def test_the_admin_reaches_every_admin_page(client, auth, world, method, path):
    auth.login(ADMIN)
    assert call(client, method, own(world, path), path, world).status_code in (200, 302, 400)


@pytest.mark.parametrize("method, path", [(m, p) for m, p in ADMIN_ROUTES if "{" in p])
def test_another_clinics_admin_gets_404_for_this_clinics_ids(client, auth, world, method, path):
    auth.login(OTHER_CLINIC_ADMIN)
    assert call(client, method, own(world, path), path, world).status_code == 404


@pytest.mark.parametrize("method, path", [(m, p) for m, p, _ in CLINICIAN_ROUTES
                                          if p.startswith("/patients/{patient}/") and "/manage" in p
                                          or p.endswith(("/status", "/therapist", "/infusions", "/sessions"))])
def test_on_call_may_see_but_not_change_a_patient(client, auth, world, method, path):
    auth.login(ON_CALL)  # Ava has an open alert, so on call sees her
    assert call(client, method, own(world, path), path, world).status_code == 403
