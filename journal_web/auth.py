"""Signing in and out: clinicians with email and password; patients with an invite
link from their therapist, or with the passphrase they chose."""
from __future__ import annotations

import math
from datetime import timedelta

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from bot.storage import audit

from bot.clinic import invites, staff, throttle
from bot.clinic.passwords import verify_password
from bot.storage.models import Clinician
from journal_web import db_session
from journal_web.forms import ActionForm, LoginForm, PassphraseForm, PatientLoginForm, SetPasswordForm
from journal_web.security import end_session, revoke_sessions, start_session
from journal_web.users import ClinicianUser, PatientUser, patient_required, safe_next

bp = Blueprint("auth", __name__)


def _policy() -> throttle.Policy:
    return throttle.Policy(current_app.config["LOGIN_MAX_FAILURES"],
                           timedelta(minutes=current_app.config["LOGIN_LOCKOUT_MINUTES"]))


def _locked_page(template: str, form, wait: timedelta):
    minutes = max(1, math.ceil(wait.total_seconds() / 60))
    message = (f"Too many failed sign-ins. For your safety this sign-in is paused; "
               f"try again in {minutes} minute{'s' if minutes != 1 else ''}.")
    return render_template(template, form=form, error=message), 429


@bp.route("/login", methods=["GET", "POST"])
def login():
    """A clinician signs in with email and password."""
    if current_user.is_authenticated and current_user.kind == "clinician":
        return redirect(url_for("patients.index"))
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form), 400 if form.errors else 200
    session, policy = db_session(), _policy()
    email = form.email.data.strip().lower()
    keys = [throttle.account_key("clinician", email), throttle.address_key(request.remote_addr)]
    wait = throttle.locked_for(session, keys, policy)
    if wait is not None:
        return _locked_page("auth/login.html", form, wait)
    clinician = session.scalar(select(Clinician).where(func.lower(Clinician.email) == email))
    if clinician is not None and clinician.is_active:
        ok = verify_password(clinician.password_hash, form.password.data)
    else:
        ok = throttle.verify_nothing(form.password.data)
    if not ok:
        throttle.record_failure(session, keys, policy)
        if clinician is not None:
            audit.record(session, "auth.sign_in_failed", "clinician", clinician.id,
                         actor_type="system", actor_id=None)
        session.commit()
        return render_template("auth/login.html", form=form,
                               error="That email and password do not match an account."), 401
    throttle.clear_failures(session, keys[0])
    audit.record(session, "auth.signed_in", "clinician", clinician.id,
                 actor_type="clinician", actor_id=clinician.id)
    session.commit()
    start_session(ClinicianUser(clinician))
    return redirect(safe_next(request.args.get("next"), url_for("patients.index")))


@bp.post("/logout")
def logout():
    """Sign out (a POST with a CSRF token, so no other site can sign you out)."""
    form = ActionForm()
    if form.validate_on_submit() and current_user.is_authenticated:
        kind = current_user.kind
        audit.record(db_session(), "auth.signed_out", kind, current_user.record.id,
                     actor_type=kind, actor_id=current_user.record.id,
                     patient_id=current_user.record.id if kind == "patient" else None)
        revoke_sessions(current_user.record)
        db_session().commit()
        end_session()
        flash("You are signed out.", "info")
        return redirect(url_for("auth.patient_login" if kind == "patient" else "auth.login"))
    end_session()
    return redirect(url_for("auth.login"))


@bp.get("/invite/<token>")
def invite(token: str):
    """Show what an invite link does, with a button; a GET never uses it up
    (mail scanners and link previews open links too)."""
    found = invites.peek_invite(db_session(), token)
    if found is None:
        return render_template("auth/invite_invalid.html"), 410
    return _no_referrer(render_template("auth/invite.html", form=ActionForm()))


