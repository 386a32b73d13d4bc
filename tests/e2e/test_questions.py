"""Questions patients ask, typed loosely, each get their topic's answer from the running assistant."""
import pytest

from bot.content.patient_questions import topic_by_id

pytestmark = pytest.mark.e2e

QUESTIONS = [
    ("what is ketamine doing to my brain", "how_it_works"),
    ("can u help me sleep", "sleep"),
    ("wat is integration", "integration"),
    ("how many sessions will i have", "sessions"),
    ("is it normal to still feel dizzy", "after_effects"),
    ("how do i prepare for my infusion tmrw", "preparing"),
    ("can i drive home after", "driving"),
    ("can i eat before my infusion", "food_and_drink"),
    ("should i take my meds before", "medicines"),
    ("is ketamine safe", "safety"),
    ("what will the session feel like", "infusion_experience"),
    ("what is kap exactly", "what_is_kap"),
]


def _texts(replies):
    return " ".join(r.get("text") or "" for r in replies)


@pytest.mark.parametrize("question, topic_id", QUESTIONS)
def test_a_question_gets_its_topics_answer(servers, question, topic_id):
    answer = topic_by_id(topic_id).answer
    assert answer in _texts(servers.say("demo-jonah", question))


def test_a_topic_button_gets_its_answer(servers):
    replies = servers.say("demo-jonah", '/ask_topic{"topic": "driving"}')
    assert topic_by_id("driving").answer in _texts(replies)


def test_an_unknown_question_offers_the_topics(servers):
    replies = servers.say("demo-jonah", "whats the weather like tomorrow")
    assert "outside what I can help with" in _texts(replies)
    titles = [b["title"] for r in replies for b in r.get("buttons", [])]
    assert "How many sessions will I have?" in titles


def test_a_question_that_is_a_red_flag_gets_the_medical_protocol(servers):
    text = _texts(servers.say("demo-jonah", "is it normal to have chest pain and trouble breathing after my infusion"))
    assert topic_by_id("after_effects").answer not in text
    assert "911" in text or "emergency" in text.lower()
