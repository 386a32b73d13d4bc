"""The alert inbox, one alert's page with acknowledge and resolve, and the review queue.

Paths match the links in alert emails and digests (bot.escalation.tokens):
/alerts/<public_id> and /review.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from bot.clinic import access, inbox

from bot.storage import audit
from bot.storage.models import Clinician, Patient
from journal_web import db_session, page_number
from journal_web.forms import AcknowledgeForm, ResolveForm, ReviewForm
from journal_web.users import clinician_required, me

bp = Blueprint("alerts", __name__)


def _alert(public_id: str):
    alert = access.visible_alert(db_session(), me(), public_id)
    if alert is None:
        abort(404)
    return alert


@bp.get("/alerts")
@clinician_required
def index():
    """Open, acknowledged or resolved alerts: most severe first, then newest."""
    status = request.args.get("status", "open")
    page = inbox.inbox(db_session(), me(), status, page_number())
    return render_template("alerts/index.html", inbox=page)


@bp.get("/alerts/<public_id>")
@clinician_required
def detail(public_id: str):
    """One alert: what was flagged, who was told, and what was done."""
    alert = _alert(public_id)
    return _render_detail(alert, AcknowledgeForm(), ResolveForm())


def _render_detail(alert, ack_form, resolve_form, status: int = 200):
    session = db_session()
    patient = session.get(Patient, alert.patient_id)
    events, deliveries = inbox.alert_history(session, alert)
    names = dict(session.execute(select(Clinician.id, Clinician.display_name)
                                 .where(Clinician.clinic_id == patient.clinic_id)).all())
    audit.record(session, "alert.viewed", "crisis_alert", alert.public_id, actor_type="clinician",
                 actor_id=me().id, patient_id=patient.id)
    session.commit()
    return render_template("alerts/detail.html", alert=alert, patient=patient,
                           messages=inbox.alert_messages(session, alert), events=events,
                           deliveries=deliveries, names=names, ack_form=ack_form,
                           resolve_form=resolve_form), status


@bp.post("/alerts/<public_id>/acknowledge")
@clinician_required
def acknowledge(public_id: str):
    """Acknowledge the alert, with an optional note (stops re-escalation)."""
    alert = _alert(public_id)
    form = AcknowledgeForm()
    if not form.validate_on_submit():
        return _render_detail(alert, form, ResolveForm(formdata=None), 400)
    changed = inbox.acknowledge_alert(db_session(), alert, me(), form.note.data or "")
    db_session().commit()
    flash("Alert acknowledged." if changed else "This alert was already acknowledged.", "info")
    return redirect(url_for("alerts.detail", public_id=alert.public_id))


@bp.post("/alerts/<public_id>/resolve")
@clinician_required
def resolve(public_id: str):
    """Resolve the alert with a note saying what was done."""
    alert = _alert(public_id)
    form = ResolveForm()
    if not form.validate_on_submit():
        return _render_detail(alert, AcknowledgeForm(formdata=None), form, 400)
    changed = inbox.resolve_alert(db_session(), alert, me(), form.note.data)
    db_session().commit()
    flash("Alert resolved." if changed else "This alert was already resolved.", "info")
    return redirect(url_for("alerts.detail", public_id=alert.public_id))


@bp.get("/review")
@clinician_required
def review():
    """`review`-level findings of the last 30 days that nobody has reviewed yet."""
    show_all = request.args.get("show") == "all"
    rows = inbox.review_rows(db_session(), me(), include_reviewed=show_all)
    audit.record(db_session(), "review_queue.viewed", "review_queue", None, actor_type="clinician",
                 actor_id=me().id, detail={"patients": sorted({r.item.patient.id for r in rows})})
    db_session().commit()
    return render_template("alerts/review.html", rows=rows, show_all=show_all, form=ReviewForm())


@bp.post("/review/<int:assessment_id>")
@clinician_required
def mark_reviewed(assessment_id: int):
    """Mark one finding as reviewed, with an optional note."""
    assessment = inbox.visible_review_assessment(db_session(), me(), assessment_id)
    if assessment is None:
        abort(404)
    form = ReviewForm()
    if not form.validate_on_submit():
        abort(400)
    inbox.mark_reviewed(db_session(), assessment, me(), form.note.data or "")
    db_session().commit()
    flash("Marked as reviewed.", "info")
    return redirect(url_for("alerts.review"))
