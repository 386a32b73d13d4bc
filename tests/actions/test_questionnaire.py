"""The questionnaire actions: answers recorded, unclear answers asked again, item 9 never missed."""
import actions.questionnaire
from actions.questionnaire import ValidateQuestionnaireForm, chosen_instrument
from bot.content.questionnaires import questionnaires
from rasa_sdk.executor import CollectingDispatcher
from tests.actions.conftest import DOMAIN, make_tracker

PHQ9 = questionnaires().get("phq9")


def _tracker(answered: dict):
    return make_tracker("demo-ava", '/inform_rating{"rating": 1}', "inform_rating",
                        slots={"questionnaire_instrument": "phq9", "questionnaire_key": "k-actions",
                               "questionnaire_answers": answered, "requested_slot": "questionnaire_answer"},
                        entities=[{"entity": "rating", "value": 1}], form="questionnaire_form")


def test_phq9_item_9_starts_the_crisis_protocol_even_if_its_answer_cannot_be_written(runtime_db, monkeypatch):
    class BrokenWriter:
        def write(self, record):
            raise OSError("disk full")

    monkeypatch.setattr(actions.questionnaire, "durable_writer", lambda: BrokenWriter())
    answered = {item.id: 0 for item in PHQ9.items[:8]}
    result = ValidateQuestionnaireForm().validate_questionnaire_answer(
        "value:1", CollectingDispatcher(), _tracker(answered), DOMAIN)
    assert result["questionnaire_answer"] == "crisis"
    assert result["questionnaire_answers"]["phq9_9"] == 1


def test_an_unclear_answer_is_asked_again_and_records_nothing(runtime_db):
    dispatcher = CollectingDispatcher()
    result = ValidateQuestionnaireForm().validate_questionnaire_answer("unclear", dispatcher, _tracker({}), DOMAIN)
    assert result == {"questionnaire_answer": None}
    assert [m["response"] for m in dispatcher.messages] == ["utter_questionnaire_unclear"]


def test_an_answer_moves_to_the_next_item(runtime_db):
    result = ValidateQuestionnaireForm().validate_questionnaire_answer(
        "value:2", CollectingDispatcher(), _tracker({}), DOMAIN)
    assert result == {"questionnaire_answer": None, "questionnaire_answers": {"phq9_1": 2}}


def test_anxiety_words_choose_the_gad7():
    assert chosen_instrument("can i do the anxiety questionnaire", None) == "gad7"
    assert chosen_instrument("questionnaire", None) == "phq9"
    assert chosen_instrument("questionnaire", "gad7") == "gad7"
