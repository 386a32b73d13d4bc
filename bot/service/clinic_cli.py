"""Clinic commands for setting up and scripting: `python -m bot setup-clinic|clinician|patient|...`.

Each command is one transaction over the configured database; a problem a
person can fix ends in one line starting with "error:" and exit code 1.
Changes are audited with the system as the actor.
"""
from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Optional

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.clinic.schedule import local_text_to_utc
from bot.config.settings import Settings
from bot.storage.db import make_engine, make_session_factory
from bot.storage.models import PATIENT_STATUSES, ROLES, ROUTES, Clinic, Clinician, Patient

COMMANDS = ("setup-clinic", "clinician", "patient", "infusion", "session", "rota", "import-patients")


class ClinicCommandError(Exception):
    """A problem to report as one line."""


def add_commands(commands) -> None:
    """Add the clinic commands to the `python -m bot` parser."""
    setup = commands.add_parser("setup-clinic", help="create the clinic and its first admin")
    setup.add_argument("--name")
    setup.add_argument("--timezone", help="IANA time zone, e.g. America/Denver")
    setup.add_argument("--locale", help="e.g. en-US")
    setup.add_argument("--crisis-set", help="crisis resource set id, e.g. us, gb, au")
    setup.add_argument("--medical-email", default=None, help="where medical alerts also go")
    setup.add_argument("--medical-contact", default=None, help="name and phone shown to patients")
    setup.add_argument("--admin-email")
    setup.add_argument("--admin-name")
    setup.add_argument("--another", action="store_true", help="add a clinic although one exists")

    clinician = commands.add_parser("clinician", help="add, list, deactivate clinicians").add_subparsers(
        dest="action", required=True)
    add = clinician.add_parser("add")
    add.add_argument("--email", required=True)
    add.add_argument("--name", required=True)
    add.add_argument("--role", required=True, choices=ROLES)
    clinician.add_parser("list")
    for name in ("deactivate", "reset-link"):
        clinician.add_parser(name).add_argument("email")

    patient = commands.add_parser("patient", help="enrol, list, change patients").add_subparsers(
        dest="action", required=True)
    enrol = patient.add_parser("enrol")
    enrol.add_argument("--code", required=True)
    enrol.add_argument("--name", required=True)
    enrol.add_argument("--therapist-email", required=True)
    enrol.add_argument("--timezone")
    enrol.add_argument("--locale")
    patient.add_parser("list")
    status = patient.add_parser("status")
    status.add_argument("code")
    status.add_argument("status", choices=PATIENT_STATUSES)
    patient.add_parser("invite").add_argument("code")

    infusion = commands.add_parser("infusion", help="schedule or record infusions").add_subparsers(
        dest="action", required=True)
    add_infusion = infusion.add_parser("add")
    add_infusion.add_argument("code")
    add_infusion.add_argument("--at", required=True, help='"YYYY-MM-DD HH:MM" in the patient\'s time zone')
    add_infusion.add_argument("--route", required=True, choices=ROUTES)
    add_infusion.add_argument("--status", default="scheduled", choices=("scheduled", "completed", "cancelled"))
    add_infusion.add_argument("--dose-mg", default=None)
    add_infusion.add_argument("--notes", default="")
    infusion.add_parser("list").add_argument("code")

    session = commands.add_parser("session", help="book integration sessions").add_subparsers(
        dest="action", required=True)
    add_session = session.add_parser("add")
    add_session.add_argument("code")
    add_session.add_argument("--at", required=True, help='"YYYY-MM-DD HH:MM" in the patient\'s time zone')

    rota = commands.add_parser("rota", help="the on-call rota").add_subparsers(dest="action", required=True)
    shift = rota.add_parser("add")
    shift.add_argument("email")
    shift.add_argument("--from", dest="start", required=True, help='"YYYY-MM-DD HH:MM", clinic time')
    shift.add_argument("--to", dest="end", required=True, help='"YYYY-MM-DD HH:MM", clinic time')
    rota.add_parser("list")

    importer = commands.add_parser("import-patients", help="import patients and their schedule from CSV")
    importer.add_argument("file", type=Path)
    importer.add_argument("--dry-run", action="store_true", help="check every row, write nothing")

    for name in COMMANDS[1:]:
        group = commands.choices[name]
        leaves = [group] if name == "import-patients" else list(_subparsers(group).choices.values())
        for leaf in leaves:
            leaf.add_argument("--clinic", type=int, default=None, help="clinic id, when there are several")


def _subparsers(parser: argparse.ArgumentParser):
    return next(action for action in parser._actions if isinstance(action, argparse._SubParsersAction))


