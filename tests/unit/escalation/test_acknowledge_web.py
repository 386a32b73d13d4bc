"""The acknowledgement link: a signed, expiring token; GET confirms, POST acknowledges."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.escalation.tokens import make_ack_token
from bot.storage.models import AuditEvent, Clinician, CrisisAlert, utcnow
from journal_web import create_app
from tests.unit.escalation.conftest import ON_CALL, SECRET_KEY, THERAPIST, crisis, reload

URL = "/alerts/acknowledge"


@pytest.fixture
def client(settings, demo):
    app = create_app({"TESTING": True, "DATABASE_URL": settings.database_url,
                      "SECRET_KEY": SECRET_KEY, "ACK_LINK_HOURS": 24})
    return app.test_client()


def _token(demo, alert, email=THERAPIST, **kwargs):
    with demo() as session:
        clinician = session.scalar(select(Clinician).where(Clinician.email == email))
    return make_ack_token(SECRET_KEY, alert.public_id, clinician.id, **kwargs)


def test_get_shows_a_confirmation_and_changes_nothing(client, demo):
    alert = crisis(demo)
    page = client.get(URL, query_string={"token": _token(demo, alert)})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "P-AVA1" in html and 'method="post"' in html and "Acknowledge" in html
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["Cache-Control"] == "no-store"
    assert reload(demo, alert).status == "open"


def test_post_with_the_token_acknowledges_and_audits(client, demo):
    alert = crisis(demo)
    reply = client.post(URL, data={"token": _token(demo, alert), "note": "Calling her now."})
    assert reply.status_code == 200 and "Alert acknowledged" in reply.get_data(as_text=True)
    state = reload(demo, alert)
    assert state.status == "acknowledged" and state.note == "Calling her now."
    with demo() as session:
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "alert.acknowledged"))
        therapist = session.scalar(select(Clinician).where(Clinician.email == THERAPIST))
    assert (event.actor_type, event.actor_id) == ("clinician", therapist.id)
    again = client.post(URL, data={"token": _token(demo, alert, ON_CALL)})
    assert "Already acknowledged" in again.get_data(as_text=True)
    assert reload(demo, alert).acknowledged_by_id == therapist.id


def test_the_token_must_be_in_the_form_body_of_a_post(client, demo):
    alert = crisis(demo)
    assert client.post(URL, query_string={"token": _token(demo, alert)}).status_code == 400
    assert reload(demo, alert).status == "open"


@pytest.mark.parametrize("mangle, status", [
    (lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"), 400),
    (lambda t: "not-a-token", 400),
])
def test_a_forged_token_is_refused(client, demo, mangle, status):
    alert = crisis(demo)
    reply = client.post(URL, data={"token": mangle(_token(demo, alert))})
    assert reply.status_code == status
    assert reload(demo, alert).status == "open"


def test_an_expired_token_is_refused(client, demo):
    alert = crisis(demo)
    old = _token(demo, alert, now=utcnow() - timedelta(hours=25))
    reply = client.post(URL, data={"token": old})
    assert reply.status_code == 410 and "expired" in reply.get_data(as_text=True)
    assert reload(demo, alert).status == "open"


def test_a_token_signed_with_another_key_is_refused(client, demo):
    alert = crisis(demo)
    with demo() as session:
        clinician_id = session.scalar(select(Clinician.id).where(Clinician.email == THERAPIST))
    forged = make_ack_token("someone-elses-key", alert.public_id, clinician_id)
    assert client.post(URL, data={"token": forged}).status_code == 400


def test_an_inactive_clinician_cannot_use_their_link(client, demo):
    alert = crisis(demo)
    token = _token(demo, alert)
    with demo.begin() as session:
        session.scalar(select(Clinician).where(Clinician.email == THERAPIST)).is_active = False
    assert client.post(URL, data={"token": token}).status_code == 403
    with demo() as session:
        assert session.get(CrisisAlert, alert.id).status == "open"
