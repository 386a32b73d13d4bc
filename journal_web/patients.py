"""Patients: the list, a patient's timeline and mood chart, exports, the safety plan
and sign-in links. Every route with a patient id answers 404 unless the
signed-in clinician may see that patient (bot.clinic.access)."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from typing import Optional

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import func, or_, select

from bot.clinic import access

from bot.storage import audit
from bot.conversation.crisis import safety_plan_for
from bot.clinic.export import journal_csv, measures_csv
from bot.conversation.questionnaire import completed as completed_questionnaires
from bot.clinic.invites import create_invite
from bot.clinic.measures import chart_data as measures_chart_data, measure_series
from bot.clinic.preparation import preparation_status
from bot.clinic.schedule import upcoming
from bot.conversation.preparation import intention_history
from bot.storage.models import Clinic, Clinician, CrisisAlert, IntegrationSession, Patient, SafetyPlan, utcnow
from bot.clinic.timeline import KINDS, TimelineFilter, highlight, journal_entries, latest_assessments, mood_series, timeline_page
from journal_web import db_session, page_number
from journal_web.forms import ActionForm, SafetyPlanForm, plan_items
from journal_web.users import clinician_required, display_zone, me

bp = Blueprint("patients", __name__, url_prefix="/patients")

PER_PAGE = 25


def _patient(patient_id: int) -> Patient:
    patient = access.visible_patient(db_session(), me(), patient_id)
    if patient is None:
        abort(404)
    return patient


def _viewed(patient: Patient, view: str, **detail) -> None:
    audit.record(db_session(), "patient.viewed", "patient", patient.id, actor_type="clinician",
                 actor_id=me().id, patient_id=patient.id, detail={"view": view, **detail})
    db_session().commit()


@bp.get("")
@clinician_required
def index():
    """The patients this clinician may see, with their open alerts."""
    session = db_session()
    query_text = request.args.get("q", "").strip()[:100]
    open_alerts = (select(func.count()).select_from(CrisisAlert)
                   .where(CrisisAlert.patient_id == Patient.id, CrisisAlert.status == "open")
                   .scalar_subquery())
    next_session = (select(func.min(IntegrationSession.scheduled_at))
                    .where(IntegrationSession.patient_id == Patient.id, IntegrationSession.status == "scheduled",
                           IntegrationSession.scheduled_at >= utcnow())
                    .scalar_subquery())
    query = (select(Patient, Clinician.display_name, open_alerts.label("open_alerts"),
                    next_session.label("next_session"))
             .join(Clinician, Patient.therapist_id == Clinician.id)
             .where(access.patient_clause(me())))
    if query_text:
        like = f"%{query_text}%"
        query = query.where(or_(Patient.display_name.ilike(like), Patient.pseudonym.ilike(like)))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = max(1, -(-total // 50))
    page = min(max(1, page_number()), pages)
    rows = session.execute(query.order_by(Patient.display_name, Patient.id)
                           .limit(50).offset((page - 1) * 50)).all()
    return render_template("patients/index.html", rows=rows, q=query_text, page=page, pages=pages)


def _filters() -> TimelineFilter:
    kinds = tuple(k for k in request.args.getlist("kind") if k in KINDS) or KINDS
    return TimelineFilter(kinds=kinds, query=request.args.get("q", "")[:200],
                          flagged_only=request.args.get("flagged") == "1",
                          since=_day(request.args.get("from")),
                          until=_day(request.args.get("to"), next_day=True))


def _day(raw: Optional[str], next_day: bool = False) -> Optional[datetime]:
    """A YYYY-MM-DD in the reader's zone as an aware instant (start of that day or the next)."""
    try:
        day = datetime.strptime((raw or "").strip(), "%Y-%m-%d").date()
    except ValueError:
        return None
    try:
        if next_day:
            day += timedelta(days=1)
        instant = datetime.combine(day, time(0), tzinfo=display_zone())
        instant.astimezone(timezone.utc)  # in range in UTC too, where the query compares it
        return instant
    except (OverflowError, ValueError):
        abort(400, description="That date is out of range.")


@bp.get("/<int:patient_id>")
@clinician_required
def timeline(patient_id: int):
    """A patient's timeline, mood chart, filters and pages."""
    patient = _patient(patient_id)
    filters = _filters()
    page = timeline_page(db_session(), patient.id, filters, page_number(), PER_PAGE)
    chart = mood_series(db_session(), patient.id)
    therapist = db_session().get(Clinician, patient.therapist_id)
    next_session, next_infusion = upcoming(db_session(), patient.id)
    measures = measure_series(db_session(), patient.id)
    intentions = intention_history(db_session(), patient.id)
    preparation = preparation_status(db_session(), patient, db_session().get(Clinic, patient.clinic_id))
    _viewed(patient, "timeline", page=page.page)
    return render_template("patients/timeline.html", patient=patient, therapist=therapist,
                           next_session=next_session, next_infusion=next_infusion,
                           measures=measures, measures_chart=measures_chart_data(measures),
                           intentions=intentions, preparation=preparation,
                           page=page, filters=filters, chart=chart,
                           kinds=KINDS,
                           can_edit=access.can_manage(me(), patient),
                           can_invite=access.can_invite(me(), patient), action_form=ActionForm())


