"""Clinic administration, for admins: settings, the default safety plan, the preparation
checklist and questionnaire offers, clinicians, the on-call rota and importing patients.

Views are thin over bot.clinic.setup, bot.clinic.preparation, bot.clinic.staff,
bot.escalation.rota and bot.clinic.csv_import, which check every value and write
the audit trail.
"""
from __future__ import annotations

from datetime import datetime, timezone

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from bot.clinic.csv_import import MAX_BYTES, OPTIONAL, REQUIRED, apply_import, plan_import
from bot.clinic.preparation import ChecklistEdit, edit_checklist, reset_checklist, set_offers
from bot.clinic.schedule import ScheduleError, local_to_utc
from bot.clinic.setup import ClinicSettings, SetupError, update_clinic
from bot.clinic.staff import StaffError, invite_clinician, password_link, set_active, set_role, staff
from bot.content.crisis_resources import resource_sets
from bot.conversation.preparation import clinic_checklist
from bot.course.offers import DEFAULT_OFFERS, INSTRUMENTS, OFFER_KINDS, OffersError, check_offers
from bot.escalation.rota import RotaError, add_shift, on_call_at, shifts
from bot.storage import audit
from bot.storage.models import Clinic, Clinician, OnCallShift, SafetyPlan
from journal_web import apply_change, db_session
from journal_web.forms import (
    ActionForm, ClinicForm, ImportForm, InviteClinicianForm, RoleForm, SafetyPlanForm, ShiftForm, plan_items,
)
from journal_web.users import admin_required, me

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _clinic() -> Clinic:
    return db_session().get(Clinic, me().clinic_id)


def _colleague(clinician_id: int) -> Clinician:
    """A clinician of the admin's own clinic, else 404."""
    clinician = db_session().get(Clinician, clinician_id)
    if clinician is None or clinician.clinic_id != me().clinic_id:
        abort(404)
    return clinician


@bp.route("/clinic", methods=["GET", "POST"])
@admin_required
def clinic_settings():
    """The clinic's name, time zone, crisis lines and medical contact."""
    clinic = _clinic()
    form = ClinicForm(obj=clinic)
    form.crisis_resource_set.choices = [(key, f"{key}: {value.country}") for key, value in sorted(resource_sets().items())]
    if form.validate_on_submit():
        session = db_session()
        try:
            changed = update_clinic(session, clinic, ClinicSettings(
                form.name.data, form.timezone.data, form.locale.data, form.crisis_resource_set.data,
                form.medical_contact_email.data or "", form.medical_contact.data or ""), me())
        except SetupError as exc:
            session.rollback()
            flash(str(exc))
            return render_template("admin/clinic.html", form=form, clinic=clinic), 400
        session.commit()
        flash("Clinic settings saved." if changed else "No changes to save.")
        return redirect(url_for("admin.clinic_settings"))
    status = 400 if form.is_submitted() else 200
    return render_template("admin/clinic.html", form=form, clinic=clinic), status


@bp.route("/clinic/safety-plan", methods=["GET", "POST"])
@admin_required
def default_plan():
    """The clinic's default safety plan: what a patient without their own plan is shown."""
    session = db_session()
    plan = session.scalar(select(SafetyPlan).where(SafetyPlan.clinic_id == me().clinic_id,
                                                   SafetyPlan.patient_id.is_(None)))
    data = None if plan is None else {
        name: "\n".join(getattr(plan, name) or []) for name in SafetyPlan.SECTIONS}
    form = SafetyPlanForm(data=None if request.method == "POST" else data)
    if form.validate_on_submit():
        if plan is None:
            plan = SafetyPlan(clinic_id=me().clinic_id, patient_id=None)
            session.add(plan)
        for name in SafetyPlan.SECTIONS:
            setattr(plan, name, plan_items(getattr(form, name).data))
        plan.updated_by_id = me().id
        session.flush()
        audit.record(session, "safety_plan.default_updated", "safety_plan", plan.id,
                     actor_type="clinician", actor_id=me().id)
        session.commit()
        flash("Default safety plan saved.")
        return redirect(url_for("admin.default_plan"))
    status = 400 if form.is_submitted() else 200
    return render_template("admin/default_plan.html", form=form), status


