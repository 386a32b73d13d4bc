"""The screen in a child process, so that the Rasa server's one thread is free for other patients.

Rasa answers every patient on one thread, and under load the screen takes about
a tenth of that thread's time. `ScreenWorker` runs the same screen (built from
the same rule files and reader, so it gives the same verdicts) in one child
process, `python -m bot.safety.worker`, spoken to over its stdin and stdout, one
JSON line per message. The patient channel asks it for each message's
assessment before Rasa reads the message (`prescreen`) and leaves the answer
with `remember`; the NLU component and the channel's fail-safe check then take
it with `assessed_reply`.

The worker only ever saves time, it never decides alone:
- whatever it has not answered within `wait_seconds` (starting, busy, gone) is
  screened in the server process, as before;
- an answer counts only if the worker's rules version is the server's;
- an answer that says `screen_error` is not kept: the server screens again.

A worker that dies is started again on a later message, at most once every
RESTART_SECONDS. It ends when its stdin closes, so it never outlives the server,
not even one killed with SIGKILL.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import copy
import itertools
import json
import logging
import queue
import subprocess
import sys
import threading
import time
from collections import OrderedDict
from typing import IO, Callable, Dict, Optional, Sequence, Tuple

from bot.safety.answers import screen_reply
from bot.safety.model import Assessment

logger = logging.getLogger(__name__)

WAIT_SECONDS = 1.0
RESTART_SECONDS = 30.0
# Beyond this many unanswered requests the worker is behind: messages are screened here.
MAX_PENDING = 64
REMEMBERED = 256

Key = Tuple[str, Optional[str], Optional[str]]
_answers: "OrderedDict[Key, dict]" = OrderedDict()
_answers_lock = threading.Lock()


def remember(text: str, previous: Optional[str], question: Optional[str], assessment: dict) -> None:
    """Keep the assessment of `text` read after `previous` as an answer to `question`."""
    with _answers_lock:
        _answers[(text, previous, question)] = assessment
        _answers.move_to_end((text, previous, question))
        while len(_answers) > REMEMBERED:
            _answers.popitem(last=False)


def recall(text: str, previous: Optional[str], question: Optional[str]) -> Optional[dict]:
    """A copy of the assessment kept for exactly these inputs, or None."""
    with _answers_lock:
        known = _answers.get((text, previous, question))
    return copy.deepcopy(known) if known is not None else None


def assessed_reply(screen: Callable[[str], Assessment], text: str, previous: Optional[str] = None,
                   question: Optional[str] = None) -> dict:
    """`screen_reply(...)` as a dict: the worker's answer when one was kept, else screened here."""
    known = recall(text, previous, question)
    return known if known is not None else screen_reply(screen, text, previous, question).to_dict()


