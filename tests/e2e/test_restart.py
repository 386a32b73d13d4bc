"""Conversations survive a crash: Rasa is killed (SIGKILL) mid-form and restarted,
and the patient carries on where they were, in the journaling form and in the
C-SSRS questions. The conversation is kept in the SQL tracker store on DATABASE_URL."""
import subprocess

import pytest
from sqlalchemy import select

from bot.clinic.seed import seed_demo_clinic
from bot.service.cli import migrate, write_runtime_endpoints
from bot.storage.db import make_engine, make_session_factory
from bot.storage.models import JournalEntry, Patient
from tests.helpers import TEST_PASSWORD, free_port, make_settings
from tests.servers import (
    RASA, ROOT, TEST_SECRET_KEY, _wait_until_up, chat_token, post_json, rasa_command, server_env, wait_for,
)

pytestmark = pytest.mark.e2e


class Restartable:
    """An action server and a Rasa server that a test can kill and start again."""

    def __init__(self, model, tmp):
        self.rasa_port, actions_port = free_port(), free_port()
        self.settings = make_settings(tmp, RASA_PORT=str(self.rasa_port), ACTIONS_PORT=str(actions_port),
                                      SECRET_KEY=TEST_SECRET_KEY)
        migrate(self.settings)
        self.sessions = make_session_factory(make_engine(self.settings.database_url))
        with self.sessions.begin() as session:
            seed_demo_clinic(session, make_password=lambda: TEST_PASSWORD)
        self.env = server_env(self.settings, tmp)
        self.logs = tmp / "logs"
        self.logs.mkdir()
        self.command = rasa_command(model, self.rasa_port, write_runtime_endpoints(self.settings, tmp / "e.yml"))
        self.actions = self._start("actions", [str(RASA), "run", "actions", "--actions", "actions",
                                               "-p", str(actions_port)], f"http://127.0.0.1:{actions_port}/health")
        self.rasa = None
        self.starts = 0
        self.start_rasa()

    def _start(self, name, command, health):
        process = subprocess.Popen(command, cwd=ROOT, env=self.env, stderr=subprocess.STDOUT,
                                   stdout=(self.logs / f"{name}-{getattr(self, 'starts', 0)}.log").open("w"))
        _wait_until_up(health, [process], self.logs)
        return process

    def start_rasa(self):
        self.starts += 1
        self.rasa = self._start("rasa", self.command, f"http://127.0.0.1:{self.rasa_port}/webhooks/rest/")

    def kill_rasa(self):
        self.rasa.kill()  # SIGKILL: no shutdown hook runs
        self.rasa.wait(30)

    def say(self, sender, text):
        replies = post_json(f"http://127.0.0.1:{self.rasa_port}/webhooks/rest/webhook",
                            {"sender": sender, "message": text}, token=chat_token(sender))
        return " ".join(reply.get("text") or "" for reply in replies)

    def stop(self):
        for process in (self.rasa, self.actions):
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture(scope="module")
def restartable(trained_model, tmp_path_factory):
    servers = Restartable(trained_model, tmp_path_factory.mktemp("restart"))
    yield servers
    servers.stop()


def test_journaling_carries_on_after_rasa_is_killed_and_restarted(restartable):
    sender = "demo-jonah"
    assert restartable.say(sender, "i want to journal").strip()
    restartable.say(sender, "The first thing I noticed was the colour blue.")
    restartable.kill_rasa()
    restartable.start_rasa()
    restartable.say(sender, "Then a feeling of my grandmother's kitchen.")
    restartable.say(sender, "done")
    assert "saved" in restartable.say(sender, "skip").lower()

    def saved():
        with restartable.sessions() as session:
            patient_id = session.scalar(select(Patient.id).where(Patient.sender_id == sender))
            return session.scalar(select(JournalEntry).where(JournalEntry.patient_id == patient_id,
                                                             JournalEntry.status == "saved"))
    entry = wait_for(saved)
    assert entry is not None
    assert "colour blue" in entry.text and "grandmother's kitchen" in entry.text


def test_the_cssrs_questions_carry_on_after_rasa_is_killed_and_restarted(restartable):
    sender = "demo-ava"
    opened = restartable.say(sender, "i want to kil myself")
    assert "988" in opened
    first = opened if "wished you were dead" in opened else restartable.say(sender, "yes")
    assert "wished you were dead" in first
    assert "actual thoughts of killing yourself" in restartable.say(sender, "yes")
    restartable.kill_rasa()
    restartable.start_rasa()
    # A "no" to Q2 skips Q3-Q5: the next question is Q6, asked by the restarted server.
    assert "Have you ever done anything" in restartable.say(sender, "no")


def test_the_screen_worker_ends_with_a_killed_server_and_a_new_one_starts_with_it(restartable):
    def workers(parent):
        found = subprocess.run(["pgrep", "-P", str(parent), "-f", "bot.safety.worker"],
                               capture_output=True, text=True).stdout.split()
        return [int(pid) for pid in found]

    before = workers(restartable.rasa.pid)
    assert len(before) == 1
    restartable.kill_rasa()  # SIGKILL: the worker's stdin closes, and it ends
    assert wait_for(lambda: not any(_running(pid) for pid in before), timeout=30)
    restartable.start_rasa()
    assert len(workers(restartable.rasa.pid)) == 1
    assert "988" in restartable.say("demo-jonah", "i want to die")


def _running(pid):
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
