"""Who is signed in: a clinician or a patient, and the guards for each kind of page.

Flask-Login stores `c:<id>:<version>` or `p:<id>:<version>` in the session;
every request loads the row again, so a deactivated account is signed out at
its next request, and raising the row's `session_version` (sign-out, a new
password or passphrase) ends every session of that account, on every device.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from functools import wraps
from typing import Optional
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask, abort, current_app, g, jsonify, redirect, request, url_for
from flask_login import UserMixin, current_user

from bot.content.crisis_resources import resources_for
from bot.content.schema import ContentError
from bot.content.questionnaires import questionnaires
from bot.storage.models import Clinic, Clinician, Patient
from bot.clinic.timeline import KIND_NAMES, LEVEL_RANK, finding_label
from journal_web import db_session


class ClinicianUser(UserMixin):
    """A signed-in therapist, on-call clinician or admin."""

    kind = "clinician"

    def __init__(self, record: Clinician):
        self.record = record
        self.id = f"c:{record.id}:{record.session_version or 0}"

    @property
    def is_admin(self) -> bool:
        """Whether this clinician administers the clinic."""
        return self.record.role == "admin"


class PatientUser(UserMixin):
    """A signed-in patient."""

    kind = "patient"

    def __init__(self, record: Patient):
        self.record = record
        self.id = f"p:{record.id}:{record.session_version or 0}"

    is_admin = False


def load_user(user_id: str):
    """Flask-Login's loader: the active account named in the session at its current version, or None."""
    kind, _, rest = (user_id or "").partition(":")
    raw, _, version = rest.partition(":")
    if not (raw.isdigit() and version.isdigit()) or len(raw) > 18:
        return None
    model, wrapper = {"c": (Clinician, ClinicianUser), "p": (Patient, PatientUser)}.get(kind, (None, None))
    if model is None:
        return None
    record = db_session().get(model, int(raw))
    if record is None or not record.is_active or (record.session_version or 0) != int(version):
        return None
    return wrapper(record)


def wants_json() -> bool:
    """Whether the caller is a script expecting JSON rather than a page."""
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return request.is_json or best == "application/json"


def unauthorized():
    """Anonymous: JSON 401 for scripts, else the sign-in page for this kind of page."""
    if wants_json():
        return jsonify(error="Please sign in again."), 401
    endpoint = "auth.patient_login" if request.path.startswith("/me/") else "auth.login"
    target = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for(endpoint, next=target))


def clinician_required(view):
    """Only for signed-in clinicians."""

    @wraps(view)
    def guarded(*args, **kwargs):
        if not current_user.is_authenticated:
            return current_app.login_manager.unauthorized()
        if current_user.kind != "clinician":
            abort(403)
        return view(*args, **kwargs)

    return guarded


def admin_required(view):
    """Only for signed-in clinic admins."""

    @wraps(view)
    @clinician_required
    def guarded(*args, **kwargs):
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return guarded


def patient_required(view):
    """Only for signed-in patients."""

    @wraps(view)
    def guarded(*args, **kwargs):
        if not current_user.is_authenticated:
            return current_app.login_manager.unauthorized()
        if current_user.kind != "patient":
            abort(403)
        return view(*args, **kwargs)

    return guarded


def me() -> Clinician:
    """The signed-in clinician's row."""
    return current_user.record


def safe_next(target: Optional[str], default: str) -> str:
    """`target` if it is a path on this site, else `default` (no open redirects)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") \
            or "\\" in target:
        return default
    return target


def display_zone():
    """The time zone pages are shown in: the clinic's, or the patient's own."""
    if "tz" not in g:
        name = "UTC"
        if current_user and current_user.is_authenticated:
            record = current_user.record
            if current_user.kind == "patient":
                name = record.timezone
            else:
                clinic = db_session().get(Clinic, record.clinic_id)
                name = clinic.timezone if clinic else "UTC"
        try:
            g.tz = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            g.tz = timezone.utc
    return g.tz


def when(moment: Optional[datetime], fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A time in the reader's zone, with the zone's abbreviation."""
    if moment is None:
        return ""
    local = moment.astimezone(display_zone())
    return local.strftime(fmt + " %Z").strip()


def in_zone(moment: Optional[datetime], zone_name: str, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """An aware datetime shown in the named zone, with the zone's abbreviation."""
    if moment is None:
        return ""
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return moment.astimezone(zone).strftime(fmt + " %Z")


def crisis_resources():
    """The crisis lines for the signed-in patient's clinic (the default set otherwise)."""
    set_id = current_app.config["DEFAULT_CRISIS_RESOURCE_SET"]
    if current_user and current_user.is_authenticated and current_user.kind == "patient":
        clinic = db_session().get(Clinic, current_user.record.clinic_id)
        if clinic is not None:
            set_id = clinic.crisis_resource_set
    try:
        return resources_for(set_id)
    except ContentError:
        return None


def page_url(page: int) -> str:
    """This page's URL with the same filters and another page number."""
    args = [(k, v) for k, v in request.args.items(multi=True) if k != "page"]
    return request.path + "?" + urlencode(args + [("page", str(page))])


def init_templates(app: Flask) -> None:
    """Filters and globals the templates use."""
    app.add_template_filter(when, "when")
    app.add_template_filter(lambda moment, patient: in_zone(moment, patient.timezone), "patient_time")
    app.add_template_filter(lambda moment, clinic: in_zone(moment, clinic.timezone), "clinic_time")
    app.add_template_filter(finding_label, "finding_label")
    app.add_template_filter(lambda level: level if level in LEVEL_RANK else "review", "level_class")
    app.add_template_filter(lambda value: str(value or "").replace("_", " "), "words")
    # Plain text (not Markup), so autoescape still applies to what users wrote.
    app.add_template_filter(lambda value: json.dumps(value, ensure_ascii=False, sort_keys=True),
                            "json_text")
    app.add_template_global(crisis_resources, "crisis_resources")
    app.add_template_global(KIND_NAMES, "KIND_NAMES")
    app.add_template_global(questionnaires, "questionnaires")
    app.add_template_global(page_url, "page_url")
