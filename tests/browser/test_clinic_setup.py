"""A clinic from nothing, in a real browser, with the real Rasa and action servers.

Starting from an empty database without the demo: `python -m bot setup-clinic`
prints the first admin's link; the admin sets a password, signs in and invites
a therapist; the therapist enrols a patient, schedules an infusion two hours ago
and an integration session in three days, and creates the patient's sign-in
link; the patient signs in, says "hi" and is offered the same-day prompt; the
patient's page shows the infusion on the chart. axe-core checks every page on
the way, and the admin's and patient's other pages besides.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.service.cli import migrate, write_runtime_endpoints
from journal_web import create_app
from tests.browser.conftest import accessible, app_config, screenshot, serve, sign_in, watch_console
from tests.helpers import free_port, make_settings
from tests.servers import RASA, ROOT, TEST_SECRET_KEY, rasa_command, running, server_env

pytestmark = pytest.mark.e2e

PASSWORD_ADMIN = "juniper admin passphrase"
PASSWORD_THERAPIST = "tess quill passphrase"
# Somewhere it is between 03:00 and 23:00 now, so "two hours ago" is the same local day.
ZONES = ("America/Denver", "Europe/London", "Asia/Tokyo", "Australia/Sydney", "Pacific/Honolulu")


def _zone_in_daytime() -> str:
    now = datetime.now(timezone.utc)
    return next(zone for zone in ZONES if 3 <= now.astimezone(ZoneInfo(zone)).hour < 23)


@pytest.fixture(scope="module")
def empty_clinic(trained_model, tmp_path_factory):
    """Rasa and the action server over a migrated database with no clinic; the setup command's link."""
    tmp = tmp_path_factory.mktemp("fresh-clinic")
    rasa_port, actions_port = free_port(), free_port()
    settings = make_settings(tmp, RASA_PORT=str(rasa_port), ACTIONS_PORT=str(actions_port),
                             SECRET_KEY=TEST_SECRET_KEY, KAP_DEMO="0")
    migrate(settings)
    zone = _zone_in_daytime()
    env = {**server_env(settings, tmp), "KAP_DEMO": "0", "PUBLIC_BASE_URL": "https://journal.example"}
    setup = subprocess.run(
        [sys.executable, "-m", "bot", "setup-clinic", "--name", "Juniper Integration Clinic (test)",
         "--timezone", zone, "--locale", "en", "--crisis-set", "us",
         "--medical-email", "nurses@juniper.example", "--admin-email", "lee.park@juniper.example",
         "--admin-name", "Lee Park"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert setup.returncode == 0, setup.stderr
    link = re.search(r"https://journal\.example(/welcome/\S+)", setup.stdout).group(1)
    again = subprocess.run([sys.executable, "-m", "bot", "setup-clinic", "--name", "Twice", "--timezone", "UTC",
                            "--crisis-set", "us", "--admin-email", "x@y.example", "--admin-name", "X"],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert again.returncode == 1 and again.stderr.strip().startswith("error: a clinic is set up already")
    endpoints = write_runtime_endpoints(settings, tmp / "endpoints.yml")
    commands = {
        "actions": [str(RASA), "run", "actions", "--actions", "actions", "-p", str(actions_port)],
        "rasa": rasa_command(trained_model, rasa_port, endpoints),
    }
    health = [f"http://127.0.0.1:{actions_port}/health", f"http://127.0.0.1:{rasa_port}/webhooks/rest/"]
    with running(commands, server_env(settings, tmp), tmp / "logs", health):
        app = create_app(app_config(settings.database_url, f"http://127.0.0.1:{rasa_port}"))
        base, server = serve(app)
        try:
            yield base, link, zone
        finally:
            server.close()


def _set_password(page, base: str, path: str, password: str) -> None:
    page.goto(base + path)
    accessible(page)
    page.fill("#password", password)
    page.fill("#confirm", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/login")


def _sign_out(page) -> None:
    page.click("header.site button.link")
    page.wait_for_load_state("load")


def test_a_clinic_sets_itself_up_and_a_patient_is_greeted_on_the_day_of_the_infusion(desktop, phone, empty_clinic):
    base, admin_link, zone = empty_clinic
    page = desktop.new_page()
    problems = watch_console(page)

    # The admin from setup-clinic sets a password, looks round the clinic's pages and invites a therapist.
    _set_password(page, base, admin_link, PASSWORD_ADMIN)
    sign_in(page, base, "lee.park@juniper.example", PASSWORD_ADMIN)
    for path in ("/today", "/admin/clinic", "/admin/clinic/safety-plan", "/admin/rota", "/admin/import",
                 "/audit", "/alerts", "/review", "/patients/new"):
        page.goto(base + path)
        accessible(page)
    page.goto(f"{base}/admin/clinicians")
    page.fill("#email", "tess.quill@juniper.example")
    page.fill("#display_name", "Tess Quill")
    page.select_option("#role", "therapist")
    page.click("button:has-text('Create invite link')")
    therapist_link = re.search(r"(/welcome/\S+)", page.inner_text("code.link")).group(1)
    screenshot(page, "admin-clinicians.png")
    _sign_out(page)

    # The therapist sets a password, enrols a patient and schedules the course.
    _set_password(page, base, therapist_link, PASSWORD_THERAPIST)
    sign_in(page, base, "tess.quill@juniper.example", PASSWORD_THERAPIST)
    page.click("a:has-text('Enrol a patient')")
    accessible(page)
    page.fill("#display_name", "Robin")
    page.fill("#code", "JIC-0001")
    page.click("button:has-text('Enrol')")
    page.wait_for_url(re.compile(r".*/patients/\d+$"))
    patient_url = page.url
    page.click("a:has-text('Course and details')")
    accessible(page)
    infusion = datetime.now(timezone.utc).astimezone(ZoneInfo(zone)) - timedelta(hours=2)
    page.fill("#infusion-day", infusion.strftime("%Y-%m-%d"))
    page.fill("#infusion-at", infusion.strftime("%H:%M"))
    page.select_option("#infusion-route", "IV")
    page.click("button:has-text('Add infusion')")
    page.wait_for_selector("text=Infusion saved.")
    session_day = infusion + timedelta(days=3)
    page.fill("#session-day", session_day.strftime("%Y-%m-%d"))
    page.fill("#session-at", "15:00")
    page.click("button:has-text('Book session')")
    page.wait_for_selector("text=Integration session saved.")
    screenshot(page, "patient-course.png")
    page.goto(patient_url)
    page.click("button:has-text('Create sign-in link')")
    patient_link = page.input_value("#invite-url")
    accessible(page)
    page.goto(f"{base}/today")
    assert "Robin" in page.inner_text("main") and "Infusion (IV)" in page.inner_text("main")
    screenshot(page, "today.png")

    # The patient signs in on a phone and is offered the same-day prompt.
    patient_page = phone.new_page()
    patient_problems = watch_console(patient_page)
    patient_page.goto(base + re.search(r"(/invite/\S+)", patient_link).group(1))
    accessible(patient_page)
    patient_page.click("button:has-text('Continue')")
    patient_page.wait_for_url(f"{base}/me/chat")
    accessible(patient_page)
    patient_page.fill("#message", "hi")
    patient_page.click("#send")
    patient_page.wait_for_selector(".bubble.bot:has-text('Hi Robin')", timeout=60_000)
    assert "Your session was today" in patient_page.inner_text(".chat-log")
    screenshot(patient_page, "chat-same-day-phone.png")
    for path in ("/me/journal", "/me/passphrase"):
        patient_page.goto(base + path)
        accessible(patient_page)

    # The therapist sees the infusion on the patient's chart.
    page.goto(patient_url)
    page.wait_for_selector("canvas#mood-chart[data-rendered='true']")
    chart = json.loads(page.inner_text("#mood-data"))
    assert len(chart["infusions"]) == 1
    assert "1 infusion marked" in page.inner_text("#chart-note")
    screenshot(page, "new-patient-timeline.png")
    assert problems == [] and patient_problems == []
