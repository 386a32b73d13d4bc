"""`bench/bench_chat.py --quick` runs end to end: both bots answer, nothing is lost, the report is written.

About 45 s once the bare bot's model is cached under var/bench/ (building it the
first time, with `rasa init`, takes a few minutes more).
"""
import json
import subprocess
import sys

import pytest

from tests.servers import ROOT

pytestmark = pytest.mark.e2e


def test_quick_bench_chat_writes_its_report(trained_model, tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_chat.py"), "--quick", "--out", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    report = json.loads((tmp_path / "bench_chat_quick.json").read_text(encoding="utf-8"))
    assert report["lost_at_most"] == {"lost_turns": 0, "lost_entries": 0, "lost_alerts": 0, "request_errors": 0}
    assert report["fifty_patients"]["ours"]["throughput_per_s"] > 0
    assert report["fifty_patients"]["bare"]["throughput_per_s"] > 0
    assert "| one patient p95 (ms)" in (tmp_path / "bench_chat_quick.md").read_text(encoding="utf-8")
