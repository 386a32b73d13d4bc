"""Time from `python -m bot serve` to every server answering (a warm start:
installed, trained, migrated and seeded). Target: under 30 s.

Runs on free ports against a scratch database, several times; reports the median.
"""
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RUNS = 3

from bot.service.ports import free_port  # noqa: E402


def one_start(tmp: Path) -> float:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp / 'bench.db'}",
        "SPOOL_DIR": str(tmp / "spool"),
        "KAP_ENV_FILE": str(tmp / "absent.env"),
        "RASA_PORT": str(free_port()),
        "ACTIONS_PORT": str(free_port()),
        "WEB_PORT": str(free_port()),
    }
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve"], cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    try:
        for line in process.stdout:
            if "All servers are up" in line:
                return time.monotonic() - started
            if line.startswith("error:"):
                raise RuntimeError(line.strip())
        raise RuntimeError("the servers stopped before they were all up")
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def main() -> int:
    if not (ROOT / "models" / "current.tar.gz").exists():
        print("error: no trained model; run `make train` first")
        return 1
    with tempfile.TemporaryDirectory() as scratch:
        tmp = Path(scratch)
        subprocess.run([sys.executable, "-m", "bot", "migrate"], cwd=ROOT, check=True,
                       env={**os.environ, "DATABASE_URL": f"sqlite:///{tmp / 'bench.db'}"})
        times = [one_start(tmp) for _ in range(RUNS)]
    result = {"runs": RUNS, "median_s": round(statistics.median(times), 1),
              "all_s": [round(t, 1) for t in times], "target_s": 30}
    print(f"warm start to all servers up: median {result['median_s']} s over {RUNS} runs "
          f"({', '.join(map(str, result['all_s']))}); target < 30 s")
    (ROOT / "reports").mkdir(exist_ok=True)
    (ROOT / "reports" / "bench_startup.json").write_text(json.dumps(result, indent=2))
    return 0 if result["median_s"] < 30 else 1


if __name__ == "__main__":
    sys.exit(main())
