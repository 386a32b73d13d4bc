"""Importing patients and their upcoming schedule from a CSV file.

Columns (a header row is required; the order is free):

    code, display_name, therapist_email   required on a patient's first row
    timezone, locale                      optional; the clinic's by default
    infusion_at, infusion_route           optional: an infusion, "YYYY-MM-DD HH:MM" in the patient's zone
    integration_at                        optional: an integration session, same format

A patient may have several rows (same code), one per scheduled item; the
first row enrols them. Every row is checked before anything is written: one
bad row and nothing is imported, and every problem is named by its line.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from typing import Optional

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.clinic.enrolment import (
    EnrolmentError, check_code, check_locale, check_name, check_timezone, enrol_patient,
)
from bot.clinic.schedule import ScheduleError, add_infusion, add_integration_session, local_text_to_utc
from bot.storage.models import ROUTES, Clinic, Clinician, Patient

REQUIRED = ("code", "display_name", "therapist_email")
OPTIONAL = ("timezone", "locale", "infusion_at", "infusion_route", "integration_at")
MAX_ROWS = 5000
MAX_BYTES = 2_000_000


@dataclass
class PlannedPatient:
    """A patient to enrol, with the items to schedule."""

    line: int
    code: str
    display_name: str
    therapist: Clinician
    timezone: str
    locale: str
    infusions: list[tuple[datetime, str]] = field(default_factory=list)
    sessions: list[datetime] = field(default_factory=list)


@dataclass
class ImportPlan:
    """What a file would do, and every problem with it, by line number."""

    patients: list[PlannedPatient] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing is wrong and something is there to import."""
        return not self.problems and bool(self.patients)

    def summary(self) -> str:
        """One line: what would be (or was) imported."""
        infusions = sum(len(p.infusions) for p in self.patients)
        sessions = sum(len(p.sessions) for p in self.patients)
        return f"{len(self.patients)} patients, {infusions} infusions, {sessions} integration sessions"


def plan_import(session: Session, clinic: Clinic, data: bytes) -> ImportPlan:
    """Read and check the whole file; write nothing."""
    plan = ImportPlan()
    if len(data) > MAX_BYTES:
        plan.problems.append((0, f"the file is larger than {MAX_BYTES // 1_000_000} MB"))
        return plan
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        plan.problems.append((line, "the file is not UTF-8 text (save it as CSV UTF-8)"))
        return plan
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [name.strip().lower() for name in (reader.fieldnames or [])]
    missing = [name for name in REQUIRED if name not in header]
    unknown = [name for name in header if name not in REQUIRED + OPTIONAL]
    if missing or unknown:
        if missing:
            plan.problems.append((1, f"the header lacks {', '.join(missing)}"))
        if unknown:
            plan.problems.append((1, f"unknown columns: {', '.join(unknown)}"))
        return plan
    reader.fieldnames = header
    staff = {c.email.lower(): c for c in session.scalars(
        select(Clinician).where(Clinician.clinic_id == clinic.id, Clinician.is_active.is_(True))).all()}
    by_code: dict[str, PlannedPatient] = {}
    try:
        for number, row in enumerate(reader, start=2):
            if number - 1 > MAX_ROWS:
                plan.problems.append((number, f"more than {MAX_ROWS} rows; split the file"))
                break
            if None in row:
                plan.problems.append((reader.line_num, "more cells than the header has columns"))
                continue
            values = {key: (value or "").strip() for key, value in row.items()}
            if not any(values.values()):
                continue
            problem = _plan_row(session, clinic, staff, by_code, plan, reader.line_num, values)
            if problem:
                plan.problems.append((reader.line_num, problem))
    except csv.Error as exc:
        plan.problems.append((reader.line_num, f"the CSV cannot be read: {exc}"))
    if not plan.patients and not plan.problems:
        plan.problems.append((1, "the file has no patient rows"))
    return plan


def apply_import(session: Session, clinic: Clinic, plan: ImportPlan, by: Optional[Clinician]) -> list[Patient]:
    """Write a plan with no problems, in the caller's transaction."""
    if not plan.ok:
        raise ValueError("a plan with problems cannot be imported")
    enrolled = []
    for planned in plan.patients:
        patient = enrol_patient(session, clinic, display_name=planned.display_name, code=planned.code,
                                therapist_id=planned.therapist.id, timezone=planned.timezone,
                                locale=planned.locale, by=by)
        for at, route in planned.infusions:
            add_infusion(session, patient, at, route, by)
        for at in planned.sessions:
            add_integration_session(session, patient, at, by)
        enrolled.append(patient)
    return enrolled


def _plan_row(session, clinic, staff, by_code, plan, line, values) -> Optional[str]:
    try:
        code = check_code(values.get("code", ""))
        planned = by_code.get(code.lower())
        if planned is None:
            if session.scalar(select(Patient.id).where(Patient.clinic_id == clinic.id,
                                                       func.lower(Patient.code) == code.lower())) is not None:
                return f"the patient code {code} is taken (codes are never reused)"
            therapist = staff.get(values.get("therapist_email", "").lower())
            if therapist is None or therapist.role not in ("therapist", "admin"):
                return f"no active therapist of this clinic has the email {values.get('therapist_email')!r}"
            planned = PlannedPatient(
                line, code, check_name(values.get("display_name", "")), therapist,
                check_timezone(values.get("timezone") or clinic.timezone),
                check_locale(values.get("locale") or clinic.locale))
        else:
            name = values.get("display_name")
            if name and check_name(name) != planned.display_name:
                return f"code {code} was given another name on line {planned.line}"
        if values.get("infusion_at"):
            route = values.get("infusion_route") or ""
            if route not in ROUTES:
                return f"infusion_route must be one of {', '.join(ROUTES)}"
            planned.infusions.append((local_text_to_utc(values["infusion_at"], planned.timezone), route))
        elif values.get("infusion_route"):
            return "infusion_route is given without infusion_at"
        if values.get("integration_at"):
            planned.sessions.append(local_text_to_utc(values["integration_at"], planned.timezone))
    except (EnrolmentError, ScheduleError) as exc:
        return str(exc)
    if code.lower() not in by_code:
        by_code[code.lower()] = planned
        plan.patients.append(planned)
    return None
