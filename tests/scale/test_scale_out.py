"""Scale-out: 20 patients × 30 messages through HAProxy (round robin) to two Rasa
servers sharing the SQL tracker store on PostgreSQL and a Redis lock store, with
two action servers behind their own round-robin backend and two alert dispatchers.

Each patient's messages land on both Rasa instances, and yet every turn is recorded
once, every conversation goes on as if one server had answered it (a journaling form
and the crisis screener carried across instances), every crisis episode has one
alert, and every alert reaches each recipient once per channel (a real SMTP server
and a real webhook receiver).
"""
import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import yaml
from sqlalchemy import select, text

from bot.service.cli import TRACKER_STORE
from bot.clinic.seed import seed_demo_clinic
from bot.storage.models import (
    AlertDelivery, ChatMessage, Clinician, CrisisAlert, InfusionSession, JournalEntry, Patient, utcnow,
)
from tests.helpers import TEST_PASSWORD
from tests.scale.cluster import DEPLOY
from tests.servers import wait_for

pytestmark = [pytest.mark.scale, pytest.mark.postgres, pytest.mark.e2e]

PATIENTS = 20
MESSAGES = 30
CRISIS_EVERY = 4  # patients 0, 4, 8, 12 and 16 have a crisis midway
CRISIS_TEXT = "i have the pills in my hand and i'm taking them all tonight"
FOLLOW_UP = "That I am allowed to feel open."
SETTLE_SECONDS = 90  # a bound on waiting for background writes and deliveries, not a timing check
PHRASES = (
    "I keep coming back to the moment my chest felt warm and open.",
    "My sister was there in a memory, laughing by the lake.",
    "The first thing I noticed was the colour blue.",
    "Then a feeling of my grandmother's kitchen.",
    "I kept thinking about my brother and the lake we swam in as kids.",
)


def _lines(sender: str, first: int, count: int) -> list[str]:
    return [f"Line {n} for {sender}: {PHRASES[n % len(PHRASES)]}" for n in range(first, first + count)]


def _script(index: int) -> dict:
    """One patient's 30 messages, and the journal entries they must leave behind."""
    sender = f"scale-{index:02d}"
    if index % CRISIS_EVERY:
        lines = _lines(sender, 1, 25)
        messages = ["hi", "i want to journal", *lines, "done", FOLLOW_UP, "thank you"]
        return {"sender": sender, "messages": messages, "crisis": False, "saved": lines, "draft": None}
    # Journaling, interrupted by a crisis: the protocol, the C-SSRS screener to its end
    # (safe now, then three noes), and journaling again afterwards.
    before, after = _lines(sender, 1, 12), _lines(sender, 13, 7)
    messages = ["hi", "i want to journal", *before, CRISIS_TEXT, "yes", "no", "no", "no",
                "i want to journal", *after, "done", FOLLOW_UP, "thank you"]
    return {"sender": sender, "messages": messages, "crisis": True, "saved": after, "draft": before}


SCRIPTS = [_script(index) for index in range(PATIENTS)]


def _enrol(sessions) -> None:
    """The demo clinic, and the 20 patients, each two days after an infusion."""
    with sessions.begin() as session:
        seed_demo_clinic(session, make_password=lambda: TEST_PASSWORD)
        therapist = session.scalar(select(Clinician).where(Clinician.role == "therapist").order_by(Clinician.id))
        for script in SCRIPTS:
            patient = Patient(clinic_id=therapist.clinic_id, therapist_id=therapist.id,
                              sender_id=script["sender"], display_name="Sam",
                              pseudonym=f"P-{script['sender'].upper()}", timezone="UTC")
            session.add(patient)
            session.flush()
            session.add(InfusionSession(patient_id=patient.id, occurred_at=utcnow() - timedelta(days=2), route="IV"))


def _converse(cluster, script: dict) -> list:
    """Send the patient's messages one after another, as a person chats."""
    return [cluster.say(script["sender"], message) for message in script["messages"]]


@pytest.fixture(scope="module")
def conversations(cluster):
    """Every patient's replies, the 20 conversations running at once."""
    assert len({len(s["messages"]) for s in SCRIPTS}) == 1 and len(SCRIPTS[0]["messages"]) == MESSAGES
    _enrol(cluster.sessions)
    with ThreadPoolExecutor(PATIENTS) as pool:
        replies = dict(zip((s["sender"] for s in SCRIPTS), pool.map(lambda s: _converse(cluster, s), SCRIPTS)))
    assert wait_for(lambda: cluster.spooled() == 0, SETTLE_SECONDS), "turns still spooled"
    return replies


def _transcript(script: dict, replies: list) -> str:
    """The conversation as the patient saw it, for a failure message."""
    return "\n".join(f"{script['sender']} > {message}\n  ({reply.instance}) " + " | ".join(reply.texts)
                     for message, reply in zip(script["messages"], replies))


def _patient_ids(cluster) -> dict:
    with cluster.sessions() as session:
        return dict(session.execute(select(Patient.sender_id, Patient.id)
                                    .where(Patient.sender_id.like("scale-%"))).all())


def _shape(value):
    if isinstance(value, dict):
        return {key: (item if key == "type" else _shape(item)) for key, item in value.items()}
    return type(value).__name__


