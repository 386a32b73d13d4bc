"""Time the patient timeline page for a patient with 10,000 journal entries.

Seeds a scratch SQLite database (the demo clinic, then 10,000 screened journal
entries for one patient, with check-ins, grounding sessions, flagged chat
messages and alerts around them), serves the app with waitress on a free
port, signs a therapist in and requests the timeline over HTTP: the first
page, a deep page, a text search and the flagged-only filter, in turn.
Reports p50 and p95 per variant and overall. Target: p95 <= 100 ms.
Writes reports/bench_timeline.json.
"""
from __future__ import annotations

import http.client
import json
import re
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select  # noqa: E402

from bot.service.cli import migrate  # noqa: E402
from bot.config.settings import load_settings  # noqa: E402
from bot.storage.db import make_engine, make_session_factory  # noqa: E402
from bot.storage.models import (  # noqa: E402
    ChatMessage, CrisisAlert, GroundingSession, JournalEntry, MoodCheckin, Patient,
    SafetyAssessment, utcnow,
)
from bot.clinic.seed import seed_demo_clinic  # noqa: E402

ENTRIES = 10_000
REQUESTS_PER_VARIANT = 60
WARMUP = 5
TARGET_P95_MS = 100
PASSWORD = "bench password, not a secret"
THERAPIST = "rowan.hale@cedargrove.example"
WORDS = ("river", "light", "mother", "quiet", "falling", "warm", "ocean", "door", "music", "forest")


def seed(database_url: str) -> int:
    """The demo clinic, then a long history for Ava; returns her patient id."""
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    with sessions.begin() as session:
        seed_demo_clinic(session, make_password=lambda: PASSWORD)
    with sessions.begin() as session:
        ava = session.scalar(select(Patient).where(Patient.sender_id == "demo-ava"))
        now = utcnow()
        entries, assessments, alerts = [], [], []
        for n in range(1, ENTRIES + 1):
            when = now - timedelta(minutes=37 * n)
            text = (f"Entry {n}: I noticed the {WORDS[n % 10]} and the {WORDS[(n * 7) % 10]} again. "
                    "Something shifted in how I hold the memory, " * (1 + n % 4))
            flagged = n % 50 == 0
            if flagged:
                text += " Some nights I wish I could sleep and not wake up."
            entries.append({"id": n, "patient_id": ava.id, "phase": "ongoing", "text": text,
                            "status": "saved", "prompt_id": "ongoing.values", "created_at": when,
                            "updated_at": when})
            finding = []
            if flagged:
                start = text.index("I wish I could sleep")
                finding = [{"rule": "si.passive_wish", "category": "suicidal_ideation", "level": "urgent",
                            "start": start, "end": start + 40, "text": text[start:start + 40],
                            "modifiers": []}]
            assessments.append({"patient_id": ava.id, "journal_entry_id": n,
                                "level": "urgent" if flagged else "none",
                                "categories": ["suicidal_ideation"] if flagged else [],
                                "findings": finding, "created_at": when})
            if flagged and n % 200 == 0:
                alerts.append({"patient_id": ava.id, "level": "urgent", "categories": ["suicidal_ideation"],
                               "status": "resolved", "stage": "therapist", "created_at": when,
                               "last_activity_at": when, "public_id": f"bench{n:010d}"})
        session.execute(insert(JournalEntry), entries)
        session.execute(insert(SafetyAssessment), assessments)
        session.execute(insert(CrisisAlert), alerts)
        session.execute(insert(MoodCheckin), [
            {"patient_id": ava.id, "mood": n % 11, "anxiety": (n * 3) % 11, "sleep": "ok",
             "created_at": now - timedelta(hours=9 * n)} for n in range(1, 2001)])
        session.execute(insert(GroundingSession), [
            {"patient_id": ava.id, "exercise_id": "box_breathing", "distress_before": 7, "distress_after": 4,
             "completed": True, "started_at": now - timedelta(hours=31 * n),
             "ended_at": now - timedelta(hours=31 * n) + timedelta(minutes=8)} for n in range(1, 501)])
        messages = [{"id": n, "patient_id": ava.id, "direction": "patient", "text": f"message {n}",
                     "created_at": now - timedelta(minutes=53 * n)} for n in range(1, 5001)]
        session.execute(insert(ChatMessage), messages)
        session.execute(insert(SafetyAssessment), [
            {"patient_id": ava.id, "chat_message_id": m["id"], "level": "review" if m["id"] % 100 == 0 else "none",
             "categories": [], "findings": [], "created_at": m["created_at"]} for m in messages])
        patient_id = ava.id
    engine.dispose()
    return patient_id


