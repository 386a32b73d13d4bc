"""action_greet: the patient's name, and a polite refusal for strangers."""
from rasa_sdk.events import SlotSet

from actions.greeting import ActionGreet
from tests.actions.conftest import DOMAIN, make_tracker


def test_greets_an_enrolled_patient_by_name(runtime_db, dispatcher):
    events = ActionGreet().run(dispatcher, make_tracker("demo-ava"), DOMAIN)
    assert dispatcher.messages[0]["response"] == "utter_greet"
    assert dispatcher.messages[0]["name"] == "Ava"
    assert events == [SlotSet("crisis_resource_set", "us")]


def test_a_stranger_is_told_the_assistant_is_for_patients(runtime_db, dispatcher):
    events = ActionGreet().run(dispatcher, make_tracker("not-a-patient"), DOMAIN)
    assert [m["response"] for m in dispatcher.messages] == ["utter_not_enrolled"]
    assert events == []
