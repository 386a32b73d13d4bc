"""CSRF, escaping, security headers, request size limits and error pages."""
import pytest
from sqlalchemy import select

from bot.storage.models import CrisisAlert, SafetyPlan
from journal_web import create_app
from tests.helpers import TEST_PASSWORD
from tests.web.conftest import THERAPIST, AuthActions, csrf_token


@pytest.fixture
def csrf_app(settings, world):
    """The app with CSRF protection on, as in production."""
    return create_app({"TESTING": True, "DATABASE_URL": settings.database_url,
                       "SECRET_KEY": "test"})


@pytest.fixture
def csrf_client(csrf_app):
    return csrf_app.test_client()


def test_csrf_is_on_by_default(csrf_app):
    assert csrf_app.config.get("WTF_CSRF_ENABLED", True) is True
    assert "csrf" in csrf_app.extensions


def test_a_sign_in_without_the_token_is_refused(csrf_client):
    reply = csrf_client.post("/login", data={"email": THERAPIST, "password": TEST_PASSWORD})
    assert reply.status_code == 400
    assert "did not come from this site" in reply.get_data(as_text=True)
    assert csrf_client.get("/patients").status_code == 302


def test_with_the_token_every_form_works_and_without_it_nothing_changes(csrf_client, demo, world):
    AuthActions(csrf_client, demo).login()
    assert csrf_client.get("/patients").status_code == 200
    path = f"/alerts/{world.ava_alert}/acknowledge"
    assert csrf_client.post(path, data={"note": "forged"}).status_code == 400
    assert csrf_client.post(f"/patients/{world.ava}/safety-plan",
                            data={"warning_signs": "forged"}).status_code == 400
    with demo() as session:
        assert session.scalar(select(CrisisAlert.status)
                              .where(CrisisAlert.public_id == world.ava_alert)) == "open"
        assert session.scalar(select(SafetyPlan).where(SafetyPlan.patient_id == world.ava)) is None
    token = csrf_token(csrf_client, f"/alerts/{world.ava_alert}")
    assert csrf_client.post(path, data={"note": "ok", "csrf_token": token}).status_code == 302
    with demo() as session:
        assert session.scalar(select(CrisisAlert.status)
                              .where(CrisisAlert.public_id == world.ava_alert)) == "acknowledged"


def test_sign_out_needs_the_token_too(csrf_client, demo):
    AuthActions(csrf_client, demo).login()
    assert csrf_client.post("/logout").status_code == 400
    assert csrf_client.get("/patients").status_code == 200


def test_the_chat_script_must_send_the_token_header(csrf_client, demo):
    auth = AuthActions(csrf_client, demo)
    auth.login_patient()
    reply = csrf_client.post("/me/chat/send", json={"message": "hi"})
    assert reply.status_code == 400 and "did not come from this site" in reply.get_json()["error"]
    token = csrf_token(csrf_client, "/me/chat")
    reply = csrf_client.post("/me/chat/send", json={"message": "hi"}, headers={"X-CSRFToken": token})
    assert reply.status_code == 503  # past CSRF: Rasa is not running in this test


def test_the_acknowledgement_link_blueprint_is_exempt(csrf_client):
    # Its own signed token is the credential; a bad one is refused as before (not by CSRF).
    reply = csrf_client.post("/alerts/acknowledge", data={"token": "not-a-token"})
    assert reply.status_code == 400 and "not valid" in reply.get_data(as_text=True)


def test_a_journal_entry_with_markup_is_shown_escaped(client, auth, world):
    auth.login()
    page = client.get(f"/patients/{world.ava}").get_data(as_text=True)
    assert '<script>alert("x")</script>' not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    assert "&amp; I wrote my plan</mark>" in page and " down.</div>" in page


@pytest.mark.parametrize("path", ["/patients/{ava}/journal/print", "/alerts/{alert}", "/review"])
def test_markup_is_escaped_on_every_page_that_shows_text(client, auth, world, path):
    auth.login()
    page = client.get(path.format(ava=world.ava, alert=world.ava_alert)).get_data(as_text=True)
    assert "<script>alert" not in page


def test_no_page_has_an_inline_script(client, auth, world):
    auth.login()
    for path in ("/patients", f"/patients/{world.ava}", f"/alerts/{world.ava_alert}", "/review"):
        page = client.get(path).get_data(as_text=True)
        for chunk in page.split("<script")[1:]:
            head = chunk.split(">", 1)[0]
            assert 'src="' in head or 'type="application/json"' in head, (path, head)


