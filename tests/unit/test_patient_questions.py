"""The patient-question topics: their schema check and what a message is matched to."""
import pytest

from bot.content.patient_questions import load_topics, match_topic, topics
from bot.content.schema import ContentError


def test_the_packaged_topics_load_with_unique_ids_and_end_with_who_to_contact():
    loaded = topics()
    assert len(loaded) >= 10
    for topic in loaded:
        tail = topic.answer.rsplit(".", 2)[-2].lower()
        assert any(word in tail for word in ("clinic", "therapist", "prescriber", "medical team", "emergency")), topic.id


@pytest.mark.parametrize("text, topic_id", [
    ("how do i prepare for my infusoin", "preparing"),
    ("HOW MANY SESSIONS", "sessions"),
    ("can't sleep", "sleep"),
    ("is it normal to feel floaty still", "after_effects"),
    ("tell me a joke", None),
    ("", None),
])
def test_messages_are_matched_to_topics(text, topic_id):
    found = match_topic(text)
    assert (found.id if found else None) == topic_id


@pytest.mark.parametrize("body, problem", [
    ("version: 1\ntopics: []\n", "non-empty list"),
    ("version: 1\ntopics:\n  - {id: Bad-Id, title: t, match: [x], answer: a}\n", "lower-case"),
    ("version: 1\ntopics:\n  - {id: a_b, title: t, match: [], answer: a}\n", "non-empty list of phrases"),
    ("version: 1\ntopics:\n  - {id: a_b, title: t, match: [x], answer: a, extra: 1}\n", "extra"),
    ("version: 1\ntopics:\n  - {id: a_b, title: t, match: [x], answer: a}\n  - {id: a_b, title: t, match: [y], answer: b}\n",
     "a_b"),
])
def test_a_broken_topics_file_is_refused_with_its_problem(tmp_path, body, problem):
    path = tmp_path / "questions.yml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ContentError, match=problem):
        load_topics(path)
