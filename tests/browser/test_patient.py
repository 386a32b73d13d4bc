"""A patient in a real browser: signs in through an invite link and chats. With the
real Rasa server the message goes there and the reply comes back; with Rasa
down, the patient is told so and keeps what they typed."""
import pytest
from sqlalchemy import select

from bot.clinic.invites import create_invite
from bot.storage.models import ChatMessage, Clinician, Patient
from journal_web import create_app
from tests.browser.conftest import app_config, screenshot, serve, watch_console
from tests.servers import wait_for


def _invite(sessions, sender_id: str) -> str:
    with sessions.begin() as session:
        patient = session.scalar(select(Patient).where(Patient.sender_id == sender_id))
        return create_invite(session, patient, session.get(Clinician, patient.therapist_id), 1).token


def _enter(page, base: str, token: str) -> None:
    page.goto(f"{base}/invite/{token}")
    page.click("button:has-text('Continue')")
    page.wait_for_url(f"{base}/me/chat")


def test_when_rasa_is_down_the_text_stays_in_the_box(phone, web):
    page = phone.new_page()
    problems = watch_console(page)
    _enter(page, web.url, _invite(web.sessions, "demo-jonah"))
    page.fill("#message", "I walked by the lake this morning and it was calm")
    page.click("#send")
    page.wait_for_selector("#chat-error:not([hidden])")
    assert "cannot be reached" in page.inner_text("#chat-error")
    assert page.input_value("#message") == "I walked by the lake this morning and it was calm"
    assert "988" in page.inner_text("footer")
    assert page.locator("#send").bounding_box()["height"] >= 44
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "chat-rasa-down-phone.png")
    assert [p for p in problems if "503" not in p] == []


def test_a_used_invite_cannot_be_used_again(desktop, web):
    token = _invite(web.sessions, "demo-jonah")
    page = desktop.new_page()
    _enter(page, web.url, token)
    other = desktop.browser.new_context().new_page()
    other.goto(f"{web.url}/invite/{token}")
    assert "no longer works" in other.inner_text("main")
    other.context.close()


@pytest.mark.e2e
def test_patient_chats_with_the_running_assistant(phone, servers):
    app = create_app(app_config(servers.settings.database_url, servers.rasa_url))
    base, server = serve(app)
    try:
        page = phone.new_page()
        problems = watch_console(page)
        _enter(page, base, _invite(servers.sessions, "demo-ava"))
        page.fill("#message", "hi")
        page.click("#send")
        page.wait_for_selector(".bubble.bot:has-text('Hi Ava')", timeout=60_000)
        assert page.input_value("#message") == ""
        assert page.locator(".bubble.me", has_text="hi").count() >= 1
        quick = page.locator("button.quick")
        if quick.count():
            title = quick.first.inner_text()
            bots = page.locator(".bubble.bot").count()
            quick.first.click()
            # (wait_for_function would evaluate a string, which the page's CSP rightly forbids)
            page.wait_for_selector(f".chat-log .bubble.bot >> nth={bots}", timeout=60_000)
            assert page.locator(".bubble.me", has_text=title).count() == 1
        screenshot(page, "chat-phone.png")

        def recorded():
            with servers.sessions() as session:
                return session.scalar(select(ChatMessage).join(Patient, ChatMessage.patient_id == Patient.id)
                                      .where(Patient.sender_id == "demo-ava", ChatMessage.text == "hi",
                                             ChatMessage.direction == "patient"))
        assert wait_for(recorded), "the message reached Rasa but was not recorded for demo-ava"
        assert problems == []
    finally:
        server.close()
