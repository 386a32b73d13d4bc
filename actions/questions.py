"""Answers to what patients ask, from the clinic's reviewed topics (bot/content/patient_questions.yml).

Runs for a question (intent ask_question), a topic button (ask_topic), and for
messages NLU could not place (out_of_scope, nlu_fallback): a message that names
a topic gets its answer; otherwise the reply it had before, plus the topics.
The safety screen has already read the message: a crisis or a red flag never
reaches this action.
"""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.content.patient_questions import match_topic, topic_by_id, topics

OFFERED_TOPICS = 8


def topic_buttons() -> list[dict]:
    """Quick replies for the topics the assistant can answer."""
    return [{"title": topic.title, "payload": f'/ask_topic{{"topic": "{topic.id}"}}'}
            for topic in topics()[:OFFERED_TOPICS]]


class ActionAnswerQuestion(Action):
    """Answers a patient's question from the clinic's topics, or offers the topics."""

    def name(self) -> Text:
        return "action_answer_question"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        chosen = next(tracker.get_latest_entity_values("topic"), None)
        topic = topic_by_id(chosen) if chosen else match_topic(tracker.latest_message.get("text") or "")
        if topic is not None:
            dispatcher.utter_message(text=topic.answer)
            return []
        if intent == "nlu_fallback":
            dispatcher.utter_message(response="utter_default")
        elif intent == "out_of_scope":
            dispatcher.utter_message(response="utter_out_of_scope")
            dispatcher.utter_message(response="utter_question_topics", buttons=topic_buttons())
        else:
            dispatcher.utter_message(response="utter_question_unknown", buttons=topic_buttons())
        return []
