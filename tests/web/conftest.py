"""Flask fixtures on a temporary, migrated and seeded database.

`world` adds to the demo clinic what the web tests need: a second therapist
with a patient of their own (Zoe), flagged journal entries (one with markup in
it), an open alert for each patient, a `review` finding, check-ins, grounding
sessions and a second clinic with its own admin.

Hashing the seeded passwords takes most of a test's time, so the seeded
database is built once per run and each test gets its own copy of the file.
"""
from __future__ import annotations

import json
import re
import shutil
import threading
from dataclasses import dataclass
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from bot.service.cli import migrate
from bot.clinic.invites import create_invite
from bot.clinic.passwords import hash_password
from bot.storage.db import make_engine, make_session_factory
from bot.clinic.seed import seed_demo_clinic
from bot.storage.models import (
    ChatMessage,
    Clinic,
    Clinician,
    CrisisAlert,
    GroundingSession,
    InfusionSession,
    IntegrationSession,
    JournalEntry,
    MoodCheckin,
    OnCallShift,
    Patient,
    SafetyAssessment,
    utcnow,
)
from journal_web import create_app
from tests.helpers import TEST_PASSWORD, make_settings
from tests.helpers import free_port

THERAPIST = "rowan.hale@cedargrove.example"
OTHER_THERAPIST = "morgan.reyes@cedargrove.example"
ON_CALL = "oncall@cedargrove.example"
ADMIN = "admin@cedargrove.example"
OTHER_CLINIC_ADMIN = "admin@riverbend.example"
SCRIPT_ENTRY = 'Tonight <script>alert("x")</script> I want to die & I wrote my plan down.'


@dataclass
class World:
    """Ids of what the fixture seeded."""

    ava: int
    jonah: int
    zoe: int
    ava_alert: str
    zoe_alert: str
    script_entry: int
    review_assessment: int
    zoe_review_assessment: int
    therapist: int
    other_therapist: int
    ava_infusion: int = 0
    zoe_infusion: int = 0
    ava_session: int = 0
    zoe_session: int = 0
    colleague: int = 0
    other_clinic_admin: int = 0
    shift: int = 0
    other_clinic_shift: int = 0


def finding(text: str, part: str, level: str, category: str, rule: str, **extra) -> dict:
    """A finding over the first occurrence of `part` in `text`."""
    start = text.index(part)
    return {"rule": rule, "category": category, "level": level, "start": start,
            "end": start + len(part), "text": part, "modifiers": [], **extra}


def add_entry(session, patient_id: int, text: str, level: str = "none", findings=(), when=None,
              categories=None) -> tuple[JournalEntry, SafetyAssessment]:
    """A saved journal entry and its assessment."""
    when = when or utcnow()
    entry = JournalEntry(patient_id=patient_id, phase="same_day", text=text, status="saved",
                         created_at=when, updated_at=when, prompt_id="same_day.notice")
    session.add(entry)
    session.flush()
    assessment = SafetyAssessment(patient_id=patient_id, journal_entry_id=entry.id, level=level,
                                  categories=categories or sorted({f["category"] for f in findings}),
                                  findings=list(findings), created_at=when)
    session.add(assessment)
    session.flush()
    return entry, assessment


def add_alert(session, patient_id: int, assessment: SafetyAssessment, level: str = "urgent") -> CrisisAlert:
    """An open alert raised by `assessment`."""
    alert = CrisisAlert(patient_id=patient_id, level=level, categories=list(assessment.categories),
                        status="open", stage="therapist", created_at=assessment.created_at,
                        last_activity_at=assessment.created_at)
    session.add(alert)
    session.flush()
    assessment.alert_id = alert.id
    return alert


