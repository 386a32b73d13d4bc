"""Writing spooled conversation turns to the database: pooled SQLite connections against
a new connection (and its PRAGMAs) per record, as SQLAlchemy 1.4 does for a SQLite file.

Both run in this process over the same kind of database; 300 turns of enrolled
patients per run, median of 3 runs each, interleaved. Results in reports/bench_spool.json.
"""
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.clinic.seed import seed_demo_clinic  # noqa: E402
from bot.config.settings import load_settings  # noqa: E402
from bot.service.cli import migrate  # noqa: E402
from bot.service.spool import Spool, SpoolDrainer  # noqa: E402
from bot.service.turns import record_turn, turn_record  # noqa: E402
from bot.storage.db import make_engine, make_session_factory  # noqa: E402

TURNS = 300
RUNS = 3


def one_run(pooled: bool) -> float:
    """Seconds to write TURNS spooled turns."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        settings = load_settings(environ={"DATABASE_URL": f"sqlite:///{tmp / 'b.db'}"}, env_file=tmp / "none")
        migrate(settings)
        engine = make_engine(settings.database_url, pooled=pooled)
        sessions = make_session_factory(engine)
        with sessions.begin() as session:
            seed_demo_clinic(session, make_password=lambda: "bench-only")

        def handle(record: dict) -> None:
            with sessions.begin() as session:
                record_turn(session, record)

        spool = Spool(tmp / "turns")
        for n in range(TURNS):
            sender = "demo-ava" if n % 2 else "demo-jonah"
            spool.append(turn_record(sender, "patient", f"an ordinary message {n}", uuid.uuid4().hex,
                                     timestamp=time.time(), intent="journal_text",
                                     safety={"level": "none", "categories": [], "findings": []}))
        drainer = SpoolDrainer(spool, handle)
        started = time.perf_counter()
        assert drainer.drain_once() == TURNS
        elapsed = time.perf_counter() - started
        engine.dispose()
        return elapsed


def main() -> int:
    pooled, unpooled = [], []
    for _ in range(RUNS):
        unpooled.append(one_run(False))
        pooled.append(one_run(True))
    result = {"turns": TURNS, "pooled_median_s": round(statistics.median(pooled), 3),
              "connection_per_record_median_s": round(statistics.median(unpooled), 3)}
    result["pooled_per_turn_ms"] = round(result["pooled_median_s"] / TURNS * 1000, 2)
    result["connection_per_record_per_turn_ms"] = round(result["connection_per_record_median_s"] / TURNS * 1000, 2)
    result["speed_up"] = round(result["connection_per_record_median_s"] / result["pooled_median_s"], 2)
    out = ROOT / "reports" / "bench_spool.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    for name, value in result.items():
        print(f"  {name:<36} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
