"""The patient's side: invite links, passphrase, the chat relay to Rasa and the read-only journal."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.clinic.invites import token_hash
from bot.service.credentials import CredentialError, bearer_token, check_chat_token
from bot.storage.models import (AuditEvent, ChatMessage, CrisisAlert, Patient, PatientInvite, PatientLogin,
                               utcnow)
from tests.web.conftest import ADMIN


def test_a_therapist_creates_a_link_shown_once_and_stored_hashed(client, auth, world, demo):
    auth.login()
    page = client.post(f"/patients/{world.ava}/invites").get_data(as_text=True)
    url = page.split('id="invite-url"')[0].rsplit('value="', 1)[1].split('"')[0]
    assert url.startswith("https://journal.example/invite/")
    token = url.rsplit("/", 1)[1]
    with demo() as session:
        invite = session.scalar(select(PatientInvite))
        assert invite.token_hash == token_hash(token) and token not in invite.token_hash
        assert invite.expires_at - invite.created_at == timedelta(hours=72)
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "invite.created"))
        assert event.actor_id == world.therapist and event.patient_id == world.ava


def test_the_link_shows_a_button_and_a_get_uses_nothing_up(client, auth):
    token = auth.invite()
    for _ in range(2):
        page = client.get(f"/invite/{token}")
        assert page.status_code == 200 and "Continue" in page.get_data(as_text=True)
        assert page.headers["Referrer-Policy"] == "no-referrer"


def test_the_link_signs_the_patient_in_once(client, auth, demo):
    token = auth.invite()
    reply = client.post(f"/invite/{token}")
    assert reply.status_code == 302 and reply.headers["Location"] == "/me/chat"
    assert client.get("/me/chat").status_code == 200
    auth.logout()
    again = client.post(f"/invite/{token}")
    assert again.status_code == 410 and "no longer works" in again.get_data(as_text=True)
    assert client.get(f"/invite/{token}").status_code == 410
    with demo() as session:
        assert session.scalar(select(PatientInvite.used_at)) is not None


def test_an_expired_link_does_not_work(client, auth, demo):
    token = auth.invite()
    with demo.begin() as session:
        session.scalar(select(PatientInvite)).expires_at = utcnow() - timedelta(seconds=1)
    assert client.post(f"/invite/{token}").status_code == 410
    assert client.get("/me/chat").status_code == 302


def test_a_new_link_retires_the_old_one(client, auth):
    old = auth.invite()
    new = auth.invite()
    assert client.post(f"/invite/{old}").status_code == 410
    assert client.post(f"/invite/{new}").status_code == 302


@pytest.mark.parametrize("token", ["nope", "x" * 500, "%00"])
def test_unknown_tokens_are_refused(client, token):
    assert client.post(f"/invite/{token}").status_code == 410


def test_a_link_for_an_inactive_patient_does_not_work(client, auth, demo):
    token = auth.invite()
    with demo.begin() as session:
        session.scalar(select(Patient).where(Patient.sender_id == "demo-ava")).is_active = False
    assert client.post(f"/invite/{token}").status_code == 410


def test_a_patient_sets_a_passphrase_and_signs_in_with_it(client, auth, demo):
    auth.login_patient()
    short = client.post("/me/passphrase", data={"passphrase": "short", "confirm": "short"})
    assert short.status_code == 400 and "between 10 and" in short.get_data(as_text=True)
    mismatch = client.post("/me/passphrase", data={"passphrase": "river stone lamp", "confirm": "river stone lamb"})
    assert mismatch.status_code == 400
    ok = client.post("/me/passphrase", data={"passphrase": "river stone lamp", "confirm": "river stone lamp"})
    assert ok.status_code == 302
    with demo() as session:
        stored = session.scalar(select(PatientLogin.passphrase_hash))
    assert stored.startswith("$argon2id$")
    auth.logout()
    wrong = client.post("/me/login", data={"code": "P-AVA1", "passphrase": "river stone lump"})
    assert wrong.status_code == 401
    right = client.post("/me/login", data={"code": "p-ava1", "passphrase": "river stone lamp"})
    assert right.status_code == 302 and right.headers["Location"] == "/me/chat"


def test_changing_a_passphrase_needs_the_current_one(client, auth):
    auth.login_patient()
    client.post("/me/passphrase", data={"passphrase": "river stone lamp", "confirm": "river stone lamp"})
    page = client.post("/me/passphrase", data={"current": "wrong one here",
                                               "passphrase": "new words here", "confirm": "new words here"})
    assert page.status_code == 400 and "not your current passphrase" in page.get_data(as_text=True)
    assert client.post("/me/passphrase", data={"current": "river stone lamp", "passphrase": "new words here",
                                               "confirm": "new words here"}).status_code == 302


def test_patient_sign_in_is_locked_after_repeated_failures(app, client, auth):
    auth.login_patient()
    client.post("/me/passphrase", data={"passphrase": "river stone lamp", "confirm": "river stone lamp"})
    auth.logout()
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        client.post("/me/login", data={"code": "P-AVA1", "passphrase": "guessing wrong"})
    assert client.post("/me/login", data={"code": "P-AVA1", "passphrase": "river stone lamp"}).status_code == 429


def test_the_chat_relays_as_the_signed_in_patient(app, client, auth, fake_rasa):
    auth.login_patient("demo-ava")
    reply = client.post("/me/chat/send", json={"message": "hello there", "sender": "demo-zoe"},
                        query_string={"sender": "demo-zoe"}, headers={"X-Sender": "demo-zoe"})
    assert reply.status_code == 200
    assert fake_rasa.received == [{"path": "/webhooks/rest/webhook", "sender": "demo-ava",
                                   "message": "hello there"}]
    token = bearer_token(fake_rasa.authorizations[0])
    check_chat_token(app.config["SECRET_KEY"], token, "demo-ava")  # raises if not
    with pytest.raises(CredentialError):
        check_chat_token(app.config["SECRET_KEY"], token, "demo-zoe")
    body = reply.get_json()
    assert body["replies"][0]["text"] == "You said: hello there"
    assert body["replies"][1]["buttons"] == [{"title": "Good", "payload": '/mood{"mood": 7}'},
                                             {"title": "Not great", "payload": '/mood{"mood": 3}'}]


def test_the_chat_form_works_without_scripts(client, auth, fake_rasa):
    auth.login_patient("demo-jonah")
    page = client.post("/me/chat/send", data={"message": "hello"})
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "You said: hello" in text
    assert 'class="quick">Good</button>' in text
    assert fake_rasa.received[0]["sender"] == "demo-jonah"


def test_when_rasa_is_down_the_patient_is_told_and_keeps_the_text(client, auth):
    auth.login_patient()
    reply = client.post("/me/chat/send", json={"message": "my words"})
    assert reply.status_code == 503
    assert "cannot be reached" in reply.get_json()["error"] and "still in the box" in reply.get_json()["error"]
    page = client.post("/me/chat/send", data={"message": "my <b>words</b>"})
    text = page.get_data(as_text=True)
    assert page.status_code == 503 and "cannot be reached" in text
    assert ">my &lt;b&gt;words&lt;/b&gt;</textarea>" in text


def test_when_rasa_is_down_a_crisis_message_gets_the_crisis_lines_and_its_alert(app, client, auth, demo):
    auth.login_patient("demo-ava")
    text = "i dont want to be alive anymore, i have the pills ready for tonight"
    reply = client.post("/me/chat/send", json={"message": text})
    assert reply.status_code == 200
    said = reply.get_json()["replies"][0]["text"]
    assert "having trouble answering" in said and "988" in said
    page = client.post("/me/chat/send", data={"message": text})
    assert page.status_code == 200 and "988" in page.get_data(as_text=True)
    with demo() as session:
        ava = session.scalar(select(Patient).where(Patient.sender_id == "demo-ava"))
        stored = session.scalars(select(ChatMessage).where(ChatMessage.patient_id == ava.id,
                                                           ChatMessage.text == text)).all()
        alerts = session.scalars(select(CrisisAlert).where(CrisisAlert.patient_id == ava.id)).all()
    assert len(stored) == 2 and all(m.direction == "patient" for m in stored)
    assert any(a.level in ("urgent", "emergency") and a.status != "resolved" for a in alerts)


def test_when_rasa_is_down_and_the_screen_fails_the_message_still_gets_the_crisis_lines(
        client, auth, monkeypatch):
    import journal_web.chat

    def broken(*_args, **_kwargs):
        raise RuntimeError("screen unavailable")

    monkeypatch.setattr(journal_web.chat, "crisis_fallback", broken)
    auth.login_patient("demo-ava")
    reply = client.post("/me/chat/send", json={"message": "anything at all"})
    assert reply.status_code == 200 and "988" in reply.get_json()["replies"][0]["text"]


def test_rasa_refusing_a_message_is_passed_on(client, auth, fake_rasa):
    fake_rasa.status = 413
    auth.login_patient()
    reply = client.post("/me/chat/send", json={"message": "long"})
    assert reply.status_code == 413 and "too long" in reply.get_json()["error"]


def test_the_chat_page_always_shows_crisis_lines(client, auth):
    auth.login_patient()
    page = client.get("/me/chat").get_data(as_text=True)
    footer = page.split('<footer class="site crisis">')[1]
    assert "911" in footer and "988" in footer
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in page
    assert '<meta name="csrf-token"' in page


def test_my_journal_shows_only_my_saved_entries_read_only(client, auth):
    auth.login_patient("demo-ava")
    page = client.get("/me/journal").get_data(as_text=True)
    assert "funeral" in page and "&lt;script&gt;" in page
    assert "Zoe" not in page and "<mark" not in page and "<form method" not in page.split("<main")[1]


def test_a_clinician_can_issue_a_link_from_the_command_line(runner, demo):
    result = runner.invoke(args=["invite", "P-JON2", "--hours", "2"])
    assert result.exit_code == 0, result.output
    assert "https://journal.example/invite/" in result.output
    assert runner.invoke(args=["invite", "P-NOPE"]).exit_code != 0


def test_an_admin_may_invite_any_clinic_patient(client, auth, world):
    auth.login(ADMIN)
    assert client.post(f"/patients/{world.zoe}/invites").status_code == 200