def test_security_headers(client, auth, world):
    auth.login()
    reply = client.get(f"/patients/{world.ava}")
    csp = reply.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    assert reply.headers["X-Frame-Options"] == "DENY"
    assert reply.headers["Referrer-Policy"] == "same-origin"
    assert "camera=()" in reply.headers["Permissions-Policy"]
    assert reply.headers["Cache-Control"] == "no-store"
    # PUBLIC_BASE_URL is https in the test app: HSTS and secure cookies.
    assert reply.headers["Strict-Transport-Security"].startswith("max-age=")


def test_no_hsts_over_plain_http(settings, world):
    app = create_app({"TESTING": True, "DATABASE_URL": settings.database_url, "SECRET_KEY": "t",
                      "PUBLIC_BASE_URL": "http://127.0.0.1:8000"})
    reply = app.test_client().get("/")
    assert "Strict-Transport-Security" not in reply.headers
    assert reply.headers["Content-Security-Policy"]


def test_session_cookie_is_httponly_samesite_and_secure_behind_https(client, auth):
    reply = auth.login()
    cookie = reply.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie


def test_the_acknowledgement_pages_keep_their_stricter_referrer_policy(client):
    reply = client.get("/alerts/acknowledge", query_string={"token": "nope"})
    assert reply.headers["Referrer-Policy"] == "no-referrer"


def test_an_oversized_form_gets_a_clear_413_page(client, auth, world):
    auth.login()
    reply = client.post(f"/patients/{world.ava}/safety-plan", data={"warning_signs": "x" * 300_000})
    assert reply.status_code == 413
    assert "too large" in reply.get_data(as_text=True)


def test_an_oversized_json_message_gets_a_json_413(client, auth):
    auth.login_patient()
    reply = client.post("/me/chat/send", json={"message": "x" * 300_000})
    assert reply.status_code == 413 and "error" in reply.get_json()
    reply = client.post("/me/chat/send", json={"message": "x" * 20_001})
    assert reply.status_code == 413 and "too long" in reply.get_json()["error"]


@pytest.mark.parametrize("body, content_type", [
    (b'{"message": ', "application/json"),
    (b'["not", "an", "object"]', "application/json"),
    (b'{"message": "   "}', "application/json"),
])
def test_a_bad_json_message_gets_a_json_400(client, auth, body, content_type):
    auth.login_patient()
    reply = client.post("/me/chat/send", data=body, content_type=content_type)
    assert reply.status_code == 400 and reply.get_json()["error"]


def test_unknown_pages_are_a_clear_404_page(client):
    reply = client.get("/no/such/page")
    assert reply.status_code == 404 and "Not found" in reply.get_data(as_text=True)
    assert client.get("/no/such", headers={"Accept": "application/json"}).get_json() == {
        "error": "There is nothing here, or it is not yours to see."}


def test_an_unexpected_error_is_a_plain_500_page_without_a_traceback(settings, world):
    app = create_app({"DATABASE_URL": settings.database_url, "SECRET_KEY": "t"})

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    reply = app.test_client().get("/boom")
    text = reply.get_data(as_text=True)
    assert reply.status_code == 500 and "Something went wrong" in text
    assert "Traceback" not in text and "secret internals" not in text


def test_a_database_outage_is_a_503_page(settings, tmp_path):
    from tests.helpers import free_port

    app = create_app({"DATABASE_URL": f"postgresql://kap@127.0.0.1:{free_port()}/kap",
                      "SECRET_KEY": "t", "WTF_CSRF_ENABLED": False})
    reply = app.test_client().post("/login", data={"email": THERAPIST, "password": "x"})
    assert reply.status_code == 503 and "database" in reply.get_data(as_text=True)


@pytest.mark.parametrize(
    "method, path, status",
    [
        ("get", "/patients/{ava}?to=9999-12-31", 400),
        ("get", "/patients/{ava}?from=0001-01-01&to=9999-12-30", 200),
        ("get", "/patients/123456789012345678901234567890", 404),
        ("get", "/patients/123456789012345678901234567890/journal.csv", 404),
        ("post", "/review/123456789012345678901234567890", 404),
        ("get", "/patients?page=123456789012345678901234567890", 200),
        ("get", "/patients/{ava}?page=123456789012345678901234567890", 200),
        ("get", "/alerts?page=99999999999999999999", 200),
    ],
)
def test_input_out_of_range_is_a_400_or_404_never_a_500(client, auth, world, method, path, status):
    auth.login()
    response = getattr(client, method)(path.format(ava=world.ava))
    assert response.status_code == status


def test_a_double_slash_is_not_redirected_to_the_host_header(client):
    response = client.get("/static//app.css", headers={"Host": "evil.example"})
    assert response.status_code == 404
    assert "evil.example" not in response.headers.get("Location", "")
