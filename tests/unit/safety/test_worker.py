"""The screen's worker process gives the server's own verdicts, and when it cannot answer
(starting, gone, another rules version, a failed screen) the server screens the message itself."""
import asyncio
import concurrent.futures
import io
import json
import os
import signal
import sys
import time

import pytest

from bot.safety import screen
from bot.safety import worker as worker_module
from bot.safety.answers import screen_reply
from bot.safety.screen import screen_version
from bot.safety.worker import ScreenWorker, assessed_reply, recall, remember, serve

# (text, previous message, closed question asked): a crisis, a message in pieces,
# an answer after a risk message, psychedelic imagery, a plain message, broken input.
CASES = [
    ("i want to kill myself tonight", None, None),
    ("die", "i just want to", None),
    ("ive arranged it", "i cant do this anymore", "Do you have a ride home arranged?"),
    ("i died and was reborn in the light", None, None),
    ("my shoulders finally let go today", "hello", None),
    ("", None, None),
    ("caf\ufffd with \u2028 odd \x00 characters", None, None),
]


def _ready(worker, seconds=60.0):
    deadline = time.monotonic() + seconds
    while not worker.ready and time.monotonic() < deadline:
        time.sleep(0.05)
    return worker.ready


def _run(coroutine):
    """On its own thread: the session's browser fixture keeps an event loop running on this one."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _prescreen(worker, *case):
    return _run(worker.prescreen(*case))


@pytest.fixture(scope="module")
def worker():
    started = ScreenWorker(screen_version())
    started.start()
    assert _ready(started), "the screen worker did not start"
    yield started
    started.close()


@pytest.mark.parametrize("case", CASES)
def test_the_workers_answer_is_the_servers_own_and_is_what_the_component_reads(worker, case):
    assert _prescreen(worker, *case)
    expected = screen_reply(screen, *case).to_dict()
    assert recall(*case) == expected
    assert assessed_reply(screen, *case) == expected


def test_a_kept_answer_is_a_copy_and_other_inputs_are_screened_here():
    remember("a kept text 5d1", None, None, {"level": "none", "categories": [], "findings": []})
    kept = recall("a kept text 5d1", None, None)
    kept["level"] = "urgent"
    assert recall("a kept text 5d1", None, None)["level"] == "none"
    # The same text after another previous message is another input: screened here.
    assert recall("a kept text 5d1", "i want to", None) is None
    assert assessed_reply(screen, "die", "i want to")["level"] == screen_reply(screen, "die", "i want to").level


def test_many_messages_at_once_each_get_their_own_answer(worker):
    texts = [f"entry {n}: the light was warm and i felt held" for n in range(30)] + ["i want to die"]

    async def all_at_once():
        return await asyncio.gather(*(worker.prescreen(text, None, None) for text in texts))

    assert all(_run(all_at_once()))
    assert recall("i want to die", None, None)["level"] == "urgent"
    assert {recall(text, None, None)["level"] for text in texts[:-1]} == {"none"}


def test_answers_of_another_rules_version_are_not_used():
    other = ScreenWorker("not-the-servers-version")
    other.start()
    try:
        time.sleep(8)  # time enough to build the screen and say its version
        assert not other.ready
        assert not _prescreen(other, "a text for another version 77a", None, None)
        assert recall("a text for another version 77a", None, None) is None
    finally:
        other.close()


def test_a_killed_worker_is_screened_around_then_started_again(monkeypatch):
    monkeypatch.setattr(worker_module, "RESTART_SECONDS", 0.0)
    killed = ScreenWorker(screen_version())
    killed.start()
    try:
        assert _ready(killed)
        os.kill(killed._process.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while killed.ready and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not killed.ready
        # Not answered by the worker: the component screens this message itself.
        assert not _prescreen(killed, "after the kill i want to die", None, None)
        text = "after the kill i want to die"
        assert assessed_reply(screen, text)["level"] == screen(text).level
        assert screen(text).level in ("urgent", "emergency")
        assert _ready(killed), "the worker was not started again"
        assert _prescreen(killed, "after the restart i want to die", None, None)
    finally:
        killed.close()


def test_a_worker_that_cannot_start_leaves_the_screening_here():
    absent = ScreenWorker(screen_version(), command=[sys.executable, "-c", "import sys; sys.exit(3)"])
    absent.start()
    time.sleep(1)
    assert not absent.ready
    assert not _prescreen(absent, "a message while no worker runs, 3f0", None, None)
    absent.close()


def test_a_screen_error_from_the_worker_is_not_kept(monkeypatch):
    late = ScreenWorker(screen_version(), wait_seconds=5)
    future_answers = []

    def submit(text, previous, question):  # a child whose screen failed on this text
        future = concurrent.futures.Future()
        future.set_result({"id": 1, "version": screen_version(),
                           "assessment": {"level": "urgent", "categories": ["screen_error"], "findings": []}})
        future_answers.append(future)
        return future

    monkeypatch.setattr(late, "submit", submit)
    assert not _prescreen(late, "a text the worker failed on, 9b2", None, None)
    assert recall("a text the worker failed on, 9b2", None, None) is None
    assert future_answers


def test_the_child_answers_each_line_and_a_bad_line_costs_only_itself():
    requests = b"\n".join([
        json.dumps({"id": 1, "text": "i want to die", "previous": None, "question": None}).encode(),
        b"\xff\xfe not json",
        json.dumps({"id": 3}).encode(),
        json.dumps({"id": 4, "text": "the colours were bright", "previous": None, "question": None}).encode(),
    ]) + b"\n"
    out = io.BytesIO()
    assert serve(io.BytesIO(requests), out) == 0
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert lines[0] == {"ready": screen_version()}
    assert [line.get("id") for line in lines[1:]] == [1, None, 3, 4]
    assert lines[1]["assessment"]["level"] == "urgent"
    assert "error" in lines[2] and "error" in lines[3]
    assert lines[4]["assessment"]["level"] == "none"
