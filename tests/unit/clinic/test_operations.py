"""Clinic operations without the web app: setting up, staff, enrolment, the course, the rota, import."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from bot.clinic import enrolment, schedule, staff
from bot.clinic.csv_import import apply_import, plan_import
from bot.clinic.passwords import verify_password
from bot.clinic.setup import ClinicSettings, SetupError, setup_clinic
from bot.conversation.journal import current_phase
from bot.escalation.rota import RotaError, add_shift, on_call_at
from bot.storage.models import (
    AuditEvent, Clinic, Clinician, InfusionSession, IntegrationSession, Patient, SafetyPlan, utcnow,
)

JUNIPER = ClinicSettings("Juniper Clinic", "Europe/London", "en-GB", "gb", "nurse@juniper.example")


@pytest.fixture
def empty(sessions):
    """A migrated database without any clinic."""
    return sessions


@pytest.fixture
def juniper(empty):
    """A clinic set up from nothing, with its admin and one therapist who has set a password."""
    with empty.begin() as session:
        clinic, link = setup_clinic(session, JUNIPER, "Lee@Juniper.example", "Lee Park", 72)
        therapist = staff.invite_clinician(session, clinic.id, "tess@juniper.example", "Tess Quill",
                                           "therapist", link.clinician, 72)
        staff.set_password_with_link(session, therapist.token, "a long enough password")
        return clinic.id, link.clinician.id, therapist.clinician.id


def test_setting_up_creates_the_clinic_its_default_plan_and_an_admin_who_sets_a_password(empty):
    with empty.begin() as session:
        clinic, link = setup_clinic(session, JUNIPER, "Lee@Juniper.example", "Lee Park", 72)
        token = link.token
    with empty.begin() as session:
        admin = session.scalar(select(Clinician).where(Clinician.email == "lee@juniper.example"))
        assert admin.role == "admin" and not verify_password(admin.password_hash, "")
        assert session.scalar(select(SafetyPlan).where(SafetyPlan.patient_id.is_(None))).professionals
        assert session.scalar(select(Clinic)).country == "GB"
        assert staff.peek_password_link(session, token).id == admin.id
        staff.set_password_with_link(session, token, "correct horse battery")
    with empty.begin() as session:
        admin = session.scalar(select(Clinician).where(Clinician.email == "lee@juniper.example"))
        assert verify_password(admin.password_hash, "correct horse battery") and admin.session_version == 1
        with pytest.raises(staff.StaffError, match="no longer valid"):
            staff.set_password_with_link(session, token, "another long password")


def test_setting_up_twice_is_refused_unless_asked(juniper, empty):
    with empty.begin() as session:
        with pytest.raises(SetupError, match="set up already"):
            setup_clinic(session, JUNIPER, "x@juniper.example", "X", 72)
    with empty.begin() as session:
        setup_clinic(session, ClinicSettings("Second", "UTC", "en", "us"), "y@second.example", "Y", 72,
                     allow_another=True)
        assert session.scalar(select(func.count()).select_from(Clinic)) == 2


@pytest.mark.parametrize("values, problem", [
    (ClinicSettings("", "UTC", "en", "us"), "clinic name"),
    (ClinicSettings("C", "Mars/Base", "en", "us"), "not a time zone"),
    (ClinicSettings("C", "UTC", "english!", "us"), "not a locale"),
    (ClinicSettings("C", "UTC", "en", "atlantis"), "crisis resource set"),
    (ClinicSettings("C", "UTC", "en", "us", "not-an-email"), "not an email"),
])
def test_bad_clinic_settings_get_one_clear_line(empty, values, problem):
    with empty.begin() as session:
        with pytest.raises(SetupError, match=problem):
            setup_clinic(session, values, "a@b.example", "A", 72)


def test_enrolment_generates_ids_and_codes_are_never_reused(juniper, empty):
    clinic_id, admin_id, tess = juniper
    with empty.begin() as session:
        clinic = session.get(Clinic, clinic_id)
        robin = enrolment.enrol_patient(session, clinic, display_name="Robin", code="JC-1", therapist_id=tess)
        assert robin.sender_id.startswith("p-") and robin.pseudonym.startswith("P-")
        assert robin.timezone == "Europe/London" and robin.locale == "en-GB"
        enrolment.set_status(session, robin, "discharged", session.get(Clinician, admin_id))
    with empty.begin() as session:
        with pytest.raises(enrolment.EnrolmentError, match="taken"):
            enrolment.enrol_patient(session, session.get(Clinic, clinic_id), display_name="Other",
                                    code="jc-1", therapist_id=tess)
        actions = session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "patient")).all()
        assert {"patient.enrolled", "patient.discharged"} <= set(actions)


def test_a_patient_can_only_go_to_an_active_therapist_of_the_clinic(juniper, empty):
    clinic_id, admin_id, tess = juniper
    with empty.begin() as session:
        _, link = setup_clinic(session, ClinicSettings("Second", "UTC", "en", "us"), "y@second.example", "Y",
                               72, allow_another=True)
        other_clinic_admin = link.clinician.id
        clinic = session.get(Clinic, clinic_id)
        inactive = staff.invite_clinician(session, clinic_id, "gone@juniper.example", "Gone", "therapist",
                                          None, 1).clinician
        inactive.is_active = False
        for therapist_id in (other_clinic_admin, inactive.id, admin_id * 1000):
            with pytest.raises(enrolment.EnrolmentError, match="active therapist"):
                enrolment.enrol_patient(session, clinic, display_name="R", code=f"X{therapist_id}",
                                        therapist_id=therapist_id)
        enrolment.enrol_patient(session, clinic, display_name="R", code="X-ok", therapist_id=admin_id)


def test_the_last_active_admin_cannot_be_removed(juniper, empty):
    clinic_id, admin_id, tess = juniper
    with empty.begin() as session:
        admin, therapist = session.get(Clinician, admin_id), session.get(Clinician, tess)
        with pytest.raises(staff.StaffError, match="at least one active admin"):
            staff.set_role(session, admin, "therapist", therapist)
        with pytest.raises(staff.StaffError, match="your own account"):
            staff.set_active(session, admin, False, admin)
        version = therapist.session_version
        staff.set_active(session, therapist, False, admin)
        assert not therapist.is_active and therapist.session_version == version + 1


def test_the_phase_reads_the_course(juniper, empty):
    clinic_id, admin_id, tess = juniper
    now = utcnow()
    with empty.begin() as session:
        robin = enrolment.enrol_patient(session, session.get(Clinic, clinic_id), display_name="Robin",
                                        code="JC-2", therapist_id=tess, timezone="UTC")
        assert current_phase(session, robin, now) == "ongoing"
        session_row = schedule.add_integration_session(session, robin, now + timedelta(hours=30), None)
        assert current_phase(session, robin, now) == "before_session"
        infusion = schedule.add_infusion(session, robin, now - timedelta(minutes=1), "IV", None)
        assert current_phase(session, robin, now) == "same_day", "a scheduled infusion whose time has passed"
        schedule.set_item_status(session, infusion, robin, "cancelled", None)
        assert current_phase(session, robin, now) == "before_session", "a cancelled one does not count"
        schedule.set_item_status(session, session_row, robin, "cancelled", None)
        assert current_phase(session, robin, now) == "ongoing"


@pytest.mark.parametrize("dose, ok", [("", True), ("52.5", True), ("0", False), ("-3", False), ("abc", False),
                                      ("1e9", False), ("NaN", False)])
def test_doses_are_checked(dose, ok):
    if ok:
        schedule.check_dose(dose)
    else:
        with pytest.raises(schedule.ScheduleError):
            schedule.check_dose(dose)


def test_local_times_are_stored_in_utc():
    at = schedule.local_to_utc("2026-07-01", "09:30", "America/Denver")
    assert at == datetime(2026, 7, 1, 15, 30, tzinfo=timezone.utc)
    for day, clock in (("2026-02-30", "09:00"), ("2026-01-01", "25:00"), ("9999-01-01", "09:00"), ("", "")):
        with pytest.raises(schedule.ScheduleError):
            schedule.local_to_utc(day, clock, "UTC")


def test_today_lists_the_clinics_day_for_those_who_may_see_it(juniper, empty):
    clinic_id, admin_id, tess = juniper
    now = datetime(2026, 12, 5, 12, 0, tzinfo=timezone.utc)
    with empty.begin() as session:
        clinic = session.get(Clinic, clinic_id)
        robin = enrolment.enrol_patient(session, clinic, display_name="Robin", code="JC-3", therapist_id=tess)
        schedule.add_infusion(session, robin, now + timedelta(hours=2), "IM", None)
        schedule.add_integration_session(session, robin, now + timedelta(days=1), None)
        admin, therapist = session.get(Clinician, admin_id), session.get(Clinician, tess)
        assert [(i.kind, i.patient.code) for i in schedule.today(session, admin, "Europe/London", now)] == [
            ("infusion", "JC-3")]
        assert len(schedule.today(session, therapist, "Europe/London", now)) == 1
        outsider = staff.invite_clinician(session, clinic_id, "sam@juniper.example", "Sam", "therapist", admin, 1)
        assert schedule.today(session, outsider.clinician, "Europe/London", now) == []


def test_the_rota_decides_who_is_on_call(juniper, empty):
    clinic_id, admin_id, tess = juniper
    now = utcnow()
    with empty.begin() as session:
        therapist = session.get(Clinician, tess)
        assert on_call_at(session, clinic_id, now) == []  # Juniper has no on-call role: admins are the fallback
        add_shift(session, clinic_id, therapist, now - timedelta(hours=1), now + timedelta(hours=1))
        assert [c.id for c in on_call_at(session, clinic_id, now)] == [tess]
        assert on_call_at(session, clinic_id, now + timedelta(hours=2)) == []
        with pytest.raises(RotaError, match="end after"):
            add_shift(session, clinic_id, therapist, now, now)


GOOD_CSV = (
    "code,display_name,therapist_email,timezone,infusion_at,infusion_route,integration_at\n"
    "JC-10,Robin,tess@juniper.example,,2026-12-10 09:30,IM,\n"
    "JC-10,,tess@juniper.example,,,,2026-12-12 14:00\n"
    "JC-11,Sasha,TESS@juniper.example,America/Denver,,,\n"
)


def test_a_good_csv_imports_every_row(juniper, empty):
    clinic_id, admin_id, _ = juniper
    with empty.begin() as session:
        clinic = session.get(Clinic, clinic_id)
        plan = plan_import(session, clinic, GOOD_CSV.encode())
        assert plan.ok, plan.problems
        apply_import(session, clinic, plan, session.get(Clinician, admin_id))
    with empty() as session:
        robin = session.scalar(select(Patient).where(Patient.code == "JC-10"))
        assert session.scalar(select(func.count()).select_from(InfusionSession)
                              .where(InfusionSession.patient_id == robin.id)) == 1
        assert session.scalar(select(func.count()).select_from(IntegrationSession)
                              .where(IntegrationSession.patient_id == robin.id)) == 1
        assert session.scalar(select(Patient.timezone).where(Patient.code == "JC-11")) == "America/Denver"


@pytest.mark.parametrize("bad_row, line, problem", [
    ("JC-12,Kai,nobody@juniper.example,,,,", 4, "no active therapist"),
    ("JC-12,Kai,tess@juniper.example,Mars/Base,,,", 4, "not a time zone"),
    ("JC-12,Kai,tess@juniper.example,,2026-12-40 09:00,IV,", 4, "YYYY-MM-DD"),
    ("JC-12,Kai,tess@juniper.example,,2026-12-10 09:00,oral,", 4, "infusion_route"),
    ("JC-12,Kai,tess@juniper.example,,,,,extra", 4, "more cells"),
    (",Kai,tess@juniper.example,,,,", 4, "patient code"),
])
def test_one_bad_row_writes_nothing_and_names_its_line(juniper, empty, bad_row, line, problem):
    clinic_id, _, _ = juniper
    data = (GOOD_CSV.splitlines(keepends=True)[:3] + [bad_row + "\n"] + GOOD_CSV.splitlines(keepends=True)[3:])
    with empty.begin() as session:
        plan = plan_import(session, session.get(Clinic, clinic_id), "".join(data).encode())
    assert not plan.ok
    assert [(number, text) for number, text in plan.problems if problem in text] and \
        plan.problems[0][0] == line, plan.problems
    with empty() as session:
        assert session.scalar(select(func.count()).select_from(Patient).where(Patient.clinic_id == clinic_id)) == 0


@pytest.mark.parametrize("data, problem", [
    (b"", "lacks"), (b"\xff\xfe broken", "not UTF-8"), (b"code,display_name\n", "lacks therapist_email"),
    (b"code,display_name,therapist_email,colour\n", "unknown columns"),
    (b"code,display_name,therapist_email\n", "no patient rows"),
])
def test_broken_files_get_a_clear_problem(juniper, empty, data, problem):
    with empty.begin() as session:
        plan = plan_import(session, session.get(Clinic, juniper[0]), data)
    assert not plan.ok and any(problem in text for _, text in plan.problems), plan.problems


def test_the_day_after_is_counted_in_the_patients_zone():
    from bot.course.phase import is_day_after

    infusion = datetime(2026, 12, 4, 23, 30, tzinfo=timezone.utc)  # 16:30 on the 4th in Denver
    assert is_day_after(datetime(2026, 12, 5, 20, 0, tzinfo=timezone.utc), infusion, "America/Denver")
    assert not is_day_after(datetime(2026, 12, 5, 6, 0, tzinfo=timezone.utc), infusion, "America/Denver")
    assert not is_day_after(datetime(2026, 12, 7, 6, 0, tzinfo=timezone.utc), infusion, "America/Denver")
    assert not is_day_after(datetime(2026, 12, 5, 6, 0, tzinfo=timezone.utc), None)


def test_deactivation_retires_unused_password_links(juniper, empty):
    clinic_id, admin_id, tess = juniper
    with empty.begin() as session:
        admin, therapist = session.get(Clinician, admin_id), session.get(Clinician, tess)
        link = staff.password_link(session, therapist, "reset", admin, 72)
        staff.set_active(session, therapist, False, admin)
        staff.set_active(session, therapist, True, admin)
        assert staff.peek_password_link(session, link.token) is None


def test_a_therapist_with_patients_is_neither_deactivated_nor_made_on_call(juniper, empty):
    clinic_id, admin_id, tess = juniper
    with empty.begin() as session:
        clinic, admin, therapist = session.get(Clinic, clinic_id), session.get(Clinician, admin_id), \
            session.get(Clinician, tess)
        robin = enrolment.enrol_patient(session, clinic, display_name="Robin", code="JC-9", therapist_id=tess)
        for change in (lambda: staff.set_active(session, therapist, False, admin),
                       lambda: staff.set_role(session, therapist, "on_call", admin)):
            with pytest.raises(staff.StaffError, match="reassign them"):
                change()
        enrolment.set_status(session, robin, "discharged", admin)
        staff.set_active(session, therapist, False, admin)
        assert not therapist.is_active


def test_patient_codes_are_unique_within_a_clinic_only(juniper, empty):
    clinic_id, admin_id, tess = juniper
    with empty.begin() as session:
        other, link = setup_clinic(session, ClinicSettings("Second", "UTC", "en", "us"), "y@second.example", "Y",
                                   72, allow_another=True)
        enrolment.enrol_patient(session, session.get(Clinic, clinic_id), display_name="A", code="SAME-1",
                                therapist_id=tess)
        enrolment.enrol_patient(session, other, display_name="B", code="SAME-1", therapist_id=link.clinician.id)
