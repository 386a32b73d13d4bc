"""Only the signed-in patient can speak as the patient, and only Rasa can call the actions."""
import json
import time
import urllib.error

import pytest
from sqlalchemy import func, select

from bot.service.chat_relay import relay
from bot.service.credentials import ACTION_KEY_HEADER, action_server_key, issue_chat_token
from bot.storage.models import ChatMessage, CrisisAlert
from tests.servers import TEST_SECRET_KEY, chat_token, post_json

pytestmark = pytest.mark.e2e

CRISIS = "i am going to kill myself tonight"


def _refused(servers, payload, **kwargs):
    with pytest.raises(urllib.error.HTTPError) as caught:
        post_json(f"{servers.rasa_url}/webhooks/rest/webhook", payload, **kwargs)
    return caught.value.code, caught.value.read().decode("utf-8")


def _stored(servers):
    servers.settle()
    with servers.sessions() as session:
        return (session.scalar(select(func.count()).select_from(ChatMessage)),
                session.scalar(select(func.count()).select_from(CrisisAlert)))


@pytest.mark.parametrize("how", ["none", "forged", "expired", "other sender", "not bearer", "garbage"])
def test_a_message_without_a_valid_credential_is_refused_and_stored_nowhere(servers, how):
    before = _stored(servers)
    tokens = {
        "none": {},
        "forged": {"token": issue_chat_token("not-the-clinics-key", "demo-ava")},
        "expired": {"token": issue_chat_token(TEST_SECRET_KEY, "demo-ava", issued_at=int(time.time()) - 600)},
        "other sender": {"token": chat_token("demo-jonah")},
        "not bearer": {"headers": {"Authorization": "Basic " + chat_token("demo-ava")}},
        "garbage": {"token": "a.b.c"},
    }
    status, body = _refused(servers, {"sender": "demo-ava", "message": CRISIS}, **tokens[how])
    assert status == 401 and "credential" in body
    assert _stored(servers) == before


def test_enrolled_and_unknown_senders_without_a_credential_get_the_same_answer(servers):
    enrolled = _refused(servers, {"sender": "demo-ava", "message": "hi"})
    unknown = _refused(servers, {"sender": "nobody-at-all", "message": "hi"})
    assert enrolled == unknown


def test_the_web_apps_relay_speaks_as_the_patient_through_real_rasa(servers):
    before = _stored(servers)
    replies = relay(servers.rasa_url, "demo-ava", "hi", 30, TEST_SECRET_KEY)
    assert replies and "Ava" in " ".join(reply.text for reply in replies)
    assert _stored(servers)[0] > before[0]


def _call_action(servers, headers):
    body = json.dumps({"next_action": "action_greet", "sender_id": "demo-ava", "version": "3.6.21",
                       "tracker": {"sender_id": "demo-ava", "slots": {}, "latest_message": {},
                                   "events": [], "paused": False, "followup_action": None,
                                   "active_loop": {}, "latest_action_name": None},
                       "domain": {}}).encode("utf-8")
    url = f"http://127.0.0.1:{servers.settings.actions_port}/webhook"
    return post_json(url, body, headers=headers)


@pytest.mark.parametrize("headers", [{}, {ACTION_KEY_HEADER: "guessed"},
                                     {ACTION_KEY_HEADER: action_server_key("another-installation")}])
def test_a_forged_action_server_call_is_refused(servers, headers):
    with pytest.raises(urllib.error.HTTPError) as caught:
        _call_action(servers, headers)
    assert caught.value.code == 401
    body = caught.value.read().decode("utf-8")
    assert "Ava" not in body and "its Rasa server" in body


def test_the_action_server_answers_its_own_rasa(servers):
    answer = _call_action(servers, {ACTION_KEY_HEADER: action_server_key(TEST_SECRET_KEY)})
    assert [r.get("name") for r in answer["responses"]] == ["Ava"]


def test_a_discharged_patients_chat_is_closed_but_a_crisis_still_gets_the_lines(servers):
    from bot.clinic.enrolment import enrol_patient
    from bot.storage.models import Clinic, Clinician, Patient

    with servers.sessions.begin() as session:
        clinic = session.scalar(select(Clinic))
        therapist = session.scalar(select(Clinician).where(Clinician.role == "therapist"))
        patient = enrol_patient(session, clinic, display_name="Former", code="E2E-DISCHARGED",
                                therapist_id=therapist.id)
        patient.status = "discharged"
        sender = patient.sender_id
    hello = " ".join(r.get("text", "") for r in servers.say(sender, "hi"))
    assert "chat is closed" in hello and "988" not in hello
    crisis = " ".join(r.get("text", "") for r in servers.say(sender, CRISIS))
    assert "chat is closed" in crisis and "988" in crisis
    with servers.sessions() as session:
        patient_id = session.scalar(select(Patient.id).where(Patient.sender_id == sender))
        alerts = session.scalars(select(CrisisAlert).where(CrisisAlert.patient_id == patient_id)).all()
    assert len(alerts) == 1, "the clinic is alerted"