def test_the_servers_run_with_the_documented_production_endpoints(cluster):
    written = yaml.safe_load(cluster.endpoints.read_text(encoding="utf-8"))
    documented = yaml.safe_load((DEPLOY / "endpoints.production.yml").read_text(encoding="utf-8"))
    assert _shape(written) == _shape(documented)
    assert written["lock_store"] == {"type": "redis", "url": "127.0.0.1", "port": cluster.redis_port, "db": 1}
    assert written["tracker_store"] == {"type": TRACKER_STORE, "url": cluster.settings.database_url}
    assert written["tracker_store"]["url"].startswith("postgresql")


def test_every_patient_is_served_by_both_instances_and_both_action_servers(cluster, conversations):
    for sender, replies in conversations.items():
        assert Counter(r.instance for r in replies).keys() == {"rasa1", "rasa2"}, sender
    sessions = {key: int(row["stot"]) for key, row in cluster.server_stats().items()}
    assert sessions[("rasa", "rasa1")] + sessions[("rasa", "rasa2")] == PATIENTS * MESSAGES
    assert sessions[("actions", "actions1")] > 0 and sessions[("actions", "actions2")] > 0
    # Both Rasa servers took every conversation's lock in Redis (a ticket set per message at least).
    assert cluster.redis_calls("set") >= PATIENTS * MESSAGES


def test_every_turn_is_in_the_shared_tracker_once_and_in_order(cluster, conversations):
    with cluster.sessions() as session:
        for script in SCRIPTS:
            sender = script["sender"]
            rows = session.execute(text("SELECT type_name, data FROM events WHERE sender_id = :sender ORDER BY id"),
                                   {"sender": sender}).all()
            events = [(kind, json.loads(data)) for kind, data in rows]
            assert [e["text"] for kind, e in events if kind == "user"] == script["messages"], sender
            said = [t for reply in conversations[sender] for t in reply.texts]
            assert [e["text"] for kind, e in events if kind == "bot" and e.get("text")] == said, sender


def test_every_turn_is_recorded_once(cluster, conversations):
    ids = _patient_ids(cluster)
    with cluster.sessions() as session:
        for script in SCRIPTS:
            sender = script["sender"]
            rows = session.execute(select(ChatMessage.direction, ChatMessage.text)
                                   .where(ChatMessage.patient_id == ids[sender])
                                   .order_by(ChatMessage.created_at, ChatMessage.id)).all()
            assert [t for d, t in rows if d == "patient"] == script["messages"], sender
            said = [t for reply in conversations[sender] for t in reply.texts]
            assert Counter(t for d, t in rows if d == "assistant") == Counter(said), sender


def test_conversations_carry_on_across_instances(cluster, conversations):
    ids = _patient_ids(cluster)
    with cluster.sessions() as session:
        for script in SCRIPTS:
            sender, replies = script["sender"], conversations[script["sender"]]
            transcript = _transcript(script, replies)
            entries = session.scalars(select(JournalEntry).where(JournalEntry.patient_id == ids[sender])
                                      .order_by(JournalEntry.id)).all()
            saved = [e for e in entries if e.status == "saved"]
            expected = [("\n".join(script["saved"]), FOLLOW_UP)]
            assert [(e.text, e.follow_up_text) for e in saved] == expected, transcript
            assert "saved it to your journal" in " ".join(replies[-2].texts), transcript
            if script["crisis"]:
                # The entry the crisis interrupted is kept, with every line written before it.
                assert [e.text for e in entries if e.status == "draft"] == ["\n".join(script["draft"])], transcript
                # The screener's questions went on in order across instances, to the safety plan.
                at = script["messages"].index(CRISIS_TEXT)
                assert "Are you somewhere safe right now?" in " ".join(replies[at].texts), transcript
                assert "Here is your safety plan" in " ".join(replies[at + 4].texts), transcript
            else:
                assert len(entries) == 1, transcript


def test_one_alert_per_crisis_episode_delivered_once_per_channel(cluster, conversations):
    ids = _patient_ids(cluster)
    crisis_ids = {ids[s["sender"]] for s in SCRIPTS if s["crisis"]}

    def alerts():
        with cluster.sessions() as session:
            return session.scalars(select(CrisisAlert).where(CrisisAlert.patient_id.in_(ids.values()))).all()

    assert wait_for(lambda: {a.patient_id for a in alerts()} == crisis_ids
                    and all(a.delivery_due_at is None for a in alerts()), SETTLE_SECONDS), "alerts not all delivered"
    cluster.stop_dispatchers()  # nothing more can be sent: the counts below are final

    found = alerts()
    assert Counter(a.patient_id for a in found) == Counter(crisis_ids)
    with cluster.sessions() as session:
        deliveries = session.execute(select(AlertDelivery.alert_id, AlertDelivery.channel, AlertDelivery.recipient,
                                            AlertDelivery.revision, AlertDelivery.succeeded)).all()
    assert all(d.succeeded for d in deliveries), [d for d in deliveries if not d.succeeded]
    sent = Counter((d.alert_id, d.channel, d.recipient, d.revision) for d in deliveries)
    assert set(sent.values()) == {1}, [key for key, n in sent.items() if n > 1]
    for alert in found:
        assert alert.level == "emergency" and alert.revision == 1
        email_to = sorted(d.recipient for d in deliveries if d.alert_id == alert.id and d.channel == "email")
        assert email_to and sorted(cluster.mailbox.recipients(alert.public_id)) == email_to
        assert len(cluster.hooks.bodies(alert.public_id)) == 1
        assert {d.channel for d in deliveries if d.alert_id == alert.id} == {"email", "webhook"}
