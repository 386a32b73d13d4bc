"""Time from a crisis message POSTed to the REST channel until the alert email is
in the inbox of a local SMTP server. Target: p95 <= 2 s.

Starts everything as `make run` does (`python -m bot serve`: Rasa, actions, web,
the alert dispatcher) on free ports over a scratch database, enrols fictional
patients, and sends one crisis message per patient (each one a new alert),
waiting for its email before the next. Reports p50, p95 and max.
"""
import email
import email.policy
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aiosmtpd.controller import Controller  # noqa: E402
from sqlalchemy import select  # noqa: E402

from bot.service.credentials import issue_chat_token  # noqa: E402
from bot.service.ports import free_port  # noqa: E402
from bot.storage.db import make_engine, make_session_factory  # noqa: E402
from bot.storage.models import Clinician, Patient  # noqa: E402

ALERTS = 60
SECRET_KEY = "bench-only-key"
CRISIS = "i want to kill myself"
EMAIL_TIMEOUT_S = 30
TARGET_P95_S = 2.0


class Inbox:
    """An SMTP server that notes when each message arrived, by the subject's text."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[float, str]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        arrived = time.monotonic()
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.arrivals.append((arrived, str(message["Subject"])))
        return "250 OK"

    def first_for(self, pseudonym: str):
        with self.lock:
            return next((t for t, subject in self.arrivals if f"patient {pseudonym}:" in subject), None)


def post(url: str, payload: dict) -> None:
    data = json.dumps(payload).encode("utf-8")
    token = issue_chat_token(SECRET_KEY, payload["sender"])
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json",
                                                               "Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=60) as reply:
        reply.read()


def enrol(database_url: str, count: int) -> list[tuple[str, str]]:
    sessions = make_session_factory(make_engine(database_url))
    with sessions.begin() as session:
        therapist = session.scalar(select(Clinician).where(Clinician.role == "therapist"))
        people = [(f"bench-alert-{n:03d}", f"P-BN{n:03d}") for n in range(count)]
        for sender, pseudonym in people:
            session.add(Patient(clinic_id=therapist.clinic_id, therapist_id=therapist.id,
                                sender_id=sender, display_name=pseudonym, pseudonym=pseudonym))
    return people


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def main() -> int:
    if not (ROOT / "models" / "current.tar.gz").exists():
        print("error: no trained model; run `make train` first")
        return 1
    inbox = Inbox()
    smtp_port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    with tempfile.TemporaryDirectory() as scratch:
        tmp = Path(scratch)
        rasa_port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{tmp / 'bench.db'}",
            "SPOOL_DIR": str(tmp / "spool"),
            "KAP_ENV_FILE": str(tmp / "absent.env"),
            "RASA_PORT": str(rasa_port),
            "ACTIONS_PORT": str(free_port()),
            "WEB_PORT": str(free_port()),
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(smtp_port),
            "SECRET_KEY": SECRET_KEY,
            "WEBHOOK_URL": "",
            "DIGEST_HOUR": "-1",
        }
        log = (tmp / "serve.log").open("w")
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve"], cwd=ROOT, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        )
        try:
            for line in process.stdout:
                log.write(line)
                if "All servers are up" in line:
                    break
                if line.startswith("error:"):
                    raise RuntimeError(line.strip())
            else:
                raise RuntimeError("the servers stopped before they were all up")
            threading.Thread(target=lambda: [log.write(x) for x in process.stdout], daemon=True).start()

            url = f"http://127.0.0.1:{rasa_port}/webhooks/rest/webhook"
            people = enrol(env["DATABASE_URL"], ALERTS)
            post(url, {"sender": "demo-jonah", "message": "hi"})  # warm-up, no alert
            latencies, missing = [], []
            for sender, pseudonym in people:
                started = time.monotonic()
                post(url, {"sender": sender, "message": CRISIS})
                deadline = started + EMAIL_TIMEOUT_S
                arrived = inbox.first_for(pseudonym)
                while arrived is None and time.monotonic() < deadline:
                    time.sleep(0.005)
                    arrived = inbox.first_for(pseudonym)
                if arrived is None:
                    missing.append(pseudonym)
                else:
                    latencies.append(arrived - started)
        finally:
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
            controller.stop()
    if not latencies:
        print(f"error: no alert email arrived ({len(missing)} crisis messages sent)")
        return 1
    result = {
        "alerts": len(people),
        "emails_received": len(latencies),
        "missing": missing,
        "p50_s": round(statistics.median(latencies), 3),
        "p95_s": round(percentile(latencies, 0.95), 3),
        "max_s": round(max(latencies), 3),
        "min_s": round(min(latencies), 3),
        "target_p95_s": TARGET_P95_S,
        "note": "crisis message POSTed to the REST channel -> alert email in a local SMTP inbox; "
                "default dispatcher settings (DISPATCHER_POLL_MS=250), SQLite",
    }
    print(f"crisis message to alert email: p50 {result['p50_s']} s, p95 {result['p95_s']} s, "
          f"max {result['max_s']} s over {len(latencies)} alerts"
          f"{f'; {len(missing)} MISSING' if missing else ''}; target p95 <= {TARGET_P95_S} s")
    (ROOT / "reports").mkdir(exist_ok=True)
    (ROOT / "reports" / "bench_alert_latency.json").write_text(json.dumps(result, indent=2) + "\n")
    return 0 if not missing and result["p95_s"] <= TARGET_P95_S else 1


if __name__ == "__main__":
    sys.exit(main())
