"""The crisis and medical protocols take their resources from the clinic's data."""
from sqlalchemy import select, update

from actions.crisis import ActionCrisisProtocol, ActionMedicalProtocol
from bot import runtime
from bot.storage.models import Clinic
from tests.actions.conftest import DOMAIN, make_tracker
from tests.helpers import free_port

URGENT = {"level": "urgent", "categories": ["suicidal_ideation"], "findings": []}
EMERGENCY = {"level": "emergency", "categories": ["suicidal_behavior"], "findings": []}
MEDICAL = {"level": "urgent", "categories": ["medical"], "findings": []}


def _texts(dispatcher):
    return [m["response"] for m in dispatcher.messages]


def test_crisis_protocol_gives_resources_then_plan(runtime_db, dispatcher):
    tracker = make_tracker(text="...", intent="crisis", safety=URGENT)
    ActionCrisisProtocol().run(dispatcher, tracker, DOMAIN)
    assert _texts(dispatcher) == [
        "utter_crisis_opening",
        "utter_crisis_resources",
        "utter_crisis_therapist_notified",
        "utter_crisis_safety_plan",
    ]
    resources = dispatcher.messages[1]["resources"]
    assert "988" in resources and "741741" in resources
    assert "Ask someone you trust to hold medications" in dispatcher.messages[3]["plan"]


def test_a_south_african_clinic_gets_sadag_not_988(runtime_db, dispatcher):
    with runtime_db.begin() as session:
        session.execute(update(Clinic).values(country="ZA", crisis_resource_set="za"))
    ActionCrisisProtocol().run(dispatcher, make_tracker(intent="crisis", safety=EMERGENCY), DOMAIN)
    resources = dispatcher.messages[1]["resources"]
    assert "0800 567 567" in resources and "988" not in resources
    call_now = next(m for m in dispatcher.messages if m["response"] == "utter_crisis_emergency")
    assert call_now["emergency"] == "10111, or 112 from a mobile phone"


def test_crisis_resources_still_arrive_when_the_database_is_down(
    runtime_db, dispatcher, monkeypatch
):
    monkeypatch.setenv("DATABASE_URL", f"postgresql://kap@127.0.0.1:{free_port()}/kap")
    runtime.settings.cache_clear()
    runtime.session_factory.cache_clear()
    tracker = make_tracker(intent="crisis", safety=URGENT, slots={"crisis_resource_set": "gb"})
    ActionCrisisProtocol().run(dispatcher, tracker, DOMAIN)
    assert _texts(dispatcher)[:3] == [
        "utter_crisis_opening",
        "utter_crisis_resources",
        "utter_crisis_therapist_notified",
    ]
    assert "116 123" in dispatcher.messages[1]["resources"]


def test_medical_red_flag_gets_the_clinic_medical_contact(runtime_db, dispatcher):
    ActionMedicalProtocol().run(dispatcher, make_tracker(intent="medical_red_flag", safety=MEDICAL), DOMAIN)
    assert _texts(dispatcher) == [
        "utter_medical_opening",
        "utter_medical_contact",
        "utter_medical_team_notified",
    ]
    with runtime_db() as session:
        contact = session.scalar(select(Clinic.medical_contact))
    assert dispatcher.messages[1]["contact"] == contact
