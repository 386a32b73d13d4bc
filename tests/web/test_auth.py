"""Clinician sign-in: argon2 passwords, a lockout kept in the database, idle timeout, sign-out."""
import time

import pytest
from sqlalchemy import select

from bot.clinic import throttle
from bot.storage.models import AuditEvent, Clinician, LoginFailure
from journal_web import create_app
from tests.helpers import TEST_PASSWORD
from tests.web.conftest import THERAPIST, AuthActions


def test_a_clinician_signs_in_and_out(client, auth, demo, world):
    reply = auth.login()
    assert reply.status_code == 302 and reply.headers["Location"] == "/patients"
    assert "Sign out" in client.get("/patients").get_data(as_text=True)
    assert auth.logout().headers["Location"] == "/login"
    assert client.get("/patients").status_code == 302
    with demo() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.action.like("auth.%"))
                                 .order_by(AuditEvent.id)).all()
    assert [(e.action, e.actor_id) for e in events] == [("auth.signed_in", world.therapist),
                                                         ("auth.signed_out", world.therapist)]


def test_the_email_is_not_case_sensitive(auth):
    assert auth.login(THERAPIST.upper()).status_code == 302


@pytest.mark.parametrize("email, password", [
    (THERAPIST, "wrong password"),
    ("nobody@cedargrove.example", TEST_PASSWORD),
])
def test_a_wrong_sign_in_says_the_same_thing_either_way(client, auth, email, password):
    reply = auth.login(email, password)
    assert reply.status_code == 401
    assert "do not match an account" in reply.get_data(as_text=True)
    assert client.get("/patients").status_code == 302


def test_an_inactive_clinician_cannot_sign_in_and_is_signed_out(client, auth, demo):
    assert auth.login().status_code == 302
    with demo.begin() as session:
        session.scalar(select(Clinician).where(Clinician.email == THERAPIST)).is_active = False
    assert client.get("/patients").status_code == 302
    assert auth.login().status_code == 401


def test_repeated_failures_lock_the_account_and_the_lock_survives_a_restart(settings, world, demo):
    config = {"TESTING": True, "WTF_CSRF_ENABLED": False, "DATABASE_URL": settings.database_url,
              "SECRET_KEY": "test", "LOGIN_MAX_FAILURES": 3, "LOGIN_LOCKOUT_MINUTES": 15}
    first = AuthActions(create_app(config).test_client(), demo)
    for _ in range(3):
        assert first.login(password="guess").status_code == 401
    locked = first.login()
    assert locked.status_code == 429 and "try again in 15 minutes" in locked.get_data(as_text=True)
    restarted = AuthActions(create_app(config).test_client(), demo)  # a new process, same database
    assert restarted.login().status_code == 429
    with demo() as session:
        keys = set(session.scalars(select(LoginFailure.key)))
    assert keys == {f"clinician:{THERAPIST}", "addr:127.0.0.1"}
    assert not any(TEST_PASSWORD in k or "guess" in k for k in keys)


def test_a_success_clears_the_accounts_failures(client, auth, demo):
    auth.login(password="guess")
    auth.login()
    with demo() as session:
        assert throttle.failure_count(session, f"clinician:{THERAPIST}") == 0
        assert throttle.failure_count(session, "addr:127.0.0.1") == 1


def test_the_lock_ends_when_the_failures_leave_the_window(demo):
    from datetime import timedelta

    from bot.storage.models import utcnow

    policy = throttle.Policy(2, timedelta(minutes=15))
    key = "clinician:someone@example"
    start = utcnow()
    with demo.begin() as session:
        throttle.record_failure(session, [key], policy, start)
        throttle.record_failure(session, [key], policy, start + timedelta(minutes=1))
        wait = throttle.locked_for(session, [key], policy, start + timedelta(minutes=2))
        assert wait == timedelta(minutes=13)
        assert throttle.locked_for(session, [key], policy, start + timedelta(minutes=15, seconds=1)) is None


def test_an_address_gets_a_larger_allowance_than_an_account():
    from datetime import timedelta

    policy = throttle.Policy(5, timedelta(minutes=15))
    assert policy.limit_for("addr:10.0.0.1") == 20 and policy.limit_for("clinician:x") == 5


def test_an_idle_session_times_out(app, client, auth):
    auth.login()
    assert client.get("/patients").status_code == 200
    with client.session_transaction() as session:
        session["seen"] = time.time() - app.config["SESSION_TIMEOUT_MINUTES"] * 60 - 1
    reply = client.get("/patients")
    assert reply.status_code == 302 and reply.headers["Location"].startswith("/login")
    page = client.get(reply.headers["Location"]).get_data(as_text=True)
    assert "signed out after 30 minutes without activity" in page
    assert client.get("/patients").status_code == 302