def build_world(sessions) -> World:
    """Add to the seeded demo clinic a second therapist's patient, flagged entries and alerts."""
    now = utcnow()
    with sessions.begin() as session:
        clinic = session.scalar(select(Clinic))
        therapist = session.scalar(select(Clinician).where(Clinician.email == THERAPIST))
        other = Clinician(clinic_id=clinic.id, email=OTHER_THERAPIST, display_name="Dr. Morgan Reyes",
                          role="therapist", password_hash=hash_password(TEST_PASSWORD))
        session.add(other)
        session.flush()
        zoe = Patient(clinic_id=clinic.id, therapist_id=other.id, sender_id="demo-zoe",
                      display_name="Zoe", pseudonym="P-ZOE3", timezone="America/Denver")
        session.add(zoe)
        second = Clinic(name="Riverbend (test)", country="US", crisis_resource_set="us")
        session.add(second)
        session.flush()
        riv_admin = Clinician(clinic_id=second.id, email=OTHER_CLINIC_ADMIN, display_name="Riv Admin",
                              role="admin", password_hash=hash_password(TEST_PASSWORD))
        session.add(riv_admin)
        session.flush()
        ava = session.scalar(select(Patient).where(Patient.sender_id == "demo-ava"))
        jonah = session.scalar(select(Patient).where(Patient.sender_id == "demo-jonah"))

        script_entry, script_assessment = add_entry(
            session, ava.id, SCRIPT_ENTRY, "urgent",
            [finding(SCRIPT_ENTRY, "I want to die", "urgent", "suicidal_ideation", "si.want_to_die"),
             finding(SCRIPT_ENTRY, "want to die & I wrote my plan", "emergency", "suicidal_behavior",
                     "sb.plan")],
            when=now - timedelta(hours=2))
        ava_alert = add_alert(session, ava.id, script_assessment)
        _, review = add_entry(
            session, ava.id, "During the infusion I wanted to die just to make it stop.", "review",
            [finding("During the infusion I wanted to die just to make it stop.", "wanted to die",
                     "review", "suicidal_ideation", "si.during_experience")],
            when=now - timedelta(days=1))
        add_entry(session, ava.id, "I saw my own funeral and felt at peace.", when=now - timedelta(days=2))
        message = ChatMessage(patient_id=ava.id, direction="patient", text="i feel hopeless tonight",
                              created_at=now - timedelta(hours=5))
        session.add(message)
        session.flush()
        session.add(SafetyAssessment(patient_id=ava.id, chat_message_id=message.id, level="review",
                                     categories=["suicidal_ideation"], created_at=message.created_at,
                                     findings=[finding(message.text, "hopeless", "review",
                                                       "suicidal_ideation", "hopelessness")]))
        for day, (mood, anxiety) in enumerate([(3, 8), (4, 7), (6, 5), (7, 3)]):
            session.add(MoodCheckin(patient_id=ava.id, mood=mood, anxiety=anxiety, sleep="ok",
                                    created_at=now - timedelta(days=4 - day)))
        session.add(GroundingSession(patient_id=ava.id, exercise_id="box_breathing", distress_before=8,
                                     distress_after=4, completed=True, started_at=now - timedelta(days=1, hours=3),
                                     ended_at=now - timedelta(days=1, hours=2, minutes=50)))

        zoe_text = "Zoe's private entry: I keep thinking about ending it."
        zoe_entry, zoe_assessment = add_entry(
            session, zoe.id, zoe_text, "urgent",
            [finding(zoe_text, "ending it", "urgent", "suicidal_ideation", "si.ending_it")])
        zoe_alert = add_alert(session, zoe.id, zoe_assessment)
        _, zoe_review = add_entry(session, zoe.id, "Zoe felt like nothing mattered.", "review",
                                  [finding("Zoe felt like nothing mattered.", "nothing mattered",
                                           "review", "suicidal_ideation", "hopelessness")])
        zoe_infusion = InfusionSession(patient_id=zoe.id, occurred_at=now - timedelta(days=3), route="IM")
        zoe_session = IntegrationSession(patient_id=zoe.id, scheduled_at=now + timedelta(days=2))
        session.add_all([zoe_infusion, zoe_session])
        ava_infusion = session.scalar(select(InfusionSession).where(InfusionSession.patient_id == ava.id))
        ava_session = session.scalar(select(IntegrationSession).where(IntegrationSession.patient_id == ava.id))
        shift = OnCallShift(clinic_id=clinic.id, clinician_id=other.id, starts_at=now + timedelta(days=7),
                            ends_at=now + timedelta(days=8))
        riv_shift = OnCallShift(clinic_id=second.id, clinician_id=riv_admin.id, starts_at=now + timedelta(days=7),
                                ends_at=now + timedelta(days=8))
        session.add_all([shift, riv_shift])
        session.flush()
        return World(ava_infusion=ava_infusion.id, zoe_infusion=zoe_infusion.id, ava_session=ava_session.id,
                     zoe_session=zoe_session.id, colleague=other.id, other_clinic_admin=riv_admin.id,
                     shift=shift.id, other_clinic_shift=riv_shift.id,
                     ava=ava.id, jonah=jonah.id, zoe=zoe.id, ava_alert=ava_alert.public_id,
                     zoe_alert=zoe_alert.public_id, script_entry=script_entry.id,
                     review_assessment=review.id, zoe_review_assessment=zoe_review.id,
                     therapist=therapist.id, other_therapist=other.id)


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory):
    """A migrated database with the demo clinic and the world, built once; and the world's ids."""
    tmp = tmp_path_factory.mktemp("web-template")
    settings = make_settings(tmp)
    migrate(settings)
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    with sessions.begin() as session:
        seed_demo_clinic(session, make_password=lambda: TEST_PASSWORD)
    world = build_world(sessions)
    engine.dispose()  # checkpoints the WAL into the file
    return tmp / "test.db", world