def run(args: argparse.Namespace, settings: Settings, out: Callable[[str], None] = print) -> int:
    """Run one clinic command; returns the exit code."""
    from bot.clinic.enrolment import EnrolmentError
    from bot.clinic.schedule import ScheduleError
    from bot.clinic.setup import SetupError
    from bot.clinic.staff import StaffError
    from bot.escalation.rota import RotaError

    factory = make_session_factory(make_engine(settings.database_url))
    handler = {
        "setup-clinic": _setup, "clinician": _clinician, "patient": _patient, "infusion": _infusion,
        "session": _session, "rota": _rota, "import-patients": _import,
    }[args.command]
    with factory() as session:
        try:
            code = handler(session, args, settings, out)
        except (ClinicCommandError, SetupError, StaffError, EnrolmentError, ScheduleError, RotaError) as exc:
            session.rollback()
            raise ClinicCommandError(str(exc)) from None
        session.commit()
    return code


def _setup(session: Session, args, settings: Settings, out) -> int:
    from bot.clinic.setup import ClinicSettings, setup_clinic

    if not args.another and session.scalar(select(func.count()).select_from(Clinic)):
        raise ClinicCommandError("a clinic is set up already; to add another one on purpose, pass --another")
    values = {
        "name": args.name or _ask("Clinic name"),
        "timezone": args.timezone or _ask("Time zone (IANA, e.g. America/Denver)"),
        "locale": args.locale or _ask("Locale (e.g. en-US)", "en"),
        "crisis_set": args.crisis_set or _ask("Crisis resource set (us, ca, gb, ie, za, au, nz)"),
        "medical_email": args.medical_email if args.medical_email is not None else _ask(
            "Medical contact email (optional)", ""),
        "admin_email": args.admin_email or _ask("First admin's email"),
        "admin_name": args.admin_name or _ask("First admin's name"),
    }
    clinic, link = setup_clinic(
        session, ClinicSettings(values["name"], values["timezone"], values["locale"], values["crisis_set"],
                                values["medical_email"], args.medical_contact or ""),
        values["admin_email"], values["admin_name"], settings.invite_link_hours, allow_another=args.another)
    out(f"Clinic {clinic.name!r} is set up (id {clinic.id}).")
    out(f"Sign-in link for {link.clinician.email}, valid {settings.invite_link_hours} h and once:")
    out(link.url(settings.public_base_url))
    return 0


def _ask(question: str, default: Optional[str] = None) -> str:
    if not sys.stdin.isatty():
        if default is not None:
            return default
        raise ClinicCommandError(f"missing a value for: {question} (pass it as a flag)")
    suffix = f" [{default}]" if default else ""
    answer = input(f"{question}{suffix}: ").strip()
    return answer or (default or "")


def _clinic(session: Session, args) -> Clinic:
    if getattr(args, "clinic", None):
        clinic = session.get(Clinic, args.clinic)
        if clinic is None:
            raise ClinicCommandError(f"no clinic with id {args.clinic}")
        return clinic
    clinics = session.scalars(select(Clinic).order_by(Clinic.id).limit(2)).all()
    if not clinics:
        raise ClinicCommandError("no clinic yet: run `python -m bot setup-clinic` first")
    if len(clinics) > 1:
        raise ClinicCommandError("there are several clinics: pass --clinic ID")
    return clinics[0]


def _staff_member(session: Session, clinic: Clinic, email: str) -> Clinician:
    clinician = session.scalar(select(Clinician).where(func.lower(Clinician.email) == email.strip().lower(),
                                                       Clinician.clinic_id == clinic.id))
    if clinician is None:
        raise ClinicCommandError(f"no clinician of this clinic has the email {email!r}")
    return clinician


def _find_patient(session: Session, clinic: Clinic, code: str) -> Patient:
    wanted = code.strip().lower()
    patient = session.scalar(select(Patient).where(
        Patient.clinic_id == clinic.id,
        (func.lower(Patient.code) == wanted) | (func.lower(Patient.pseudonym) == wanted)))
    if patient is None:
        raise ClinicCommandError(f"no patient of this clinic has the code {code!r}")
    return patient


def _clinician(session: Session, args, settings: Settings, out) -> int:
    from bot.clinic import staff

    clinic = _clinic(session, args)
    if args.action == "add":
        link = staff.invite_clinician(session, clinic.id, args.email, args.name, args.role, None,
                                      settings.invite_link_hours)
        out(f"Added {link.clinician.email} ({args.role}). Link to set a password, valid "
            f"{settings.invite_link_hours} h and once:")
        out(link.url(settings.public_base_url))
    elif args.action == "list":
        for person in staff.staff(session, clinic.id):
            state = "active" if person.is_active else "deactivated"
            out(f"{person.email:<40} {person.role:<10} {state:<12} {person.display_name}")
    elif args.action == "deactivate":
        person = _staff_member(session, clinic, args.email)
        staff.set_active(session, person, False, None)
        out(f"Deactivated {person.email}; every session of theirs has ended.")
    elif args.action == "reset-link":
        link = staff.password_link(session, _staff_member(session, clinic, args.email), "reset", None,
                                   settings.invite_link_hours)
        out(f"Link for {link.clinician.email} to set a new password, valid {settings.invite_link_hours} h and once:")
        out(link.url(settings.public_base_url))
    return 0


