"""A PHQ-9 over REST with the running assistant: item 9 = 2 gives the crisis lines at once,
raises an urgent alert and stores the score; a GAD-7 is scored and carried on after a stop."""
import json

import pytest
from sqlalchemy import select

from bot.clinic.enrolment import enrol_patient
from bot.storage.models import Clinic, Clinician, CrisisAlert, QuestionnaireResponse
from tests.servers import wait_for

pytestmark = pytest.mark.e2e


def _texts(replies):
    return " ".join(r.get("text") or "" for r in replies)


def _answer(value: int) -> str:
    return "/inform_rating" + json.dumps({"rating": value})


def _new_patient(servers, code):
    with servers.sessions.begin() as session:
        clinic = session.scalar(select(Clinic))
        therapist = session.scalar(select(Clinician).where(Clinician.role == "therapist"))
        patient = enrol_patient(session, clinic, display_name="Quinn", code=code, therapist_id=therapist.id)
        return patient.sender_id, patient.id


def test_phq9_item_9_gives_the_crisis_lines_an_alert_and_a_stored_score(servers):
    sender, patient_id = _new_patient(servers, "E2E-PHQ9")
    first = servers.say(sender, "can i do the questionnaire")
    assert "1 of 9: Little interest or pleasure in doing things" in _texts(first)
    assert [b["title"] for b in first[-1]["buttons"]] == ["Not at all", "Several days", "More than half the days",
                                                           "Nearly every day"]
    for value in (1, 1, 1, 1, 1, 1, 1):
        servers.say(sender, _answer(value))
    assert "9 of 9: Thoughts that you would be better off dead" in _texts(servers.say(sender, "most days"))
    crisis = _texts(servers.say(sender, _answer(2)))
    assert "988" in crisis and "care team know" in crisis
    assert "Are you somewhere safe right now?" in crisis or "wished you were dead" in crisis

    def stored():
        with servers.sessions() as session:
            return session.scalar(select(QuestionnaireResponse).where(QuestionnaireResponse.patient_id == patient_id))
    row = wait_for(stored)
    assert (row.status, row.score, row.band) == ("completed", 11, "moderate") and row.crisis_at is not None
    with servers.sessions() as session:
        alerts = session.scalars(select(CrisisAlert).where(CrisisAlert.patient_id == patient_id)).all()
    assert [(a.level, a.categories) for a in alerts] == [("urgent", ["suicidal_ideation"])]


def test_a_gad7_is_carried_on_after_a_stop_and_scored(servers):
    sender, patient_id = _new_patient(servers, "E2E-GAD7")
    assert "1 of 7" in _texts(servers.say(sender, "can i do the anxiety questionnaire"))
    servers.say(sender, "several days")
    assert "2 of 7" in _texts(servers.say(sender, "what?"))  # unclear: asked again
    assert "answers so far are kept" in _texts(servers.say(sender, "stop"))
    resumed = _texts(servers.say(sender, "anxiety questionnaire"))
    assert "1 of 7 questions are answered" in resumed and "2 of 7" in resumed
    for value in (0, 0, 1, 0, 0):
        servers.say(sender, _answer(value))
    done = _texts(servers.say(sender, _answer(0)))
    assert "GAD-7 score is 2 of 21 (minimal)" in done
    assert wait_for(lambda: _score(servers, patient_id) == 2)


def _score(servers, patient_id):
    with servers.sessions() as session:
        return session.scalar(select(QuestionnaireResponse.score).where(QuestionnaireResponse.patient_id == patient_id))