@bp.post("/invite/<token>")
def redeem_invite(token: str):
    """Use the invite: sign the patient in on a fresh session."""
    form = ActionForm()
    if not form.validate_on_submit():
        return render_template("auth/invite.html", form=form), 400
    session = db_session()
    patient = invites.redeem_invite(session, token)
    if patient is None:
        session.rollback()
        return render_template("auth/invite_invalid.html"), 410
    audit.record(session, "invite.redeemed", "patient", patient.id,
                 actor_type="patient", actor_id=patient.id, patient_id=patient.id)
    session.commit()
    start_session(PatientUser(patient))
    if not invites.has_passphrase(session, patient.id):
        flash("Welcome. You can set a passphrase to sign in again without a new link.", "info")
    return redirect(url_for("chat.chat"))


def _no_referrer(body):
    response = current_app.make_response(body)
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.route("/me/login", methods=["GET", "POST"])
def patient_login():
    """A patient signs in with their code and passphrase."""
    if current_user.is_authenticated and current_user.kind == "patient":
        return redirect(url_for("chat.chat"))
    form = PatientLoginForm()
    if not form.validate_on_submit():
        return render_template("auth/patient_login.html", form=form), 400 if form.errors else 200
    session, policy = db_session(), _policy()
    keys = [throttle.account_key("patient", form.code.data), throttle.address_key(request.remote_addr)]
    wait = throttle.locked_for(session, keys, policy)
    if wait is not None:
        return _locked_page("auth/patient_login.html", form, wait)
    patient = invites.check_passphrase(session, form.code.data, form.passphrase.data)
    if patient is None:
        throttle.record_failure(session, keys, policy)
        session.commit()
        return render_template("auth/patient_login.html", form=form,
                               error="That code and passphrase do not match. "
                                     "Your therapist can send you a new sign-in link."), 401
    throttle.clear_failures(session, keys[0])
    audit.record(session, "auth.signed_in", "patient", patient.id,
                 actor_type="patient", actor_id=patient.id, patient_id=patient.id)
    session.commit()
    start_session(PatientUser(patient))
    return redirect(safe_next(request.args.get("next"), url_for("chat.chat")))


@bp.route("/me/passphrase", methods=["GET", "POST"])
@patient_required
def passphrase():
    """A signed-in patient sets or changes their passphrase."""
    session = db_session()
    patient = current_user.record
    has_one = invites.has_passphrase(session, patient.id)
    form = PassphraseForm()
    if form.validate_on_submit():
        if has_one and invites.check_passphrase(session, patient.pseudonym, form.current.data or "") is None:
            form.current.errors = list(form.current.errors) + ["This is not your current passphrase."]
        else:
            invites.set_passphrase(session, patient, form.passphrase.data)
            audit.record(session, "patient.passphrase_set", "patient", patient.id,
                         actor_type="patient", actor_id=patient.id, patient_id=patient.id)
            # A new passphrase ends every other session of this patient; this one goes on.
            revoke_sessions(patient)
            session.commit()
            start_session(PatientUser(patient))
            flash(f"Passphrase saved. Next time, sign in with your code {patient.pseudonym} "
                  "and this passphrase.", "info")
            return redirect(url_for("chat.chat"))
    status = 400 if form.errors else 200
    return render_template("auth/passphrase.html", form=form, has_one=has_one,
                           code=patient.pseudonym), status


@bp.route("/welcome/<token>", methods=["GET", "POST"])
def welcome(token: str):
    """A clinician sets a password through their invite or reset link, then signs in."""
    session = db_session()
    clinician = staff.peek_password_link(session, token)
    if clinician is None:
        return render_template("auth/welcome_invalid.html"), 404
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            staff.set_password_with_link(session, token, form.password.data)
        except staff.StaffError as exc:
            session.rollback()
            form.password.errors.append(str(exc))
        else:
            session.commit()
            end_session()
            flash("Your password is set. Sign in with your email and the new password.")
            return redirect(url_for("auth.login"))
    status = 400 if form.is_submitted() else 200
    return render_template("auth/welcome.html", form=form, clinician=clinician,
                           min_chars=staff.MIN_PASSWORD_CHARS), status