def test_activity_keeps_the_session_alive(app, client, auth):
    auth.login()
    with client.session_transaction() as session:
        session["seen"] = time.time() - app.config["SESSION_TIMEOUT_MINUTES"] * 60 + 30
    assert client.get("/patients").status_code == 200
    with client.session_transaction() as session:
        assert time.time() - session["seen"] < 5


def test_a_session_kept_alive_ends_at_the_absolute_limit(app, client, auth):
    auth.login()
    with client.session_transaction() as session:
        session["started"] = time.time() - app.config["SESSION_MAX_HOURS"] * 3600 - 1
        session["seen"] = time.time()  # active a moment ago: only the absolute limit applies
    reply = client.get("/patients")
    assert reply.status_code == 302 and reply.headers["Location"].startswith("/login")
    assert "a session lasts at most 12 hours" in client.get(reply.headers["Location"]).get_data(as_text=True)
    assert client.get("/patients").status_code == 302


def test_a_session_without_its_start_time_is_refused(client, auth):
    auth.login()
    with client.session_transaction() as session:
        del session["started"]
    assert client.get("/patients").status_code == 302


def test_the_session_cookie_expires_with_the_timeout(app, auth):
    cookie = auth.login().headers["Set-Cookie"]
    assert "Expires=" in cookie
    assert app.permanent_session_lifetime.total_seconds() == 30 * 60


@pytest.mark.parametrize("target, expected", [
    ("/alerts", "/alerts"),
    ("https://evil.example/", "/patients"),
    ("//evil.example/", "/patients"),
    ("/\\evil.example", "/patients"),
])
def test_next_only_goes_to_this_site(client, target, expected):
    reply = client.post("/login", query_string={"next": target},
                        data={"email": THERAPIST, "password": TEST_PASSWORD})
    assert reply.headers["Location"] == expected


def test_signing_in_starts_a_fresh_session(client, auth):
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    auth.login()
    with client.session_transaction() as session:
        assert "planted" not in session


@pytest.mark.parametrize("proxies, expected", [(0, "addr:127.0.0.1"), (1, "addr:203.0.113.9")])
def test_behind_a_trusted_proxy_failures_count_against_the_forwarded_address(settings, demo, proxies, expected):
    config = {"TESTING": True, "WTF_CSRF_ENABLED": False, "DATABASE_URL": settings.database_url,
              "SECRET_KEY": "test", "TRUSTED_PROXIES": proxies}
    client = create_app(config).test_client()
    reply = client.post("/login", data={"email": THERAPIST, "password": "guess"},
                        headers={"X-Forwarded-For": "203.0.113.9"})
    assert reply.status_code == 401
    with demo() as session:
        assert set(session.scalars(select(LoginFailure.key))) == {f"clinician:{THERAPIST}", expected}


def test_trusted_proxies_is_a_checked_setting(tmp_path):
    from bot.config.settings import ConfigError, load_settings

    assert load_settings(environ={"TRUSTED_PROXIES": "1"}, env_file=tmp_path / "no.env").trusted_proxies == 1
    with pytest.raises(ConfigError, match="TRUSTED_PROXIES"):
        load_settings(environ={"TRUSTED_PROXIES": "many"}, env_file=tmp_path / "no.env")


def _cookie(client):
    return client.get_cookie("kap_session").value


def test_a_cookie_kept_from_before_sign_out_is_sent_to_sign_in(app, client, auth, world):
    auth.login()
    stolen = _cookie(client)
    other_device = app.test_client()
    other_device.set_cookie("kap_session", stolen)
    assert other_device.get(f"/patients/{world.ava}").status_code == 200
    auth.logout()
    replay = app.test_client()
    replay.set_cookie("kap_session", stolen)
    reply = replay.get(f"/patients/{world.ava}")
    assert reply.status_code == 302 and reply.headers["Location"].startswith("/login")
    # Signing out on one device ended the other device's session too.
    assert other_device.get(f"/patients/{world.ava}").status_code == 302


def test_a_patient_cookie_kept_from_before_sign_out_is_sent_to_sign_in(app, client, auth):
    auth.login_patient()
    stolen = _cookie(client)
    assert client.get("/me/journal").status_code == 200
    auth.logout()
    replay = app.test_client()
    replay.set_cookie("kap_session", stolen)
    reply = replay.get("/me/journal")
    assert reply.status_code == 302 and "/me/login" in reply.headers["Location"]


def test_a_new_passphrase_ends_the_other_sessions_but_not_this_one(app, client, auth):
    auth.login_patient()
    other_device = app.test_client()
    other_device.set_cookie("kap_session", _cookie(client))
    assert other_device.get("/me/journal").status_code == 200
    reply = client.post("/me/passphrase", data={"passphrase": "river stone lamp", "confirm": "river stone lamp"})
    assert reply.status_code == 302
    assert client.get("/me/journal").status_code == 200
    assert other_device.get("/me/journal").status_code == 302