@pytest.fixture
def sessions(settings, seeded_template):
    """This test's own copy of the seeded database (overrides the root fixture)."""
    template, _ = seeded_template
    shutil.copyfile(template, settings.database_url.removeprefix("sqlite:///"))
    engine = make_engine(settings.database_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def demo(sessions):
    """The demo clinic (already seeded in the copy)."""
    return sessions


@pytest.fixture
def world(demo, seeded_template) -> World:
    """The ids of what the template holds beyond the demo clinic."""
    return seeded_template[1]


@pytest.fixture
def app(settings, world):
    """The app over the seeded test database (CSRF off: it has its own tests)."""
    return create_app({"TESTING": True, "WTF_CSRF_ENABLED": False,
                       "DATABASE_URL": settings.database_url, "SECRET_KEY": "test",
                       "RASA_URL": f"http://127.0.0.1:{free_port()}",
                       "SPOOL_DIR": str(settings.spool_dir),
                       "CHAT_RELAY_TIMEOUT_SECONDS": 5,
                       "PUBLIC_BASE_URL": "https://journal.example"})


@pytest.fixture
def client(app):
    """A test client."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """A CLI runner for the app's commands."""
    return app.test_cli_runner()


class AuthActions:
    """Sign a clinician or a patient in and out through the real forms."""

    def __init__(self, client, sessions):
        self._client = client
        self._sessions = sessions

    def login(self, email: str = THERAPIST, password: str = TEST_PASSWORD):
        """Sign a clinician in."""
        return self._client.post("/login", data={"email": email, "password": password,
                                                 "csrf_token": csrf_token(self._client, "/login")})

    def login_patient(self, sender_id: str = "demo-ava"):
        """Sign a patient in through a fresh invite link."""
        token = self.invite(sender_id)
        return self._client.post(f"/invite/{token}",
                                 data={"csrf_token": csrf_token(self._client, f"/invite/{token}")})

    def invite(self, sender_id: str = "demo-ava", hours: int = 72) -> str:
        """A fresh invite token for a patient, made by their therapist."""
        with self._sessions.begin() as session:
            patient = session.scalar(select(Patient).where(Patient.sender_id == sender_id))
            therapist = session.get(Clinician, patient.therapist_id)
            return create_invite(session, patient, therapist, hours).token

    def logout(self):
        """Sign out."""
        return self._client.post("/logout", data={"csrf_token": csrf_token(self._client, "/")})


def csrf_token(client, path: str) -> str:
    """The CSRF token a page carries ("" when CSRF is off and the page has none)."""
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or \
        re.search(r'name="csrf-token" content="([^"]+)"', page)
    return match.group(1) if match else ""


@pytest.fixture
def auth(client, demo):
    """The auth helper."""
    return AuthActions(client, demo)


class FakeRasa:
    """A stand-in for Rasa's REST channel that records what it was sent."""

    def __init__(self):
        self.received: list[dict] = []
        self.authorizations: list[str] = []
        self.status = 200
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                payload = json.loads(body)
                outer.received.append({"path": self.path, **payload})
                outer.authorizations.append(self.headers.get("Authorization") or "")
                if outer.status != 200:
                    reply = json.dumps({"error": "'message' is too long"}).encode()
                    self.send_response(outer.status)
                else:
                    reply = json.dumps([
                        {"recipient_id": payload["sender"], "text": f"You said: {payload['message']}"},
                        {"recipient_id": payload["sender"], "text": "How are you feeling?",
                         "buttons": [{"title": "Good", "payload": "/mood{\"mood\": 7}"},
                                     {"title": "Not great", "payload": "/mood{\"mood\": 3}"}]},
                    ]).encode()
                    self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *_args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        """Shut the server down."""
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_rasa(app):
    """A running fake Rasa, with the app pointed at it."""
    rasa = FakeRasa()
    app.config["RASA_URL"] = rasa.url
    yield rasa
    rasa.stop()
