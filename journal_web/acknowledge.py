"""Acknowledging an alert from the signed link in its email.

The token in the link is the credential: it names one alert and one clinician
and expires. GET shows what will be acknowledged and a form; only the POST,
with the token in the form body, changes anything. Nothing here uses the
login session, so a forged cross-site POST would need the token itself.
When CSRFProtect is enabled app-wide, exempt this blueprint (`csrf.exempt(bp)`).
"""
from __future__ import annotations

from typing import Optional

from flask import Blueprint, abort, current_app, render_template, request
from sqlalchemy import select

from bot.escalation.alerts import acknowledge
from bot.escalation.notifiers.format import categories_text, local_time
from bot.escalation.tokens import ACK_PATH, ExpiredToken, InvalidToken, read_ack_token
from bot.storage.runtime import settings as process_settings
from bot.storage.models import Clinic, Clinician, CrisisAlert, Patient, utcnow
from journal_web import db_session

bp = Blueprint("acknowledge", __name__)

MAX_NOTE_CHARS = 2000


@bp.after_request
def _no_leaks(response):
    # The URL carries a credential: keep it out of Referer headers, caches and frames.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    return response


@bp.get(ACK_PATH)
def confirm():
    """Show the alert the link is for, with a button to acknowledge it."""
    token = request.args.get("token", "")
    alert, clinician, problem = _resolve(token)
    if problem:
        return problem
    return render_template("acknowledge/confirm.html", token=token,
                           clinician=clinician, **_describe(alert))


@bp.post(ACK_PATH)
def acknowledge_alert():
    """Acknowledge the alert named by the token in the form."""
    token = request.form.get("token", "")
    alert, clinician, problem = _resolve(token)
    if problem:
        return problem
    note = request.form.get("note", "")[:MAX_NOTE_CHARS]
    session = db_session()
    changed = acknowledge(session, alert, clinician, note, utcnow())
    session.commit()
    return render_template("acknowledge/done.html", changed=changed,
                           clinician=clinician, **_describe(alert))


def _resolve(token: str):
    """(alert, clinician, None), or (None, None, an error page)."""
    if not token:
        abort(400)
    max_age = current_app.config.get("ACK_LINK_HOURS") or process_settings().ack_link_hours
    try:
        claim = read_ack_token(current_app.config["SECRET_KEY"], token, max_age * 3600)
    except ExpiredToken:
        return None, None, _problem("This acknowledgement link has expired. "
                                    "Please open the alert in the web app.", 410)
    except InvalidToken:
        return None, None, _problem("This acknowledgement link is not valid.", 400)
    session = db_session()
    alert = session.scalar(select(CrisisAlert).where(CrisisAlert.public_id == claim.alert_public_id))
    clinician = session.get(Clinician, claim.clinician_id)
    patient: Optional[Patient] = session.get(Patient, alert.patient_id) if alert else None
    if alert is None or clinician is None or patient is None:
        return None, None, _problem("This alert no longer exists.", 404)
    if not clinician.is_active or clinician.clinic_id != patient.clinic_id:
        return None, None, _problem("This link cannot be used to acknowledge this alert.", 403)
    return alert, clinician, None


def _describe(alert: CrisisAlert) -> dict:
    session = db_session()
    patient = session.get(Patient, alert.patient_id)
    clinic = session.get(Clinic, patient.clinic_id)
    acknowledged_by = (session.get(Clinician, alert.acknowledged_by_id)
                       if alert.acknowledged_by_id else None)
    return {
        "alert": alert,
        "pseudonym": patient.pseudonym,
        "categories": categories_text(alert.categories or []),
        "first_at": local_time(alert.created_at, clinic.timezone),
        "latest_at": local_time(alert.last_activity_at, clinic.timezone),
        "acknowledged_at": (local_time(alert.acknowledged_at, clinic.timezone)
                            if alert.acknowledged_at else None),
        "acknowledged_by": acknowledged_by.display_name if acknowledged_by else None,
    }


def _problem(message: str, status: int):
    return render_template("acknowledge/problem.html", message=message), status