def serve(database_url: str):
    """The app under waitress on a free port, in a daemon thread."""
    from waitress.server import create_server

    from journal_web import create_app

    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False})
    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    threading.Thread(target=server.run, daemon=True).start()
    return server, server.effective_port


class Browser:
    """One keep-alive HTTP connection with a session cookie."""

    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookie = ""

    def request(self, method: str, path: str, body: str = ""):
        headers = {"Cookie": self.cookie} if self.cookie else {}
        if body:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.conn.request(method, path, body=body or None, headers=headers)
        reply = self.conn.getresponse()
        data = reply.read()
        cookie = reply.getheader("Set-Cookie")
        if cookie:
            self.cookie = cookie.split(";", 1)[0]
        return reply.status, data


def main() -> int:
    with tempfile.TemporaryDirectory() as scratch:
        settings = load_settings(environ={"DATABASE_URL": f"sqlite:///{scratch}/bench.db"},
                                 env_file=Path(scratch) / "absent.env")
        migrate(settings)
        started = time.monotonic()
        patient_id = seed(settings.database_url)
        print(f"seeded {ENTRIES} journal entries (plus check-ins, grounding, chat, alerts) "
              f"in {time.monotonic() - started:.1f} s")
        server, port = serve(settings.database_url)
        browser = Browser(port)
        try:
            status, _ = browser.request("POST", "/login", urlencode({"email": THERAPIST, "password": PASSWORD}))
            if status != 302:
                print(f"error: signing in failed with HTTP {status}")
                return 1
            base = f"/patients/{patient_id}"
            variants = {
                "first page": base,
                "page 300": f"{base}?page=300",
                "search": f"{base}?q=shifted+in+how&kind=journal&page=2",
                "flagged only": f"{base}?flagged=1",
            }
            timings: dict[str, list[float]] = {name: [] for name in variants}
            for name, path in variants.items():
                for _ in range(WARMUP):
                    browser.request("GET", path)
            for _ in range(REQUESTS_PER_VARIANT):
                for name, path in variants.items():
                    t0 = time.perf_counter()
                    status, body = browser.request("GET", path)
                    timings[name].append((time.perf_counter() - t0) * 1000)
                    if status != 200 or b'class="item' not in body:
                        print(f"error: {name} answered HTTP {status} without timeline items")
                        return 1
            items = len(re.findall(rb'<article class="item', body))
        finally:
            browser.conn.close()
            time.sleep(0.2)  # let waitress finish with the connection before it closes
            server.close()
    result = {"entries": ENTRIES, "requests": REQUESTS_PER_VARIANT * len(variants),
              "target_p95_ms": TARGET_P95_MS, "items_per_page": items, "variants": {}}
    everything = [t for ts in timings.values() for t in ts]
    for name, ts in list(timings.items()) + [("all", everything)]:
        p50, p95 = percentile(ts, 50), percentile(ts, 95)
        if name == "all":
            result.update(p50_ms=p50, p95_ms=p95)
        else:
            result["variants"][name] = {"p50_ms": p50, "p95_ms": p95}
        print(f"  {name:<13} p50 {p50:6.1f} ms   p95 {p95:6.1f} ms")
    ok = result["p95_ms"] <= TARGET_P95_MS
    print(f"timeline with {ENTRIES} entries: p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms "
          f"over {result['requests']} requests; target p95 <= {TARGET_P95_MS} ms: {'met' if ok else 'MISSED'}")
    (ROOT / "reports").mkdir(exist_ok=True)
    (ROOT / "reports" / "bench_timeline.json").write_text(json.dumps(result, indent=2) + "\n")
    return 0 if ok else 1


def percentile(values: list[float], pct: int) -> float:
    """The pct-th percentile (nearest rank), rounded to 0.1 ms."""
    ordered = sorted(values)
    rank = max(1, round(pct / 100 * len(ordered)))
    return round(ordered[rank - 1], 1)


if __name__ == "__main__":
    sys.exit(main())
