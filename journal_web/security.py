"""CSRF protection, sign-in sessions that time out, and the security headers of every answer."""
from __future__ import annotations

import time

from flask import Flask, flash, request, session
from flask_login import LoginManager, logout_user
from flask_wtf.csrf import CSRFProtect

from journal_web import users

CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
SEEN_KEY = "seen"
STARTED_KEY = "started"


def init_app(app: Flask) -> CSRFProtect:
    """Install CSRF protection, the login manager, the idle timeout and the headers."""
    csrf = CSRFProtect(app)
    manager = LoginManager(app)
    manager.session_protection = "basic"
    manager.user_loader(users.load_user)
    manager.unauthorized_handler(users.unauthorized)
    app.before_request(_end_idle_session)
    app.after_request(_security_headers)
    users.init_templates(app)
    return csrf


def start_session(user) -> None:
    """Sign `user` in on a fresh session (no fixation), with the idle clock started."""
    from flask_login import login_user

    session.clear()
    login_user(user)
    session.permanent = True
    session[SEEN_KEY] = session[STARTED_KEY] = time.time()


def revoke_sessions(record) -> None:
    """End every web session of this clinician or patient, on every device (the caller commits)."""
    record.session_version = (record.session_version or 0) + 1


def end_session() -> None:
    """Sign out and forget everything in the session."""
    logout_user()
    session.clear()


def _end_idle_session():
    """End a session idle too long, or older than the absolute limit, whatever the cookie's expiry says.

    Both clocks are in the signed session, so a replayed old cookie is refused
    here on the server, not only by the browser dropping it.
    """
    if request.endpoint == "static" or "_user_id" not in session:
        return None
    from flask import current_app

    config = current_app.config
    now = time.time()
    seen, started = session.get(SEEN_KEY), session.get(STARTED_KEY)
    if not isinstance(started, (int, float)) or now - started > config["SESSION_MAX_HOURS"] * 3600:
        end_session()
        flash(f"You were signed out: a session lasts at most {config['SESSION_MAX_HOURS']} hours. "
              "Please sign in again.", "info")
        return None
    if not isinstance(seen, (int, float)) or now - seen > config["SESSION_TIMEOUT_MINUTES"] * 60:
        end_session()
        flash(f"You were signed out after {config['SESSION_TIMEOUT_MINUTES']} "
              "minutes without activity.", "info")
        return None
    session[SEEN_KEY] = now
    return None


def _security_headers(response):
    from flask import current_app

    headers = response.headers
    # setdefault: a blueprint that needs stricter values (the acknowledgement link) keeps them.
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if request.is_secure or str(current_app.config["PUBLIC_BASE_URL"]).startswith("https://"):
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if request.endpoint != "static":
        # Pages carry patient data: never keep them in a shared or back-button cache.
        headers.setdefault("Cache-Control", "no-store")
    return response
