"""Preparation in the database: intention history, checklist answers, the clinic's checklist,
questionnaire offers, the Today page's gaps and the timeline."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.clinic.preparation import (
    ChecklistEdit, PreparationError, edit_checklist, preparation_gaps, preparation_status, reset_checklist,
    set_offers,
)
from bot.clinic.timeline import TimelineFilter, timeline_page
from bot.conversation.preparation import (
    IntentionSnapshot, PreparationSnapshot, apply_intention, apply_preparation, clinic_checklist,
    intention_history,
)
from bot.conversation.questionnaire import QuestionnaireSnapshot, apply_questionnaire
from bot.storage.models import AuditEvent, Clinic, Clinician, InfusionSession, Intention, Patient, utcnow

NOW = utcnow()


def _ids(session):
    clinic = session.scalar(select(Clinic))
    admin = session.scalar(select(Clinician).where(Clinician.role == "admin"))
    therapist = session.scalar(select(Clinician).where(Clinician.role == "therapist"))
    ava = session.scalar(select(Patient).where(Patient.sender_id == "demo-ava"))
    return clinic, admin, therapist, ava


def _infusion(session, patient, hours: float, status="scheduled") -> int:
    row = InfusionSession(patient_id=patient.id, occurred_at=NOW + timedelta(hours=hours), route="IV", status=status)
    session.add(row)
    session.flush()
    return row.id


def test_an_intention_is_stored_once_and_becomes_the_current_one(demo):
    snapshot = IntentionSnapshot("k-int-1", "demo-ava", "  to  trust my body again ",
                                 [{"id": "on_mind", "question": "q", "answer": "fear"}], None, utcnow().isoformat())
    with demo.begin() as session:
        apply_intention(session, snapshot)
        apply_intention(session, snapshot)  # retried from the spool
    with demo() as session:
        ava = session.scalar(select(Patient).where(Patient.sender_id == "demo-ava"))
        history = intention_history(session, ava.id)
        assert ava.intention == "to trust my body again"
        assert [row.text for row in history] == ["to trust my body again",
                                                 "To be gentler with myself when I make mistakes."]
        assert history[0].source == "chat" and history[0].reflections[0]["answer"] == "fear"
        assert history[1].source == "clinician"


def test_an_older_intention_arriving_late_from_the_spool_does_not_replace_the_current_one(demo):
    now = utcnow()
    with demo.begin() as session:
        apply_intention(session, IntentionSnapshot("new", "demo-ava", "newer", [], None, now.isoformat()))
        apply_intention(session, IntentionSnapshot("old", "demo-ava", "older", [], None,
                                                   (now - timedelta(minutes=1)).isoformat()))
    with demo() as session:
        assert session.scalar(select(Patient.intention).where(Patient.sender_id == "demo-ava")) == "newer"
        assert session.scalar(select(func.count()).select_from(Intention)) == 4  # two seeded, two new


def test_an_intention_for_someone_elses_infusion_is_kept_without_the_link(demo):
    with demo.begin() as session:
        jonah = session.scalar(select(Patient).where(Patient.sender_id == "demo-jonah"))
        theirs = _infusion(session, jonah, 20)
        row = apply_intention(session, IntentionSnapshot("k", "demo-ava", "mine", [], theirs, NOW.isoformat()))
        assert row.infusion_id is None


def test_the_newest_checklist_answer_wins_whatever_order_it_arrives_in(demo):
    with demo.begin() as session:
        _, _, _, ava = _ids(session)
        infusion = _infusion(session, ava, 30)
    later, earlier = NOW.isoformat(), (NOW - timedelta(minutes=5)).isoformat()
    with demo.begin() as session:
        apply_preparation(session, PreparationSnapshot("demo-ava", infusion, "ride_home", "confirmed", later))
        apply_preparation(session, PreparationSnapshot("demo-ava", infusion, "ride_home", "not_yet", earlier))
    with demo.begin() as session:
        _, _, _, ava = _ids(session)
        status = preparation_status(session, ava, _ids(session)[0])
        assert dict((item.id, answer) for item, answer in status.rows)["ride_home"] == "confirmed"
        with pytest.raises(LookupError):
            apply_preparation(session, PreparationSnapshot("demo-jonah", infusion, "fasting", "confirmed", later))


def test_an_admin_edits_the_checklist_reworded_items_keep_their_ids(demo):
    with demo.begin() as session:
        clinic, admin, _, _ = _ids(session)
        rows = [ChecklistEdit("No food for 6 hours before an IV session.", "fasting"),
                ChecklistEdit("A ride home.", "ride_home", remove=True),
                ChecklistEdit("Bring a water bottle", None),
                ChecklistEdit("", None)]
        edit_checklist(session, clinic, rows, admin)
    with demo() as session:
        clinic = session.scalar(select(Clinic))
        assert [(i.id, i.text) for i in clinic_checklist(clinic)] == [
            ("fasting", "No food for 6 hours before an IV session."), ("bring_a_water_bottle", "Bring a water bottle")]
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "clinic.checklist_updated"))
        assert event.detail == {"from": "default", "to": ["fasting", "bring_a_water_bottle"]}
    with demo.begin() as session:
        clinic, admin, _, _ = _ids(session)
        with pytest.raises(PreparationError, match="non-empty list"):
            edit_checklist(session, clinic, [ChecklistEdit("x", "fasting", remove=True)], admin)
    with demo.begin() as session:
        clinic, admin, _, _ = _ids(session)
        reset_checklist(session, clinic, admin)
    with demo() as session:
        assert clinic_checklist(session.scalar(select(Clinic)))[1].id == "ride_home"


def test_questionnaire_offers_are_checked_and_audited(demo):
    with demo.begin() as session:
        clinic, admin, _, _ = _ids(session)
        set_offers(session, clinic, {"phq9": ["weekly"], "gad7": []}, admin)
        with pytest.raises(PreparationError, match="can be offered only"):
            set_offers(session, clinic, {"phq9": ["hourly"]}, admin)
    with demo() as session:
        assert session.scalar(select(Clinic)).questionnaire_offers == {"phq9": ["weekly"], "gad7": []}
        assert session.scalar(select(AuditEvent).where(AuditEvent.action == "clinic.questionnaire_offers_updated"))


def test_today_shows_what_is_not_confirmed_for_infusions_until_the_end_of_tomorrow(demo):
    with demo.begin() as session:
        clinic, admin, therapist, ava = _ids(session)
        tomorrow = _infusion(session, ava, 20)
        _infusion(session, ava, 24 * 4)  # too far ahead
        jonah = session.scalar(select(Patient).where(Patient.sender_id == "demo-jonah"))
        ready = _infusion(session, jonah, 6)
        for item in clinic_checklist(clinic):
            apply_preparation(session, PreparationSnapshot("demo-jonah", ready, item.id, "confirmed", NOW.isoformat()))
        apply_preparation(session, PreparationSnapshot("demo-ava", tomorrow, "ride_home", "not_yet", NOW.isoformat()))
        apply_preparation(session, PreparationSnapshot("demo-ava", tomorrow, "fasting", "confirmed", NOW.isoformat()))
        gaps = preparation_gaps(session, therapist, clinic, NOW)
        assert [(g.patient.sender_id, g.infusion.id) for g in gaps] == [("demo-ava", tomorrow)]
        assert [i.id for i in gaps[0].not_yet] == ["ride_home"]
        assert [i.id for i in gaps[0].unanswered] == ["medicines", "no_alcohol", "comfort"]
        on_call = session.scalar(select(Clinician).where(Clinician.role == "on_call"))
        assert preparation_gaps(session, on_call, clinic, NOW) == []  # not their patients


def test_the_timeline_shows_each_questionnaire_answer_and_each_intention(demo):
    with demo.begin() as session:
        _, _, _, ava = _ids(session)
        apply_questionnaire(session, QuestionnaireSnapshot("q1", "demo-ava", "phq9", {"phq9_1": 2, "phq9_9": 1},
                                                           NOW.isoformat()))
        apply_intention(session, IntentionSnapshot("i1", "demo-ava", "to rest", [], None, NOW.isoformat()))
        page = timeline_page(session, ava.id, TimelineFilter(kinds=("questionnaire", "intention")))
        kinds = {item.kind: item for item in page.items}
        assert set(kinds) == {"questionnaire", "intention"}
        assert kinds["questionnaire"].level == "urgent"  # item 9 above 0
        assert kinds["questionnaire"].record.answers == {"phq9_1": 2, "phq9_9": 1}
        searched = timeline_page(session, ava.id, TimelineFilter(query="to rest"))
        assert [item.kind for item in searched.items] == ["intention"]