@bp.get("/<int:patient_id>/journal.csv")
@clinician_required
def export_csv(patient_id: int):
    """The patient's journal as CSV; cells that a spreadsheet would run are quoted."""
    patient = _patient(patient_id)
    entries = journal_entries(db_session(), patient.id)
    found = latest_assessments(db_session(), [e.id for e in entries])
    assessments = {entry_id: a for (_, entry_id), a in found.items()}
    _viewed(patient, "export_csv", entries=len(entries))
    body = "".join(journal_csv(entries, assessments))
    filename = f"journal-{patient.pseudonym}.csv".replace('"', "")
    return Response(body, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.get("/<int:patient_id>/measures.csv")
@clinician_required
def export_measures(patient_id: int):
    """The patient's completed PHQ-9 and GAD-7 questionnaires as CSV, with every answer."""
    patient = _patient(patient_id)
    rows = completed_questionnaires(db_session(), patient.id)
    _viewed(patient, "export_measures", rows=len(rows))
    filename = f"questionnaires-{patient.pseudonym}.csv".replace('"', "")
    return Response("".join(measures_csv(rows)), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.get("/<int:patient_id>/journal/print")
@clinician_required
def print_journal(patient_id: int):
    """The patient's journal as one printable page."""
    patient = _patient(patient_id)
    entries = journal_entries(db_session(), patient.id)
    found = latest_assessments(db_session(), [e.id for e in entries])
    rows = [(e, found.get(("journal", e.id))) for e in entries]
    rows = [(e, a, highlight(e.text, a.findings if a else ())) for e, a in rows]
    _viewed(patient, "print", entries=len(entries))
    return render_template("patients/print.html", patient=patient, rows=rows)


@bp.route("/<int:patient_id>/safety-plan", methods=["GET", "POST"])
@clinician_required
def safety_plan(patient_id: int):
    """View and edit the patient's Stanley-Brown safety plan."""
    patient = _patient(patient_id)
    session = db_session()
    own = session.scalar(select(SafetyPlan).where(SafetyPlan.patient_id == patient.id))
    shown = own or safety_plan_for(session, patient.id, patient.clinic_id)
    can_edit = access.can_manage(me(), patient)
    form = SafetyPlanForm(data=None if request.method == "POST" else _plan_data(shown))
    if request.method == "POST":
        if not can_edit:
            abort(403)
        if form.validate_on_submit():
            changed = _save_plan(patient, own, form)
            flash("Safety plan saved." if changed else "No changes to save.", "info")
            return redirect(url_for("patients.safety_plan", patient_id=patient.id))
        return render_template("patients/safety_plan.html", patient=patient, form=form,
                               own=own, can_edit=can_edit), 400
    _viewed(patient, "safety_plan")
    return render_template("patients/safety_plan.html", patient=patient, form=form, own=own,
                           can_edit=can_edit)


def _plan_data(plan: Optional[SafetyPlan]) -> dict:
    if plan is None:
        return {}
    return {name: "\n".join(str(i) for i in (getattr(plan, name) or [])) for name in SafetyPlan.SECTIONS}


def _save_plan(patient: Patient, own: Optional[SafetyPlan], form: SafetyPlanForm) -> bool:
    session = db_session()
    new = {name: plan_items(getattr(form, name).data) for name in SafetyPlan.SECTIONS}
    if own is None:
        own = SafetyPlan(clinic_id=patient.clinic_id, patient_id=patient.id)
        session.add(own)
        changed = list(SafetyPlan.SECTIONS)
    else:
        changed = [name for name in SafetyPlan.SECTIONS if (getattr(own, name) or []) != new[name]]
    if not changed:
        return False
    for name, items in new.items():
        setattr(own, name, items)
    own.updated_by_id = me().id
    session.flush()
    audit.record(session, "safety_plan.updated", "safety_plan", own.id, actor_type="clinician",
                 actor_id=me().id, patient_id=patient.id, detail={"sections": changed})
    session.commit()
    return True


@bp.post("/<int:patient_id>/invites")
@clinician_required
def create_invite_link(patient_id: int):
    """Create a single-use sign-in link for the patient; it is shown once."""
    patient = _patient(patient_id)
    if not access.can_invite(me(), patient) or not ActionForm().validate_on_submit():
        abort(403 if not access.can_invite(me(), patient) else 400)
    session = db_session()
    hours = current_app.config["INVITE_LINK_HOURS"]
    new = create_invite(session, patient, me(), hours)
    audit.record(session, "invite.created", "patient_invite", new.invite.id, actor_type="clinician",
                 actor_id=me().id, patient_id=patient.id, detail={"hours": hours})
    session.commit()
    return render_template("patients/invite.html", patient=patient, invite=new.invite,
                           url=new.url(current_app.config["PUBLIC_BASE_URL"]), hours=hours)