class ScreenWorker:
    """One child process that screens messages; see the module docstring."""

    def __init__(self, version: Optional[str], command: Optional[Sequence[str]] = None,
                 wait_seconds: float = WAIT_SECONDS) -> None:
        """`version` is the server's own rules version: answers of another version are not used."""
        self.version = version
        self.wait_seconds = wait_seconds
        self._command = list(command or [sys.executable, "-m", "bot.safety.worker"])
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._pending: Dict[int, concurrent.futures.Future] = {}
        self._process: Optional[subprocess.Popen] = None
        self._outbox: "Optional[queue.Queue[Optional[bytes]]]" = None
        self._ready = False
        self._started_at = float("-inf")
        self._closed = False

    @property
    def ready(self) -> bool:
        """True once the child has built its screen and said which rules it runs."""
        return self._ready

    def start(self) -> None:
        """Start the child now (it takes a few seconds to build its screen); messages meanwhile are screened here."""
        with self._lock:
            self._start_locked()

    def _start_locked(self) -> None:
        if self._closed or self.version is None:
            return
        self._started_at = time.monotonic()
        try:
            process = subprocess.Popen(self._command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        except OSError as exc:
            logger.error("the screen worker could not be started (%s); messages are screened in this process", exc)
            return
        outbox: "queue.Queue[Optional[bytes]]" = queue.Queue()
        self._process, self._outbox, self._ready = process, outbox, False
        threading.Thread(target=self._write, args=(process, outbox), name="screen-worker-in", daemon=True).start()
        threading.Thread(target=self._read, args=(process, outbox), name="screen-worker-out", daemon=True).start()

    def submit(self, text: str, previous: Optional[str], question: Optional[str]) -> Optional[concurrent.futures.Future]:
        """Ask the child for this message's assessment; None if it cannot take it now."""
        with self._lock:
            if not self._ready:
                alive = self._process is not None and self._process.poll() is None
                if not alive and time.monotonic() - self._started_at >= RESTART_SECONDS:
                    self._start_locked()
                return None
            if len(self._pending) >= MAX_PENDING:
                return None
            number = next(self._ids)
            future: concurrent.futures.Future = concurrent.futures.Future()
            self._pending[number] = future
            request = {"id": number, "text": text, "previous": previous, "question": question}
            self._outbox.put(json.dumps(request).encode("utf-8") + b"\n")
        return future

    async def prescreen(self, text: str, previous: Optional[str], question: Optional[str]) -> bool:
        """Have the child screen the message and `remember` its answer; True if it did, in time."""
        future = self.submit(text, previous, question)
        if future is None:
            return False
        try:
            answer = await asyncio.wait_for(asyncio.wrap_future(future), self.wait_seconds)
        except Exception:  # late, or the worker is gone: the server screens the message itself
            return False
        if answer.get("version") != self.version:
            return False
        assessment = answer.get("assessment")
        if not isinstance(assessment, dict) or "screen_error" in (assessment.get("categories") or ()):
            return False
        remember(text, previous, question, assessment)
        return True

    def close(self) -> None:
        """Stop the child (closing its stdin ends it) and forget what it had not answered."""
        with self._lock:
            self._closed, self._ready = True, False
            process, outbox = self._process, self._outbox
            self._process = None
        if outbox is not None:
            outbox.put(None)
        if process is not None:
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
        self._fail_pending()

    def _write(self, process: subprocess.Popen, outbox: "queue.Queue[Optional[bytes]]") -> None:
        """Send requests in order; on the thread of its own, so a slow child never blocks the server."""
        try:
            while True:
                line = outbox.get()
                if line is None:
                    break
                process.stdin.write(line)
                process.stdin.flush()
        except (OSError, ValueError):
            pass  # the child is gone; `_read` sees it and fails what it had not answered
        finally:
            try:
                process.stdin.close()
            except (OSError, ValueError):
                pass

    def _read(self, process: subprocess.Popen, outbox: "queue.Queue[Optional[bytes]]") -> None:
        """Hand each answer to whoever asked for it; when the child ends, fail the rest."""
        for raw in _lines(process.stdout):
            try:
                answer = json.loads(raw)
            except ValueError:
                continue
            if not isinstance(answer, dict):
                continue
            if "ready" in answer:
                if answer["ready"] == self.version:
                    with self._lock:
                        self._ready = self._process is process
                else:
                    logger.error("the screen worker runs rules %r, this server %r; it is not used",
                                 answer["ready"], self.version)
                continue
            with self._lock:
                future = self._pending.pop(answer.get("id"), None)
            if future is not None:
                try:
                    future.set_result(answer)
                except concurrent.futures.InvalidStateError:
                    pass  # given up on (cancelled) as the answer came
        process.wait()
        outbox.put(None)
        with self._lock:
            current = self._process is process
            if current:
                self._ready, self._process = False, None
        if current and not self._closed:
            logger.error("the screen worker stopped (exit %s); messages are screened in this process",
                         process.returncode)
        self._fail_pending()

    def _fail_pending(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(ConnectionError("the screen worker stopped"))


def _lines(stream: IO[bytes]):
    """The stream's lines until it ends (iterating a pipe directly would read ahead in blocks)."""
    while True:
        line = stream.readline()
        if not line:
            return
        yield line


def serve(stdin: IO[bytes], stdout: IO[bytes]) -> int:
    """The child: build the screen, say its version, then answer one line per request until stdin ends."""
    from bot.safety import screen
    from bot.safety.screen import screen_version

    version = screen_version()
    if version is None:
        return 1
    stdout.write(json.dumps({"ready": version}).encode("utf-8") + b"\n")
    stdout.flush()
    for raw in _lines(stdin):
        request = None
        try:
            request = json.loads(raw)
            answer = {"id": request["id"], "version": version,
                      "assessment": screen_reply(screen, request["text"], request.get("previous"),
                                                 request.get("question")).to_dict()}
        except Exception as exc:  # a bad request is answered, never fatal
            answer = {"id": request.get("id") if isinstance(request, dict) else None, "error": type(exc).__name__}
        stdout.write(json.dumps(answer).encode("utf-8") + b"\n")
        stdout.flush()
    return 0


def main() -> int:
    """`python -m bot.safety.worker`: the child process of a ScreenWorker."""
    from bot.config.library_warnings import silence_library_deprecations

    silence_library_deprecations()
    logging.basicConfig(level=logging.WARNING, format="screen worker: %(levelname)s %(message)s")
    answers = sys.stdout.buffer
    sys.stdout = sys.stderr  # what a library prints must not mix with the answers
    try:
        return serve(sys.stdin.buffer, answers)
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