def _patient(session: Session, args, settings: Settings, out) -> int:
    from bot.clinic import enrolment
    from bot.clinic.invites import create_invite

    clinic = _clinic(session, args)
    if args.action == "enrol":
        therapist = _staff_member(session, clinic, args.therapist_email)
        patient = enrolment.enrol_patient(session, clinic, display_name=args.name, code=args.code,
                                          therapist_id=therapist.id, timezone=args.timezone, locale=args.locale)
        out(f"Enrolled {patient.display_name}: code {patient.code}, sign-in code {patient.pseudonym}.")
    elif args.action == "list":
        for patient in session.scalars(select(Patient).where(Patient.clinic_id == clinic.id)
                                       .order_by(Patient.code)).all():
            out(f"{patient.code:<16} {patient.pseudonym:<9} {patient.status:<11} {patient.display_name}")
    elif args.action == "status":
        patient = _find_patient(session, clinic, args.code)
        enrolment.set_status(session, patient, args.status, None)
        out(f"{patient.code} is {args.status}.")
    elif args.action == "invite":
        patient = _find_patient(session, clinic, args.code)
        therapist = session.get(Clinician, patient.therapist_id)
        new = create_invite(session, patient, therapist, settings.invite_link_hours)
        out(f"Sign-in link for {patient.pseudonym}, valid {settings.invite_link_hours} h and once:")
        out(new.url(settings.public_base_url))
    return 0


def _infusion(session: Session, args, settings: Settings, out) -> int:
    from bot.clinic import schedule

    patient = _find_patient(session, _clinic(session, args), args.code)
    if args.action == "add":
        at = local_text_to_utc(args.at, patient.timezone)
        schedule.add_infusion(session, patient, at, args.route, None, status=args.status,
                              dose_mg=args.dose_mg, notes=args.notes)
        out(f"Infusion for {patient.code} on {args.at} ({patient.timezone}), {args.route}, {args.status}.")
    else:
        infusions, _ = schedule.course(session, patient.id)
        for item in infusions:
            out(f"{item.occurred_at.isoformat():<27} {item.route:<11} {item.status:<10} "
                f"{'' if item.dose_mg is None else f'{item.dose_mg:g} mg'}")
    return 0


def _session(session: Session, args, settings: Settings, out) -> int:
    from bot.clinic import schedule

    patient = _find_patient(session, _clinic(session, args), args.code)
    schedule.add_integration_session(session, patient, local_text_to_utc(args.at, patient.timezone), None)
    out(f"Integration session for {patient.code} on {args.at} ({patient.timezone}).")
    return 0


def _rota(session: Session, args, settings: Settings, out) -> int:
    from bot.escalation import rota

    clinic = _clinic(session, args)
    if args.action == "add":
        person = _staff_member(session, clinic, args.email)
        rota.add_shift(session, clinic.id, person, local_text_to_utc(args.start, clinic.timezone),
                       local_text_to_utc(args.end, clinic.timezone))
        out(f"{person.email} is on call from {args.start} to {args.end} ({clinic.timezone}).")
    else:
        now = datetime.now(timezone.utc)
        for shift in rota.shifts(session, clinic.id, now):
            person = session.get(Clinician, shift.clinician_id)
            out(f"{shift.starts_at.isoformat()} → {shift.ends_at.isoformat()}  {person.email}")
    return 0


def _import(session: Session, args, settings: Settings, out) -> int:
    from bot.clinic.csv_import import apply_import, plan_import

    clinic = _clinic(session, args)
    try:
        data = args.file.read_bytes()
    except OSError as exc:
        raise ClinicCommandError(f"cannot read {args.file}: {exc.strerror}") from None
    plan = plan_import(session, clinic, data)
    if plan.problems:
        for line, problem in plan.problems:
            out(f"{args.file.name}:{line}: {problem}")
        raise ClinicCommandError(f"{len(plan.problems)} problem(s); nothing was imported")
    if args.dry_run:
        out(f"The file is valid: {plan.summary()}. Nothing was written (--dry-run).")
        return 0
    apply_import(session, clinic, plan, None)
    out(f"Imported {plan.summary()}.")
    return 0
