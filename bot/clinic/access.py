"""Who may see which patient's data in the web app, as one rule written in SQL.

- A therapist sees their own patients.
- An admin sees every patient of their clinic.
- An on-call clinician sees the patients of their clinic who have an alert
  that is not resolved, for as long as one is not: on call means covering a
  crisis, not reading every journal. Once the last alert is resolved the
  patient leaves their list again. A therapist on an on-call shift of the
  rota sees the same, during the shift, besides their own patients.

Everything else a clinician can open (alerts, findings, plans, exports) is
reached through its patient and inherits this rule. An inactive clinician
sees nothing. Only the patient's therapist and an admin change a safety plan.
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import and_, exists, false, or_, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from bot.storage.models import Clinician, CrisisAlert, OnCallShift, Patient, utcnow


def patient_clause(clinician: Clinician, now: Optional[datetime] = None) -> ColumnElement:
    """A WHERE clause on Patient that keeps the patients `clinician` may see."""
    if not clinician.is_active:
        return false()
    same_clinic = Patient.clinic_id == clinician.clinic_id
    if clinician.role == "admin":
        return same_clinic
    # An alias, so that a query that also selects alerts does not correlate with it.
    any_alert = aliased(CrisisAlert)
    unresolved = exists().where(any_alert.patient_id == Patient.id, any_alert.status != "resolved")
    if clinician.role == "therapist":
        now = now or utcnow()
        on_shift = exists().where(OnCallShift.clinician_id == clinician.id, OnCallShift.starts_at <= now,
                                  OnCallShift.ends_at > now)
        return and_(same_clinic, or_(Patient.therapist_id == clinician.id, and_(on_shift, unresolved)))
    if clinician.role == "on_call":
        return and_(same_clinic, unresolved)
    return false()


def visible_patient(session: Session, clinician: Clinician, patient_id: int) -> Optional[Patient]:
    """The patient if `clinician` may see them, else None (callers answer 404)."""
    return session.scalar(
        select(Patient).where(Patient.id == patient_id, patient_clause(clinician))
    )


def visible_alert(session: Session, clinician: Clinician, public_id: str) -> Optional[CrisisAlert]:
    """The alert if `clinician` may see its patient, else None."""
    return session.scalar(
        select(CrisisAlert)
        .join(Patient, CrisisAlert.patient_id == Patient.id)
        .where(CrisisAlert.public_id == public_id, patient_clause(clinician))
    )


def can_manage(clinician: Clinician, patient: Patient) -> bool:
    """Whether `clinician` may change this patient's record, course and safety plan:
    their therapist or an admin of the clinic."""
    if not clinician.is_active or clinician.clinic_id != patient.clinic_id:
        return False
    return clinician.role == "admin" or patient.therapist_id == clinician.id



def can_invite(clinician: Clinician, patient: Patient) -> bool:
    """Whether `clinician` may create a sign-in link for this patient."""
    return can_manage(clinician, patient) and patient.is_active