def _offers(clinic: Clinic) -> dict:
    """The clinic's questionnaire offers; the default if the stored value is malformed."""
    try:
        return check_offers(clinic.questionnaire_offers)
    except OffersError:
        return dict(DEFAULT_OFFERS)


@bp.route("/clinic/preparation", methods=["GET", "POST"])
@admin_required
def preparation():
    """The checklist patients walk through before each infusion, and when questionnaires are offered."""
    clinic = _clinic()
    form = ActionForm()
    if form.validate_on_submit():
        what = request.form.get("action")
        if what == "reset":
            apply_change(lambda: reset_checklist(db_session(), clinic, me()), "The default checklist is back.")
        elif what == "offers":
            offers = {instrument: request.form.getlist(f"offer_{instrument}") for instrument in INSTRUMENTS}
            apply_change(lambda: set_offers(db_session(), clinic, offers, me()), "Questionnaire offers saved.")
        else:
            rows = [ChecklistEdit(text=text, id=item_id or None, remove=str(index) in request.form.getlist("remove"))
                    for index, (item_id, text) in enumerate(zip(request.form.getlist("item_id"),
                                                                request.form.getlist("item_text")))]
            apply_change(lambda: edit_checklist(db_session(), clinic, rows, me()), "Checklist saved.")
        return redirect(url_for("admin.preparation"))
    if form.is_submitted():
        abort(400)
    return render_template("admin/preparation.html", form=form, clinic=clinic,
                           items=clinic_checklist(clinic),
                           is_default=clinic.preparation_checklist is None,
                           offers=_offers(clinic), kinds=OFFER_KINDS,
                           instruments=INSTRUMENTS)


@bp.get("/clinicians")
@admin_required
def clinicians():
    """The clinic's staff, and a form to invite one."""
    return render_template("admin/clinicians.html", people=staff(db_session(), me().clinic_id),
                           form=InviteClinicianForm(formdata=None), role_form=RoleForm(formdata=None),
                           action_form=ActionForm(), link=None)


@bp.post("/clinicians")
@admin_required
def invite():
    """Invite a clinician: the single-use link to set a password is shown once."""
    form = InviteClinicianForm()
    session = db_session()
    link = None
    if form.validate_on_submit():
        try:
            link = invite_clinician(session, me().clinic_id, form.email.data, form.display_name.data,
                                    form.role.data, me(), current_app.config["INVITE_LINK_HOURS"])
        except StaffError as exc:
            session.rollback()
            flash(str(exc))
        else:
            session.commit()
    status = 200 if link else 400
    return render_template("admin/clinicians.html", people=staff(session, me().clinic_id), form=form,
                           role_form=RoleForm(formdata=None), action_form=ActionForm(),
                           link=link and link.url(current_app.config["PUBLIC_BASE_URL"]),
                           link_for=link and link.clinician), status


@bp.post("/clinicians/<int:clinician_id>/role")
@admin_required
def change_role(clinician_id: int):
    """Change a clinician's role."""
    clinician = _colleague(clinician_id)
    form = RoleForm()
    if not form.validate_on_submit():
        abort(400)
    apply_change(lambda: set_role(db_session(), clinician, form.role.data, me()), "Role changed.")
    return redirect(url_for("admin.clinicians"))


@bp.post("/clinicians/<int:clinician_id>/deactivate")
@admin_required
def deactivate(clinician_id: int):
    """Deactivate a clinician: every session of theirs ends at once. Nothing is deleted."""
    return _activate(clinician_id, False)


@bp.post("/clinicians/<int:clinician_id>/reactivate")
@admin_required
def reactivate(clinician_id: int):
    """Let a deactivated clinician sign in again."""
    return _activate(clinician_id, True)


