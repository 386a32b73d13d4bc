"""The audit log: who viewed or changed which patient's data, and when. Admins only."""
from __future__ import annotations

from flask import Blueprint, render_template, request
from sqlalchemy import select

from bot.storage.audit import audit_page
from bot.storage.models import Patient
from journal_web import db_session, page_number
from journal_web.users import admin_required, me

bp = Blueprint("audit", __name__)


@bp.get("/audit")
@admin_required
def index():
    """The clinic's audit events, newest first, by patient and action."""
    session = db_session()
    code = request.args.get("patient", "").strip().upper()[:32]
    patient_id = None
    if code:
        patient_id = session.scalar(select(Patient.id).where(
            Patient.pseudonym == code, Patient.clinic_id == me().clinic_id)) or -1
    action = request.args.get("action", "").strip()[:64]
    page = audit_page(session, me().clinic_id, page_number(),
                      patient_id=patient_id, action_prefix=action)
    return render_template("audit/index.html", log=page, code=code, action=action)
