"""Running the clinic's patients: enrolment, their record, their treatment course, and Today.

Views are thin over bot.clinic.enrolment and bot.clinic.schedule, which check
every value and write the audit trail. A patient id the clinician may not see
is a 404 (bot.clinic.access); seeing a patient without managing them (on call)
is a 403 on every change.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from bot.clinic import access
from bot.clinic.enrolment import (
    EnrolmentError, enrol_patient, reassign, set_status, therapists, update_details,
)
from bot.clinic.schedule import (
    add_infusion, add_integration_session, course, local_to_utc, set_item_status, today,
)
from bot.clinic.preparation import preparation_gaps
from bot.storage.models import Clinic, InfusionSession, IntegrationSession, Patient
from journal_web import apply_change, db_session
from journal_web.forms import (
    EnrolForm, InfusionForm, IntegrationForm, ItemStatusForm, PatientDetailsForm, PatientStatusForm,
    ReassignForm,
)
from journal_web.users import clinician_required, me

bp = Blueprint("course", __name__)


def _clinic() -> Clinic:
    return db_session().get(Clinic, me().clinic_id)


def _managed(patient_id: int) -> Patient:
    """The patient, if the clinician may see them (else 404) and manage them (else 403)."""
    patient = access.visible_patient(db_session(), me(), patient_id)
    if patient is None:
        abort(404)
    if not access.can_manage(me(), patient):
        abort(403)
    return patient


def _therapist_choices(form_field) -> None:
    people = therapists(db_session(), me().clinic_id)
    if not me().role == "admin":
        people = [p for p in people if p.id == me().id]
    form_field.choices = [(p.id, p.display_name) for p in people]


@bp.route("/patients/new", methods=["GET", "POST"])
@clinician_required
def enrol():
    """Enrol a patient: a therapist enrols their own, an admin for any therapist."""
    if me().role not in ("therapist", "admin"):
        abort(403)
    clinic = _clinic()
    form = EnrolForm(data=None if request.method == "POST" else
                     {"timezone": clinic.timezone, "locale": clinic.locale, "therapist_id": me().id})
    _therapist_choices(form.therapist_id)
    if request.method == "POST":
        if form.validate_on_submit():
            if form.therapist_id.data not in {value for value, _ in form.therapist_id.choices}:
                form.therapist_id.errors.append("Choose a therapist from the list.")
            else:
                session = db_session()
                try:
                    patient = enrol_patient(session, clinic, display_name=form.display_name.data,
                                            code=form.code.data, therapist_id=form.therapist_id.data,
                                            timezone=form.timezone.data, locale=form.locale.data, by=me())
                except EnrolmentError as exc:
                    session.rollback()
                    flash(str(exc))
                else:
                    session.commit()
                    flash(f"{patient.display_name} is enrolled: sign-in code {patient.pseudonym}.")
                    return redirect(url_for("patients.timeline", patient_id=patient.id))
        return render_template("course/enrol.html", form=form), 400
    return render_template("course/enrol.html", form=form)


@bp.route("/patients/<int:patient_id>/manage", methods=["GET", "POST"])
@clinician_required
def manage(patient_id: int):
    """A patient's details, status, therapist and treatment course."""
    patient = _managed(patient_id)
    forms = _forms(patient)
    status = 200
    if request.method == "POST":
        details = forms["details"]
        if details.validate_on_submit():
            if apply_change(lambda: update_details(db_session(), patient, display_name=details.display_name.data,
                                                   timezone=details.timezone.data, locale=details.locale.data,
                                                   by=me()), "Details saved."):
                return redirect(url_for("course.manage", patient_id=patient.id))
        status = 400
    return render_template("course/manage.html", patient=patient, **forms), status


def _forms(patient: Patient) -> dict:
    posted = request.method == "POST"
    details = PatientDetailsForm(data=None if posted else {
        "display_name": patient.display_name, "timezone": patient.timezone, "locale": patient.locale})
    state = PatientStatusForm(formdata=None, data={"status": patient.status})
    therapist = ReassignForm(formdata=None, data={"therapist_id": patient.therapist_id})
    therapist.therapist_id.choices = [(p.id, p.display_name) for p in therapists(db_session(), patient.clinic_id)]
    infusions, sessions = course(db_session(), patient.id)
    return {"details": details, "state": state, "therapist": therapist,
            "infusion_form": InfusionForm(formdata=None, prefix="infusion",
                                          data={"status": "scheduled", "route": "IV"}),
            "integration_form": IntegrationForm(formdata=None, prefix="session", data={"status": "scheduled"}),
            "item_form": ItemStatusForm(formdata=None), "infusions": infusions, "sessions": sessions}


