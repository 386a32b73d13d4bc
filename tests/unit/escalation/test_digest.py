"""The daily digest of review-level findings, and the review queue."""
import dataclasses
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from bot.escalation.digest import main as digest_main
from bot.escalation.digest import review_queue, send_digests
from bot.storage.models import Clinician, CrisisAlert, utcnow
from tests.unit.escalation.conftest import ADMIN, THERAPIST, add_patient, crisis

# The demo clinic is in America/Denver (UTC-7 in November): 07:00 local is 14:00 UTC.
DAY = datetime(2026, 11, 21, tzinfo=timezone.utc)
SEVEN_LOCAL = DAY + timedelta(hours=14)
PRIVATE = "words that stay in the clinic"


def _review(demo, sender, at, categories=("suicidal_ideation",)):
    assert crisis(demo, sender, level="review", categories=categories, at=at, text=PRIVATE) is None


def _clinician(demo, email):
    with demo() as session:
        return session.scalar(select(Clinician).where(Clinician.email == email))


def test_review_findings_page_no_one_and_are_listed_in_the_queue(demo):
    _review(demo, "demo-ava", SEVEN_LOCAL - timedelta(hours=3))
    crisis(demo, "demo-jonah", level="urgent", at=SEVEN_LOCAL - timedelta(hours=2))
    with demo() as session:
        assert session.scalar(select(CrisisAlert.level)) == "urgent"
        items = review_queue(session, _clinician(demo, THERAPIST), SEVEN_LOCAL - timedelta(days=1))
        assert [(i.patient.pseudonym, i.source) for i in items] == [("P-AVA1", "chat")]
        assert review_queue(session, _clinician(demo, THERAPIST), SEVEN_LOCAL) == []


def test_a_therapist_sees_only_their_patients_and_an_admin_the_clinic(demo):
    with demo.begin() as session:
        other = Clinician(clinic_id=_clinician(demo, THERAPIST).clinic_id, email="second@cedargrove.example",
                          display_name="Second", role="therapist", password_hash="-")
        session.add(other)
    add_patient(demo, "demo-other", "P-OTH1", therapist_email="second@cedargrove.example")
    since = SEVEN_LOCAL - timedelta(days=1)
    _review(demo, "demo-ava", SEVEN_LOCAL - timedelta(hours=5))
    _review(demo, "demo-other", SEVEN_LOCAL - timedelta(hours=4))
    with demo() as session:
        mine = review_queue(session, _clinician(demo, THERAPIST), since)
        everyone = review_queue(session, _clinician(demo, ADMIN), since)
    assert [i.patient.pseudonym for i in mine] == ["P-AVA1"]
    assert [i.patient.pseudonym for i in everyone] == ["P-AVA1", "P-OTH1"]


def test_the_digest_goes_out_once_a_day_at_its_hour(settings, demo, mailbox):
    _review(demo, "demo-ava", SEVEN_LOCAL - timedelta(hours=6))
    _review(demo, "demo-jonah", SEVEN_LOCAL - timedelta(hours=1), ("harm_to_others",))
    settings = dataclasses.replace(settings, digest_hour=7)

    assert send_digests(demo, settings, SEVEN_LOCAL - timedelta(minutes=1)) == []
    [result] = send_digests(demo, settings, SEVEN_LOCAL)
    assert result.sent and result.items == 2 and result.email == THERAPIST
    assert send_digests(demo, settings, SEVEN_LOCAL + timedelta(hours=3)) == []

    [mail] = mailbox.messages()
    assert mail["To"] == THERAPIST and "2 findings" in mail["Subject"]
    body = mail.get_content()
    assert "P-AVA1" in body and "P-JON2" in body and "harm to others" in body
    assert "https://kap.example/review" in body
    assert PRIVATE not in body

    _review(demo, "demo-ava", SEVEN_LOCAL + timedelta(hours=2))
    [tomorrow] = send_digests(demo, settings, SEVEN_LOCAL + timedelta(days=1))
    assert tomorrow.items == 1, "the next digest starts where the last one ended"


def test_a_day_without_findings_sends_nothing(settings, demo, mailbox):
    [result] = send_digests(demo, settings, SEVEN_LOCAL, ignore_hour=True)
    assert (result.items, result.sent) == (0, False)
    assert mailbox.messages() == []


def test_a_failed_digest_is_tried_again(settings, demo, mailbox):
    _review(demo, "demo-ava", SEVEN_LOCAL - timedelta(hours=1))
    broken = dataclasses.replace(settings, smtp_port=1)
    [failed] = send_digests(demo, broken, SEVEN_LOCAL)
    assert not failed.sent
    [retried] = send_digests(demo, settings, SEVEN_LOCAL + timedelta(minutes=1))
    assert retried.sent and len(mailbox.messages()) == 1


def test_the_command_sends_now(settings, demo, mailbox, monkeypatch, capsys):
    _review(demo, "demo-ava", utcnow() - timedelta(hours=1))
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(mailbox.port))
    monkeypatch.setenv("KAP_ENV_FILE", "/nonexistent/.env")
    assert digest_main([]) == 0
    assert f"{THERAPIST}: 1 finding(s), sent" in capsys.readouterr().out
    assert mailbox.messages()[0]["To"] == THERAPIST
