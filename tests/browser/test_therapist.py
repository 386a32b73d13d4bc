"""A therapist in a real browser: signs in, opens a patient, sees the flagged entry
highlighted and the mood chart drawn, and acknowledges an alert."""
from sqlalchemy import select

from bot.storage.models import AuditEvent, CrisisAlert
from tests.browser.conftest import screenshot, sign_in, watch_console
from tests.web.conftest import THERAPIST


def _painted_pixels(page) -> int:
    return page.evaluate("""() => {
        const c = document.getElementById('mood-chart');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 3; i < d.length; i += 4) { if (d[i] > 0) n++; }
        return n;
    }""")


def test_therapist_reviews_a_patient_and_acknowledges_an_alert(desktop, web):
    page = desktop.new_page()
    problems = watch_console(page)
    sign_in(page, web.url, THERAPIST)

    page.click("text=Ava")
    page.wait_for_url(f"{web.url}/patients/{web.world.ava}")
    flag = page.locator("mark.flag", has_text="want to die").first
    assert flag.is_visible()
    assert "suicidal ideation" in flag.get_attribute("title")
    assert "lvl-emergency" in flag.get_attribute("class")
    # The markup in the entry is text on the page, not an element.
    assert page.locator(".entry-text", has_text='<script>alert("x")</script>').count() == 1
    # The tap-friendly marker jumps to the finding's description.
    page.locator("a.flag-ref").first.click()
    assert page.locator("ol.findings li:target").inner_text().startswith("URGENT")

    page.wait_for_selector("canvas#mood-chart[data-rendered='true']")
    box = page.locator("canvas#mood-chart").bounding_box()
    assert box["width"] > 300 and box["height"] > 150
    assert _painted_pixels(page) > 2000
    assert page.evaluate("window.moodChart.data.datasets.map(d => d.data.length)") == [4, 4, 2]
    screenshot(page, "timeline.png")

    page.click("header.site >> text=Alerts")
    page.wait_for_url(f"{web.url}/alerts")
    levels = page.locator(".alert-row .badge").all_inner_texts()
    assert levels == ["EMERGENCY", "URGENT"], levels  # most severe first
    screenshot(page, "inbox.png")
    page.click(f"a[href='/alerts/{web.world.ava_alert}']")
    page.fill("#note", "Called Ava; she is safe with her sister tonight.")
    page.click("button:has-text('Acknowledge')")
    page.wait_for_selector("#alert-status:has-text('acknowledged')")
    assert page.locator(".flash").inner_text() == "Alert acknowledged."
    screenshot(page, "alert-acknowledged.png")

    with web.sessions() as session:
        alert = session.scalar(select(CrisisAlert).where(CrisisAlert.public_id == web.world.ava_alert))
        assert alert.status == "acknowledged" and "safe with her sister" in alert.note
        assert session.scalar(select(AuditEvent).where(AuditEvent.action == "alert.acknowledged",
                                                       AuditEvent.object_id == alert.public_id))
    assert problems == []


def test_the_pages_fit_a_phone(phone, web):
    page = phone.new_page()
    problems = watch_console(page)
    sign_in(page, web.url, THERAPIST)
    page.goto(f"{web.url}/patients/{web.world.ava}")
    page.wait_for_selector("canvas#mood-chart[data-rendered='true']")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the timeline scrolls sideways on a phone ({width}px)"
    for selector in ("header.site nav a", "button[type=submit]", "a.flag-ref"):
        boxes = [page.locator(selector).nth(i).bounding_box() for i in range(page.locator(selector).count())]
        assert boxes and all(b is not None for b in boxes)
    for button in page.locator("main button").all():
        assert button.bounding_box()["height"] >= 44
    screenshot(page, "timeline-phone.png")
    pages = {"inbox-phone.png": "/alerts", "patients-phone.png": "/patients",
             "alert-phone.png": f"/alerts/{web.world.ava_alert}", "review-phone.png": "/review",
             "safety-plan-phone.png": f"/patients/{web.world.ava}/safety-plan",
             "print-phone.png": f"/patients/{web.world.ava}/journal/print"}
    for name, path in pages.items():
        page.goto(web.url + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} scrolls sideways on a phone ({width}px)"
        screenshot(page, name)
    assert problems == []


def test_questionnaire_scores_are_drawn_with_their_bands(desktop, web):
    from datetime import timedelta

    from bot.storage.models import utcnow
    from tests.web.test_measures import add_phq9

    now = utcnow()
    for weeks, values in ((3, [3, 3, 2, 2, 2, 2, 2, 2, 0]), (2, [2, 2, 2, 1, 1, 1, 1, 1, 0]),
                          (1, [1, 1, 1, 1, 1, 0, 1, 0, 0]), (0, [1, 0, 1, 0, 0, 0, 1, 0, 0])):
        add_phq9(web.sessions, f"browser-phq9-{weeks}", values, now - timedelta(weeks=weeks))
    page = desktop.new_page()
    problems = watch_console(page)
    sign_in(page, web.url, THERAPIST)
    page.goto(f"{web.url}/patients/{web.world.ava}")
    page.wait_for_selector("canvas#measure-phq9[data-rendered='true']")
    assert "Remission (below 5)." in page.inner_text("section.measures")
    page.locator("section.measures").screenshot(path=str(screenshot(page, "measures.png").with_name(
        "measures-section.png")))
    assert problems == []


def test_preparation_shows_on_the_patient_page_and_on_today(desktop, web):
    from datetime import timedelta

    from bot.conversation.preparation import (
        IntentionSnapshot, PreparationSnapshot, apply_intention, apply_preparation,
    )
    from bot.storage.models import InfusionSession, utcnow
    from tests.browser.conftest import accessible

    now = utcnow()
    with web.sessions.begin() as session:
        infusion = InfusionSession(patient_id=web.world.ava, occurred_at=now + timedelta(hours=20), route="IV",
                                   status="scheduled")
        session.add(infusion)
        session.flush()
        apply_intention(session, IntentionSnapshot("browser-int", "demo-ava", "to let the grief move through me",
                                                    [], infusion.id, now.isoformat()))
        apply_preparation(session, PreparationSnapshot("demo-ava", infusion.id, "fasting", "confirmed",
                                                       now.isoformat()))
        apply_preparation(session, PreparationSnapshot("demo-ava", infusion.id, "ride_home", "not_yet",
                                                       now.isoformat()))
    page = desktop.new_page()
    problems = watch_console(page)
    sign_in(page, web.url, THERAPIST)
    page.goto(f"{web.url}/patients/{web.world.ava}")
    section = page.inner_text("section.preparation")
    assert "Intention for this infusion: set." in section and "Not yet: Someone will take me home" in section
    assert "Earlier intentions (1)" in page.inner_text("header.patient-head")
    accessible(page)
    page.goto(f"{web.url}/today")
    assert "Someone will take me home" in page.inner_text("main")
    accessible(page)
    screenshot(page, "today-preparation.png")
    assert problems == []
