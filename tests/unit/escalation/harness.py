"""What alert tests run against: a real SMTP server (aiosmtpd) and a real HTTP
endpoint, each on a free port on 127.0.0.1 and keeping everything they receive;
a controllable clock; and the dispatcher started as its own process."""
from __future__ import annotations

import asyncio
import email
import email.policy
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, Optional

from aiosmtpd.controller import Controller

from tests.helpers import free_port

ROOT = Path(__file__).resolve().parents[3]


def wait_until(predicate: Callable[[], object], timeout: float = 30.0, interval: float = 0.05):
    """Poll until `predicate()` is truthy and return its last value (a bound, not an assertion)."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = predicate()
    return value


@dataclass
class Mail:
    """One message as the SMTP server received it."""

    message: email.message.EmailMessage
    rcpt_tos: list
    received_monotonic: float


class Mailbox:
    """An SMTP server that accepts everything. With `hold_first`, the first message
    is kept "in flight": the server has it but does not answer until `release()`."""

    def __init__(self, port: Optional[int] = None, hold_first: bool = False, **smtp_options) -> None:
        self.port = port or free_port()
        self.smtp_options = smtp_options  # e.g. tls_context, require_starttls, authenticator
        self.mails: list[Mail] = []
        self.hold_first = hold_first
        self.holding = threading.Event()
        self._release = threading.Event()
        self._lock = threading.Lock()
        self._controller: Optional[Controller] = None

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            hold = self.hold_first and not self.holding.is_set()
            self.mails.append(Mail(message, list(envelope.rcpt_tos), time.monotonic()))
        if hold:
            self.holding.set()
            while not self._release.is_set():
                await asyncio.sleep(0.02)
        return "250 Message accepted for delivery"

    def start(self) -> "Mailbox":
        """Listen on the port."""
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port, **self.smtp_options)
        self._controller.start()
        return self

    def stop(self) -> None:
        """Stop listening (refused connections from now on)."""
        self._release.set()
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def release(self) -> None:
        """Let a held message be answered."""
        self._release.set()

    def messages(self, alert_id: Optional[str] = None) -> list[email.message.EmailMessage]:
        """Messages received, optionally only those of one alert."""
        with self._lock:
            found = [m.message for m in self.mails]
        if alert_id is None:
            return found
        return [m for m in found if m["X-KAP-Alert-ID"] == alert_id]

    def recipients(self, alert_id: str) -> list[str]:
        """Addresses that received a message of `alert_id`, in order."""
        return [str(m["To"]) for m in self.messages(alert_id)]


@dataclass
class Call:
    """One POST the webhook receiver got."""

    headers: object  # case-insensitive, as http.server parsed them
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body.decode("utf-8"))


class HookReceiver:
    """An HTTP server that records POSTs; `fail_next` answers that many with 500."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.fail_next = 0
        self.failed = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server naming)
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                if len(body) < length:
                    return  # the sender died mid-request: a torn request was never delivered
                if receiver.fail_next > 0:
                    receiver.fail_next -= 1
                    receiver.failed += 1
                    self.send_response(500)
                    self.end_headers()
                    return
                receiver.calls.append(Call(self.headers, body))
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks/kap"

    def start(self) -> "HookReceiver":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def bodies(self, alert_id: Optional[str] = None) -> list[dict]:
        """Decoded bodies, optionally only those of one alert."""
        found = [c.json() for c in list(self.calls)]
        return found if alert_id is None else [b for b in found if b["alert"]["id"] == alert_id]


class Clock:
    """A controllable clock for the dispatcher."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def set(self, moment: datetime) -> None:
        self.now = moment

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


def start_dispatcher(settings, log_dir: Path, name: str, secret_key: str, **env: str) -> subprocess.Popen:
    """`python -m bot.escalation.dispatcher` as its own process, as honcho runs it,
    with the channels of `settings`, fast polling and short leases and retries."""
    environ = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "KAP_ENV_FILE": str(log_dir / "absent.env"),
        "SMTP_HOST": settings.smtp_host,
        "SMTP_PORT": str(settings.smtp_port),
        "SMTP_SENDER": settings.smtp_sender,
        "WEBHOOK_URL": settings.webhook_url,
        "WEBHOOK_SECRET": settings.webhook_secret,
        "PUBLIC_BASE_URL": settings.public_base_url,
        "SECRET_KEY": secret_key,
        "DISPATCHER_POLL_MS": "50",
        "DISPATCHER_LEASE_SECONDS": "2",
        "DELIVERY_BACKOFF_BASE_MS": "100",
        "DELIVERY_BACKOFF_MAX_SECONDS": "1",
        "DIGEST_HOUR": "-1",
        **env,
    }
    log = (log_dir / f"dispatcher-{name}.log").open("w")
    return subprocess.Popen([sys.executable, "-m", "bot.escalation.dispatcher"], cwd=ROOT,
                            env=environ, stdout=log, stderr=subprocess.STDOUT)


def stop_process(process: subprocess.Popen) -> Optional[int]:
    """SIGTERM and wait; the exit code."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(30)
    return process.returncode