def _back(patient: Patient):
    return redirect(url_for("course.manage", patient_id=patient.id))


@bp.post("/patients/<int:patient_id>/status")
@clinician_required
def change_status(patient_id: int):
    """Make the patient active, paused or discharged."""
    patient = _managed(patient_id)
    form = PatientStatusForm()
    if not form.validate_on_submit():
        abort(400)
    apply_change(lambda: set_status(db_session(), patient, form.status.data, me()), "Status saved.")
    return _back(patient)


@bp.post("/patients/<int:patient_id>/therapist")
@clinician_required
def change_therapist(patient_id: int):
    """Give the patient another therapist (audited)."""
    patient = _managed(patient_id)
    form = ReassignForm()
    if not form.validate_on_submit():
        abort(400)
    apply_change(lambda: reassign(db_session(), patient, form.therapist_id.data, me()), "Therapist changed.")
    if not access.visible_patient(db_session(), me(), patient.id):
        return redirect(url_for("patients.index"))
    return _back(patient)


@bp.post("/patients/<int:patient_id>/infusions")
@clinician_required
def new_infusion(patient_id: int):
    """Record or schedule an infusion, in the patient's time zone."""
    patient = _managed(patient_id)
    form = InfusionForm(prefix="infusion")
    if not form.validate_on_submit():
        flash("Give the infusion's date and time. " + _errors(form))
        return _back(patient)
    apply_change(lambda: add_infusion(
        db_session(), patient, local_to_utc(form.day.data.isoformat(), form.at.data.strftime("%H:%M"),
                                             patient.timezone),
        form.route.data, me(), status=form.status.data, dose_mg=form.dose_mg.data, notes=form.notes.data),
        "Infusion saved.")
    return _back(patient)


@bp.post("/patients/<int:patient_id>/sessions")
@clinician_required
def new_session(patient_id: int):
    """Book an integration session, in the patient's time zone."""
    patient = _managed(patient_id)
    form = IntegrationForm(prefix="session")
    if not form.validate_on_submit():
        flash("Give the session's date and time. " + _errors(form))
        return _back(patient)
    apply_change(lambda: add_integration_session(
        db_session(), patient, local_to_utc(form.day.data.isoformat(), form.at.data.strftime("%H:%M"),
                                             patient.timezone),
        me(), status=form.status.data, notes=form.notes.data), "Integration session saved.")
    return _back(patient)


@bp.post("/patients/<int:patient_id>/infusions/<int:item_id>/status")
@clinician_required
def infusion_status(patient_id: int, item_id: int):
    """Mark an infusion scheduled, completed or cancelled."""
    return _item_status(patient_id, InfusionSession, item_id)


@bp.post("/patients/<int:patient_id>/sessions/<int:item_id>/status")
@clinician_required
def session_status(patient_id: int, item_id: int):
    """Mark an integration session scheduled, completed or cancelled."""
    return _item_status(patient_id, IntegrationSession, item_id)


def _item_status(patient_id: int, model, item_id: int):
    patient = _managed(patient_id)
    item = db_session().get(model, item_id)
    if item is None or item.patient_id != patient.id:
        abort(404)
    form = ItemStatusForm()
    if not form.validate_on_submit():
        abort(400)
    apply_change(lambda: set_item_status(db_session(), item, patient, form.status.data, me()), "Status saved.")
    return _back(patient)


@bp.get("/today")
@clinician_required
def today_page():
    """Today's infusions and integration sessions, with open alerts and the latest check-in;
    and what patients have not confirmed for their infusions until the end of tomorrow."""
    clinic = _clinic()
    items = today(db_session(), me(), clinic.timezone)
    gaps = preparation_gaps(db_session(), me(), clinic)
    return render_template("course/today.html", items=items, gaps=gaps, clinic=clinic)


def _errors(form) -> str:
    return " ".join(error for field in form for error in field.errors if field.name != "csrf_token")
