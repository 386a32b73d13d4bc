"""A real headless Chromium (Debian's package) driven by Playwright, and the web app
served by waitress on a free port over a temporary database.

If Chromium is missing, every browser test fails with one line saying how to
install it: a silent skip would let a green run hide untested pages.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Optional

import pytest
from sqlalchemy.orm import sessionmaker
from waitress.server import create_server

from bot.service.cli import migrate
from bot.storage.db import make_engine, make_session_factory
from bot.storage.models import utcnow
from bot.clinic.seed import seed_demo_clinic
from journal_web import create_app
from tests.helpers import TEST_PASSWORD, make_settings
from tests.helpers import free_port
from tests.servers import ROOT, TEST_SECRET_KEY
from tests.web.conftest import World, add_alert, add_entry, build_world, finding

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--headless=new", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
SCREENSHOTS = ROOT / "reports" / "screenshots"
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True,
         "has_touch": True}


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives a real headless Chromium")


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def chromium():
    """A running headless Chromium."""
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: run `sudo scripts/ensure-test-programs.sh` "
                    "(or `apt-get install -y chromium`) and run the tests again.", pytrace=False)
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield browser
    browser.close()
    playwright.stop()


@dataclass
class WebServer:
    """The app as a browser sees it."""

    url: str
    sessions: sessionmaker
    world: Optional[World] = None


def serve(app) -> tuple[str, object]:
    """Serve `app` with waitress on a free loopback port, in a daemon thread."""
    port = free_port()
    server = create_server(app, host="127.0.0.1", port=port, threads=4)
    threading.Thread(target=server.run, daemon=True).start()
    return f"http://127.0.0.1:{port}", server


def app_config(database_url: str, rasa_url: str, base_url: str = "") -> dict:
    """Production-like settings: CSRF on, not in testing mode."""
    return {"DATABASE_URL": database_url, "SECRET_KEY": TEST_SECRET_KEY, "RASA_URL": rasa_url,
            "CHAT_RELAY_TIMEOUT_SECONDS": 30, "PUBLIC_BASE_URL": base_url or "http://127.0.0.1"}


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    """The app over a seeded temporary database; Rasa is not running (its port is closed)."""
    tmp = tmp_path_factory.mktemp("browser")
    settings = make_settings(tmp)
    migrate(settings)
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    with sessions.begin() as session:
        seed_demo_clinic(session, make_password=lambda: TEST_PASSWORD)
    world = build_world(sessions)
    add_inbox_alerts(sessions, world)
    app = create_app(app_config(settings.database_url, f"http://127.0.0.1:{free_port()}"))
    url, server = serve(app)
    yield WebServer(url, sessions, world)
    server.close()
    engine.dispose()


def add_inbox_alerts(sessions, world: World) -> None:
    """An older emergency alert for Jonah and a resolved one, so the inbox has an order to show."""
    now = utcnow()
    with sessions.begin() as session:
        text = "I took extra doses tonight and my chest is pounding"
        _, older = add_entry(session, world.jonah, text, "emergency",
                             [finding(text, "took extra doses", "urgent", "substance_misuse", "sub.extra_dose"),
                              finding(text, "chest is pounding", "emergency", "medical", "med.chest")],
                             when=now - timedelta(days=1))
        add_alert(session, world.jonah, older, "emergency")
        _, done = add_entry(session, world.jonah, "I felt dizzy for two days", "urgent",
                            [finding("I felt dizzy for two days", "dizzy for two days", "urgent",
                                     "medical", "med.persistent")], when=now - timedelta(days=6))
        resolved = add_alert(session, world.jonah, done, "urgent")
        resolved.status, resolved.resolved_at, resolved.resolved_by_id = "resolved", now, world.therapist
        resolved.acknowledged_at, resolved.acknowledged_by_id = now, world.therapist


@pytest.fixture
def desktop(chromium):
    """A fresh desktop-sized browser context."""
    context = chromium.new_context(**DESKTOP)
    yield context
    context.close()


@pytest.fixture
def phone(chromium):
    """A fresh phone-sized, touch browser context."""
    context = chromium.new_context(**PHONE)
    yield context
    context.close()


AXE = ROOT / "tests" / "browser" / "node_modules" / "axe-core" / "axe.min.js"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def accessible(page) -> None:
    """Run axe-core on the page as it is now; fail on any WCAG 2.1 AA violation.

    axe is evaluated through the browser's debugging protocol, so the page's
    Content-Security-Policy (no inline scripts) stays on while it runs.
    """
    if not AXE.exists():
        pytest.fail("axe-core is missing: run `scripts/ensure-test-programs.sh` (npm ci in tests/browser)",
                    pytrace=False)
    page.wait_for_load_state("load")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        WCAG_21_AA)
    problems = [f"{v['id']} ({v['impact']}): {v['help']} at {', '.join(str(n['target']) for n in v['nodes'][:3])}"
                for v in result["violations"]]
    assert not problems, f"{page.url} breaks WCAG 2.1 AA:\n" + "\n".join(problems)


def screenshot(page, name: str) -> Path:
    """Check the page's accessibility, then save a full-page screenshot under reports/screenshots/."""
    accessible(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


def watch_console(page) -> list[str]:
    """Collect console errors (a CSP violation is one) and uncaught page errors."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    return problems


def sign_in(page, base: str, email: str, password: str = TEST_PASSWORD) -> None:
    """Sign a clinician in through the form."""
    page.goto(f"{base}/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/patients")
    accessible(page)

