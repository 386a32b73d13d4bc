"""PHQ-9 and GAD-7 results on the patient's page: scores, bands, change, response and remission."""
from datetime import timedelta

from bot.content.questionnaires import questionnaires
from bot.conversation.questionnaire import QuestionnaireSnapshot, apply_questionnaire
from bot.storage.models import utcnow


def add_phq9(sessions, key, values, when):
    """A completed PHQ-9 for Ava with these nine answers."""
    items = questionnaires().get("phq9").items
    with sessions.begin() as session:
        apply_questionnaire(session, QuestionnaireSnapshot(key, "demo-ava", "phq9",
                                                           {item.id: v for item, v in zip(items, values)}), now=when)


def test_the_patients_page_shows_scores_bands_and_change(client, auth, demo, world):
    add_phq9(demo, "w1", [3, 3, 2, 2, 2, 2, 2, 2, 0], utcnow() - timedelta(days=14))
    add_phq9(demo, "w2", [1, 1, 0, 1, 0, 0, 0, 0, 0], utcnow())
    auth.login()
    page = client.get(f"/patients/{world.ava}").get_data(as_text=True)
    assert "Questionnaires" in page and "PHQ-9" in page
    assert "18 / 27" in page and "moderately severe" in page and "3 / 27" in page and "minimal" in page
    assert "Change from the first score: -15." in page and "Response (a fall of 50% or more)." in page
    assert "Remission (below 5)." in page
    assert '"points": [[' in page or '"points":[[' in page


def test_a_positive_item_9_is_marked(client, auth, demo, world):
    add_phq9(demo, "w3", [1, 1, 1, 1, 1, 1, 1, 1, 2], utcnow())
    auth.login()
    page = client.get(f"/patients/{world.ava}").get_data(as_text=True)
    assert "item 9 above 0: crisis protocol and alert" in page


def test_no_questionnaires_no_section(client, auth, world):
    auth.login()
    assert "measures-title" not in client.get(f"/patients/{world.ava}").get_data(as_text=True)


def test_the_scores_and_every_answer_are_in_the_csv_export(client, auth, demo, world):
    add_phq9(demo, "w4", [1, 2, 0, 1, 0, 0, 0, 0, 0], utcnow())
    auth.login()
    reply = client.get(f"/patients/{world.ava}/measures.csv")
    lines = reply.get_data(as_text=True).splitlines()
    assert reply.status_code == 200 and reply.mimetype == "text/csv"
    assert lines[0] == "completed_utc,instrument,score,band,crisis_item_above_0,answers"
    assert ",phq9,4,minimal,no," in lines[1] and "phq9_2=2" in lines[1]
