"""Preparation in the web app: the admin's checklist and offers, Today's gaps, the therapist's view."""
from datetime import timedelta

from sqlalchemy import select

from bot.conversation.preparation import IntentionSnapshot, PreparationSnapshot, apply_intention, apply_preparation
from bot.conversation.questionnaire import QuestionnaireSnapshot, apply_questionnaire
from bot.storage.models import Clinic, InfusionSession, Patient, utcnow
from tests.web.conftest import ADMIN, THERAPIST


def _scheduled(demo, sender="demo-ava", hours=20) -> int:
    with demo.begin() as session:
        patient = session.scalar(select(Patient).where(Patient.sender_id == sender))
        row = InfusionSession(patient_id=patient.id, occurred_at=utcnow() + timedelta(hours=hours), route="IV",
                              status="scheduled")
        session.add(row)
        session.flush()
        return row.id


def test_an_admin_rewords_removes_and_adds_checklist_items(client, auth, demo):
    auth.login(ADMIN)
    page = client.get("/admin/clinic/preparation").get_data(as_text=True)
    assert "This is the default list" in page and "eye mask" in page
    form = {"action": "save",
            "item_id": ["fasting", "ride_home", "medicines", "no_alcohol", "comfort", ""],
            "item_text": ["No food for 6 hours before your IV session.", "x", "Medicines as agreed.", "No alcohol.",
                          "Comfy clothes.", "Bring a water bottle."],
            "remove": ["1"]}
    saved = client.post("/admin/clinic/preparation", data=form, follow_redirects=True).get_data(as_text=True)
    assert "Checklist saved." in saved and "Go back to the default" in saved
    with demo() as session:
        stored = session.scalar(select(Clinic)).preparation_checklist
    assert [item["id"] for item in stored] == ["fasting", "medicines", "no_alcohol", "comfort", "bring_a_water_bottle"]
    refused = client.post("/admin/clinic/preparation", follow_redirects=True,
                          data={"action": "save", "item_id": ["fasting"], "item_text": ["y" * 500]})
    assert "longer than 400 characters" in refused.get_data(as_text=True)
    client.post("/admin/clinic/preparation", data={"action": "reset"})
    with demo() as session:
        assert session.scalar(select(Clinic)).preparation_checklist is None


def test_an_admin_chooses_when_questionnaires_are_offered(client, auth, demo):
    auth.login(ADMIN)
    page = client.post("/admin/clinic/preparation", follow_redirects=True,
                       data={"action": "offers", "offer_phq9": ["before_infusion"], "offer_gad7": []})
    assert "Questionnaire offers saved." in page.get_data(as_text=True)
    with demo() as session:
        assert session.scalar(select(Clinic)).questionnaire_offers == {"phq9": ["before_infusion"], "gad7": []}
    bad = client.post("/admin/clinic/preparation", follow_redirects=True,
                      data={"action": "offers", "offer_phq9": ["hourly"]})
    assert "can be offered only" in bad.get_data(as_text=True)


def test_today_shows_what_a_patient_has_not_confirmed_for_tomorrow(client, auth, demo):
    infusion = _scheduled(demo)
    with demo.begin() as session:
        apply_preparation(session, PreparationSnapshot("demo-ava", infusion, "ride_home", "not_yet",
                                                       utcnow().isoformat()))
        apply_preparation(session, PreparationSnapshot("demo-ava", infusion, "fasting", "confirmed",
                                                       utcnow().isoformat()))
    auth.login(THERAPIST)
    page = client.get("/today").get_data(as_text=True)
    section = page[page.index("Preparation not confirmed"):]
    assert "Ava" in section and "Someone will take me home afterwards" in section
    assert "3 items" in section and "not set" in section


def test_the_therapist_sees_the_intention_its_history_the_checklist_and_each_questionnaire_answer(client, auth, demo):
    infusion = _scheduled(demo, hours=40)
    with demo.begin() as session:
        apply_intention(session, IntentionSnapshot("w1", "demo-ava", "to listen to my body", [
            {"id": "on_mind", "question": "What has been on your mind?", "answer": "the needle"}], infusion,
            utcnow().isoformat()))
        apply_preparation(session, PreparationSnapshot("demo-ava", infusion, "medicines", "confirmed",
                                                       utcnow().isoformat()))
        apply_questionnaire(session, QuestionnaireSnapshot("w-q", "demo-ava", "gad7", {"gad7_1": 3},
                                                           utcnow().isoformat()))
        ava = session.scalar(select(Patient).where(Patient.sender_id == "demo-ava")).id
    auth.login(THERAPIST)
    page = client.get(f"/patients/{ava}").get_data(as_text=True)
    assert "Intention: to listen to my body" in page
    assert "Earlier intentions (1)" in page and "To be gentler with myself" in page
    assert "Intention for this infusion: set." in page
    assert "<strong>Ready</strong>: I know which of my usual medicines" in page
    assert "<strong>No answer</strong>: No alcohol" in page
    assert "Feeling nervous, anxious or on edge" in page and "Nearly every day (3)" in page
    assert "unfinished</strong>, 1 of 7 answered" in page
    assert "the needle" in page
