"""PHQ-9 and GAD-7: the published bands at every boundary, typed answers, and the stored runs."""
import pytest
from sqlalchemy import select

from bot.content.questionnaires import load_questionnaires, parse_answer, questionnaires, response_and_remission
from bot.content.schema import ContentError
from bot.conversation.questionnaire import QuestionnaireSnapshot, apply_questionnaire, completed, in_progress
from bot.storage.models import CrisisAlert, Patient, QuestionnaireResponse

PHQ9 = questionnaires().get("phq9")
GAD7 = questionnaires().get("gad7")


@pytest.mark.parametrize("total, band", [
    (0, "minimal"), (4, "minimal"), (5, "mild"), (9, "mild"), (10, "moderate"), (14, "moderate"),
    (15, "moderately severe"), (19, "moderately severe"), (20, "severe"), (27, "severe"),
])
def test_phq9_bands_at_every_boundary(total, band):
    assert PHQ9.band(total) == band


@pytest.mark.parametrize("total, band", [
    (0, "minimal"), (4, "minimal"), (5, "mild"), (9, "mild"), (10, "moderate"), (14, "moderate"),
    (15, "severe"), (21, "severe"),
])
def test_gad7_bands_at_every_boundary(total, band):
    assert GAD7.band(total) == band


def test_the_published_wording_and_scale():
    assert len(PHQ9.items) == 9 and len(GAD7.items) == 7
    assert PHQ9.items[8].text == "Thoughts that you would be better off dead or of hurting yourself in some way"
    assert questionnaires().options == ((0, "Not at all"), (1, "Several days"), (2, "More than half the days"),
                                        (3, "Nearly every day"))
    assert PHQ9.crisis_items == {"phq9_9"} and not GAD7.crisis_items
    assert PHQ9.score({item.id: 3 for item in PHQ9.items}) == 27
    with pytest.raises(ValueError):
        PHQ9.band(28)
    with pytest.raises(ValueError):
        PHQ9.score({"phq9_1": 1})


@pytest.mark.parametrize("typed, value", [
    ("Not at all", 0), ("no", 0), ("never", 0), ("several days", 1), ("some days", 1), ("sometimes", 1),
    ("More than half the days", 2), ("most days", 2), ("Most days tbh", 2), ("nearly every day", 3),
    ("every day", 3), ("all the time", 3), ("2", 2), (3, 3), ("not often", 1),
    ("banana", None), ("", None), ("4", None), (7, None),
    # "no" and "never" start answers that mean yes: asked again, never read as 0.
    ("I never stop thinking about it", None), ("no day goes by without it", None), ("Nope, only on bad days", None),
    ("Not really, maybe twice", None), ("no idea", None), ("not at all really", 0),
])
def test_typed_answers_are_understood(typed, value):
    assert parse_answer(typed) == value


def test_response_and_remission():
    assert response_and_remission("phq9", 20, 10) == {"change": -10, "response": True, "remission": False}
    assert response_and_remission("phq9", 20, 4) == {"change": -16, "response": True, "remission": True}
    assert response_and_remission("gad7", 12, 7) == {"change": -5, "response": False}


def test_a_broken_instrument_file_is_refused(tmp_path):
    path = tmp_path / "q.yml"
    path.write_text("version: 1\noptions: [{value: 0, text: a}]\ninstruments: []\n", encoding="utf-8")
    with pytest.raises(ContentError, match="0, 1, 2, 3"):
        load_questionnaires(path)


def _all(value, last=None):
    answers = {item.id: value for item in PHQ9.items}
    if last is not None:
        answers["phq9_9"] = last
    return answers


def test_item_9_above_0_raises_one_urgent_alert_and_the_score_is_stored(demo):
    snapshot = QuestionnaireSnapshot("k-item9", "demo-jonah", "phq9", _all(1, last=2))
    with demo.begin() as session:
        row = apply_questionnaire(session, snapshot)
        assert (row.status, row.score, row.band) == ("completed", 10, "moderate") and row.crisis_at
    with demo.begin() as session:
        apply_questionnaire(session, snapshot)  # a retried write changes nothing
    with demo() as session:
        jonah = session.scalar(select(Patient).where(Patient.sender_id == "demo-jonah"))
        alerts = session.scalars(select(CrisisAlert).where(CrisisAlert.patient_id == jonah.id)).all()
        assert [(a.level, a.categories) for a in alerts] == [("urgent", ["suicidal_ideation"])]
        assert [r.score for r in completed(session, jonah.id)] == [10]


def test_a_run_in_progress_is_kept_and_carried_on(demo):
    with demo.begin() as session:
        apply_questionnaire(session, QuestionnaireSnapshot("k-part", "demo-ava", "gad7", {"gad7_1": 2}))
    with demo.begin() as session:
        row = in_progress(session, "demo-ava", "gad7")
        assert row.key == "k-part" and row.answers == {"gad7_1": 2}
        answers = {item.id: 0 for item in GAD7.items} | {"gad7_1": 3}
        done = apply_questionnaire(session, QuestionnaireSnapshot("k-part", "demo-ava", "gad7", answers))
        assert done.answers["gad7_1"] == 2, "a stored answer is never changed"
        assert (done.status, done.score) == ("completed", 2) and done.crisis_at is None
        assert session.scalar(select(CrisisAlert)) is None
        assert in_progress(session, "demo-ava", "gad7") is None
        assert session.scalar(select(QuestionnaireResponse).where(QuestionnaireResponse.key == "k-part")).band == \
            "minimal"
