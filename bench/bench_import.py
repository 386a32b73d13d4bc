"""Import 200 patients with their schedule from CSV (check, then write). Target: under 10 s.

Each run uses a fresh migrated database with one clinic and two therapists;
the median of 3 runs is reported in reports/bench_import.json.
"""
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.clinic.csv_import import apply_import, plan_import  # noqa: E402
from bot.clinic.setup import ClinicSettings, setup_clinic  # noqa: E402
from bot.clinic.staff import invite_clinician  # noqa: E402
from bot.config.settings import load_settings  # noqa: E402
from bot.service.cli import migrate  # noqa: E402
from bot.storage.db import make_engine, make_session_factory  # noqa: E402

PATIENTS = 200
RUNS = 3
TARGET_S = 10.0


def csv_text() -> bytes:
    """200 fictional patients, each with an infusion and an integration session."""
    lines = ["code,display_name,therapist_email,infusion_at,infusion_route,integration_at"]
    for n in range(PATIENTS):
        therapist = "tess@bench.example" if n % 2 else "kit@bench.example"
        day = 1 + n % 28
        lines.append(f"B-{n:04d},Patient {n},{therapist},2027-01-{day:02d} 09:30,IV,2027-02-{day:02d} 15:00")
    return ("\n".join(lines) + "\n").encode()


def one_run(tmp: Path) -> float:
    settings = load_settings(environ={"DATABASE_URL": f"sqlite:///{tmp / 'bench.db'}"}, env_file=tmp / "none")
    migrate(settings)
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    with sessions.begin() as session:
        clinic, link = setup_clinic(session, ClinicSettings("Bench", "UTC", "en", "us"), "a@bench.example", "A", 1)
        for email in ("tess@bench.example", "kit@bench.example"):
            invite_clinician(session, clinic.id, email, email, "therapist", None, 1)
        clinic_id = clinic.id
    data = csv_text()
    started = time.perf_counter()
    with sessions.begin() as session:
        from bot.storage.models import Clinic

        clinic = session.get(Clinic, clinic_id)
        plan = plan_import(session, clinic, data)
        assert plan.ok, plan.problems[:3]
        apply_import(session, clinic, plan, None)
    elapsed = time.perf_counter() - started
    engine.dispose()
    return elapsed


def main() -> int:
    times = []
    for run in range(RUNS):
        with tempfile.TemporaryDirectory() as tmp:
            times.append(one_run(Path(tmp)))
    median = statistics.median(times)
    result = {"patients": PATIENTS, "runs_s": [round(t, 3) for t in times], "median_s": round(median, 3),
              "target_s": TARGET_S, "met": median < TARGET_S}
    out = ROOT / "reports" / "bench_import.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"  import of {PATIENTS} patients: median {median:.2f} s over {RUNS} runs (target < {TARGET_S:.0f} s)")
    return 0 if result["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