def _activate(clinician_id: int, active: bool):
    clinician = _colleague(clinician_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    apply_change(lambda: set_active(db_session(), clinician, active, me()),
                 f"{clinician.display_name} is {'active' if active else 'deactivated'}.")
    return redirect(url_for("admin.clinicians"))


@bp.post("/clinicians/<int:clinician_id>/reset-link")
@admin_required
def reset_link(clinician_id: int):
    """A single-use link for the clinician to set a new password, shown once."""
    clinician = _colleague(clinician_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    session = db_session()
    try:
        link = password_link(session, clinician, "reset", me(), current_app.config["INVITE_LINK_HOURS"])
    except StaffError as exc:
        session.rollback()
        flash(str(exc))
        return redirect(url_for("admin.clinicians"))
    session.commit()
    return render_template("admin/clinicians.html", people=staff(session, me().clinic_id),
                           form=InviteClinicianForm(formdata=None), role_form=RoleForm(formdata=None),
                           action_form=ActionForm(), link=link.url(current_app.config["PUBLIC_BASE_URL"]),
                           link_for=clinician)



@bp.route("/rota", methods=["GET", "POST"])
@admin_required
def rota():
    """Who is on call from when to when, in the clinic's time zone."""
    clinic = _clinic()
    session = db_session()
    form = ShiftForm()
    people = [c for c in staff(session, clinic.id) if c.is_active]
    form.clinician_id.choices = [(c.id, f"{c.display_name} ({c.role.replace('_', ' ')})") for c in people]
    status = 200
    if form.is_submitted():
        status = 400
        if form.validate_on_submit():
            try:
                starts = local_to_utc(form.start_day.data.isoformat(), form.start_at.data.strftime("%H:%M"),
                                      clinic.timezone)
                ends = local_to_utc(form.end_day.data.isoformat(), form.end_at.data.strftime("%H:%M"),
                                    clinic.timezone)
                shift = add_shift(session, clinic.id, _colleague(form.clinician_id.data), starts, ends, me())
                audit.record(session, "rota.shift_added", "on_call_shift", shift.id, actor_type="clinician",
                             actor_id=me().id, detail={"clinician_id": shift.clinician_id})
            except (RotaError, ScheduleError) as exc:
                session.rollback()
                flash(str(exc))
            else:
                session.commit()
                flash("Shift added.")
                return redirect(url_for("admin.rota"))
    now = datetime.now(timezone.utc)
    rows = [(shift, session.get(Clinician, shift.clinician_id)) for shift in shifts(session, clinic.id, now)]
    return render_template("admin/rota.html", form=form, rows=rows, clinic=clinic,
                           on_call_now=on_call_at(session, clinic.id, now), action_form=ActionForm()), status


@bp.post("/rota/<int:shift_id>/delete")
@admin_required
def delete_shift(shift_id: int):
    """Remove a shift from the rota."""
    session = db_session()
    shift = session.get(OnCallShift, shift_id)
    if shift is None or shift.clinic_id != me().clinic_id:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    audit.record(session, "rota.shift_removed", "on_call_shift", shift.id, actor_type="clinician",
                 actor_id=me().id, detail={"clinician_id": shift.clinician_id})
    session.delete(shift)
    session.commit()
    flash("Shift removed.")
    return redirect(url_for("admin.rota"))


@bp.route("/import", methods=["GET", "POST"])
@admin_required
def import_patients():
    """Import patients and their schedule from CSV: check first, then import all or nothing."""
    form = ImportForm()
    columns = REQUIRED + OPTIONAL
    if not form.validate_on_submit():
        status = 400 if form.is_submitted() else 200
        return render_template("admin/import.html", form=form, plan=None, columns=columns), status
    clinic = _clinic()
    session = db_session()
    data = form.file.data.read(MAX_BYTES + 1)
    plan = plan_import(session, clinic, data)
    if plan.ok and request.form.get("action") == "import":
        apply_import(session, clinic, plan, me())
        session.commit()
        flash(f"Imported {plan.summary()}.")
        return redirect(url_for("patients.index"))
    session.rollback()
    return render_template("admin/import.html", form=form, plan=plan, columns=columns), (200 if plan.ok else 400)
