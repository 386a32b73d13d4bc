"""Benchmark the safety screen: load time and per-message latency on one core.

Run: python bench/bench_safety.py
Targets: the rules alone at a median <= 1 ms per typical message (60-150
chars); rules and the learned reader together <= 6 ms; p99 <= 5 ms for
1,000-character messages with the rules alone; load <= 5 s with both. The load is also
measured for the rules alone, in the same minute, and the learned reader's own load is timed
within it. The learned reader's sentence encoder reads only messages whose n-gram score is
high: its cost is reported apart, as
the median over the typical messages it read, with the memory a fresh process holds after loading
both readers. Latency is reported as wall-clock and
as CPU time; the exit status follows CPU time (and wall-clock for the load),
because on a shared machine the wall-clock p99 measures the neighbours.
The screen builds each group of patterns' Matcher on first use, so latency is
timed on a warm screen, and the first reading of 1,000-character messages by a
fresh screen is reported apart.
Writes reports/bench_safety.json.
"""
import gc
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

TARGETS = {"typical_median_ms": 1.0, "both_typical_median_ms": 6.0, "long_p99_ms": 5.0, "load_s": 5.0}

TYPICAL = [
    "had my third infusion today, feeling calm and a bit floaty, going to rest now",
    "the session brought up a lot about my dad. i cried but it felt like a release",
    "slept badly, vivid dreams, a little nauseous this morning but ok after breakfast",
    "i keep coming back to the image of the ocean from the journey, it felt like home",
    "can we move my integration session to thursday? work is chaotic this week",
    "i noticed i was kinder to myself at work today, small thing but it matters",
    "honestly i just want to die, nothing has changed since the last infusion",
    "my chest feels tight and my bp was 185/112 when i checked at home",
    "i felt myself dissolve into the void and come back, strangely peaceful",
    "i used to cut, not for years, but the urge came back a little today",
    "my brother attempted suicide last year and the session brought it all back",
    "took an extra troche last night because i couldn't sleep, is that bad",
    "i'm not suicidal, just exhausted and a bit flat after the dose",
    "the traffic on the way home was killing me but the session was good",
    "what should i write about in my journal before the next session?",
    "everyone would be better off without me, i really believe that tonight",
    "today i finally told my sister about the sessions. she listened, didn't judge, and asked how she could help me",
    "i've been waking up at 4am again and my mind races about work; the breathing exercise helps a bit but not every night",
    "during the journey i saw my grandmother's garden and felt held. since then i've been calmer with the kids at bedtime",
    "the dizziness passed after an hour but my heart is still racing and it's been four hours since the infusion ended",
]

SENTENCES = [
    "I walked to the park after breakfast and sat by the pond for a while.",
    "The session stirred up memories of my grandmother's kitchen and the smell of bread.",
    "My partner asked how I was and I didn't really know what to say.",
    "There was a moment in the journey where everything went quiet and bright.",
    "I have been trying the box breathing before bed and it helps a little.",
    "Work was busy, too many meetings, but I left on time for once.",
    "I noticed my shoulders dropping when I stopped checking my phone.",
    "Some of the old shame came up again when I thought about school.",
    "I want to bring this to my next integration session with my therapist.",
    "The dog needed a long walk so we went the long way round the fields.",
    "Honestly some days I don't see the point of any of it.",
    "My chest felt warm and open during the music, like something loosened.",
    "I keep thinking everyone would be better off without me.",
    "I'm not suicidal, I just feel heavy and slow today.",
]


def _long_messages(count: int, rng: random.Random) -> list:
    messages = []
    for _ in range(count):
        text = ""
        while len(text) < 1000:
            text += rng.choice(SENTENCES) + " "
        messages.append(text[:1000])
    return messages


def _pin_to_one_core() -> str:
    try:
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
        return "pinned to one core"
    except (AttributeError, OSError):
        return "not pinned (sched_setaffinity unavailable)"


def _percentile(values: list, q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _time_calls(screen, messages: list, rounds: int) -> tuple:
    """(wall-clock ms, CPU ms) per call; CPU time is what the screen costs on a shared machine."""
    wall, cpu = [], []
    gc.collect()
    for _ in range(rounds):
        for message in messages:
            start, start_cpu = time.perf_counter(), time.thread_time()
            screen(message)
            cpu.append((time.thread_time() - start_cpu) * 1000)
            wall.append((time.perf_counter() - start) * 1000)
    return wall, cpu


LOAD_CODE = """
import json, sys, time
sys.path.insert(0, {root!r})
start = time.perf_counter()
from bot.safety import build_screen
from bot.safety._startup import import_spacy
import_spacy()
from bot.safety.components.context import import_context
import_context()
imported = time.perf_counter()
reader_s = []
if {reader!r}:
    import bot.safety.learned.model as learned
    _load_reader = learned.load_reader
    def _timed_load_reader(*args, **kwargs):
        began = time.perf_counter()
        loaded = _load_reader(*args, **kwargs)
        reader_s.append(time.perf_counter() - began)
        return loaded
    learned.load_reader = _timed_load_reader
screen = build_screen(reader={reader!r})
screen("warm up")
done = time.perf_counter()
import resource
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"cold_s": done - start, "imports_s": imported - start, "build_s": done - imported, "rss_mb": rss,
                  "reader_s": sum(reader_s)}}))
"""


def measure_load(runs: int = 5) -> dict:
    """Medians over fresh interpreters: cold start (imports + build), build_screen() and the learned reader's
    own load within it, with both readers; and the cold start of the rules alone, in interleaved runs (the
    two cold starts differ by less than their noise; the memory the reader adds shows clearly)."""
    both, rules = [], []
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL=os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3"))
    for _ in range(runs):
        for reader, results in ((True, both), (False, rules)):
            out = subprocess.run(
                [sys.executable, "-c", LOAD_CODE.format(root=str(REPO_ROOT), reader=reader)],
                capture_output=True, text=True, check=True, env=env, cwd=REPO_ROOT,
            )
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    load = {key: statistics.median(r[key] for r in both)
            for key in ("cold_s", "imports_s", "build_s", "rss_mb", "reader_s")}
    load["rules_cold_s"] = statistics.median(r["cold_s"] for r in rules)
    load["rules_rss_mb"] = statistics.median(r["rss_mb"] for r in rules)
    return load


def encoder_read(screen, messages: list) -> list:
    """The messages whose screening reached the sentence encoder (it reads few: see the module docstring)."""
    reader = screen.nlp.get_pipe("safety_reader").reader if "safety_reader" in screen.nlp.pipe_names else None
    encoder = getattr(reader, "encoder", None)
    if encoder is None:
        return []
    calls = []
    score = encoder.score
    encoder.score = lambda texts, *a, **k: calls.append(len(texts)) or score(texts, *a, **k)
    try:
        reached = []
        for message in messages:
            calls.clear()
            screen(message)
            if calls:
                reached.append(message)
    finally:
        del encoder.score
    return reached


def _load_average() -> str:
    try:
        return " ".join(f"{v:.1f}" for v in os.getloadavg()) + f" on {os.cpu_count()} cores"
    except OSError:
        return "unknown"


def main() -> int:
    """Run the benchmark, print a table, write reports/bench_safety.json."""
    load = measure_load()
    pinning = _pin_to_one_core()
    from bot.safety import build_screen

    both = build_screen()
    screen = build_screen(reader=False)
    rng = random.Random(7)
    long_messages = _long_messages(40, rng)
    # A fresh screen builds a group of patterns' Matcher the first time a text needs it: the first
    # reading of texts it has not seen is reported apart, and the rest is timed once warm.
    first_long, _ = _time_calls(screen, long_messages, 1)
    _time_calls(screen, TYPICAL + long_messages, 3)  # warm caches
    _time_calls(both, TYPICAL, 3)

    typical, typical_cpu, both_typical, both_cpu = [], [], [], []
    for _ in range(5):  # interleaved, so both see the same machine
        wall, cpu = _time_calls(screen, TYPICAL, 30)
        typical += wall
        typical_cpu += cpu
        wall, cpu = _time_calls(both, TYPICAL, 30)
        both_typical += wall
        both_cpu += cpu
    read = encoder_read(both, TYPICAL)
    encoder_wall, encoder_cpu = _time_calls(both, read, 30) if read else ([0.0], [0.0])
    long, long_cpu = _time_calls(screen, long_messages, 15)
    both_long, _ = _time_calls(both, long_messages, 5)
    result = {
        "cpu": pinning,
        "typical_chars": [min(map(len, TYPICAL)), max(map(len, TYPICAL))],
        "typical_calls": len(typical),
        "typical_median_ms": round(statistics.median(typical), 3),
        "typical_p99_ms": round(_percentile(typical, 0.99), 3),
        "typical_cpu_median_ms": round(statistics.median(typical_cpu), 3),
        "typical_cpu_p99_ms": round(_percentile(typical_cpu, 0.99), 3),
        "both_typical_median_ms": round(statistics.median(both_typical), 3),
        "both_typical_p99_ms": round(_percentile(both_typical, 0.99), 3),
        "both_typical_cpu_median_ms": round(statistics.median(both_cpu), 3),
        "both_over_rules_median": round(statistics.median(both_typical) / statistics.median(typical), 2),
        "both_long_median_ms": round(statistics.median(both_long), 3),
        "encoder_read_typical": len(read),
        "encoder_read_median_ms": round(statistics.median(encoder_wall), 3),
        "encoder_read_cpu_median_ms": round(statistics.median(encoder_cpu), 3),
        "long_first_median_ms": round(statistics.median(first_long), 3),
        "long_calls": len(long),
        "long_median_ms": round(statistics.median(long), 3),
        "long_p99_ms": round(_percentile(long, 0.99), 3),
        "long_cpu_median_ms": round(statistics.median(long_cpu), 3),
        "long_cpu_p99_ms": round(_percentile(long_cpu, 0.99), 3),
        "load_s": round(load["cold_s"], 3),
        "load_imports_s": round(load["imports_s"], 3),
        "load_build_screen_s": round(load["build_s"], 3),
        "load_rss_mb": round(load["rss_mb"], 1),
        "load_rules_alone_s": round(load["rules_cold_s"], 3),
        "load_reader_s": round(load["reader_s"], 3),
        "load_reader_share_mb": round(load["rss_mb"] - load["rules_rss_mb"], 1),
        "patterns": screen.nlp.get_pipe("safety_target_matcher").pattern_count,
        "rules_version": screen.version,
        "load_average": _load_average(),
    }
    # Latency targets are judged on wall-clock time and, separately, on CPU time: on a busy
    # shared machine the wall-clock p99 mostly measures other processes.
    checks = {
        "typical_median_ms": ("typical_median_ms", "typical_cpu_median_ms"),
        "both_typical_median_ms": ("both_typical_median_ms", "both_typical_cpu_median_ms"),
        "long_p99_ms": ("long_p99_ms", "long_cpu_p99_ms"),
        "load_s": ("load_s", None),
    }
    result["targets"] = {}
    for name, goal in TARGETS.items():
        wall_key, cpu_key = checks[name]
        row = {"target": goal, "value": result[wall_key], "ratio": round(result[wall_key] / goal, 3),
               "met": result[wall_key] <= goal}
        if cpu_key:
            row.update(cpu_value=result[cpu_key], cpu_ratio=round(result[cpu_key] / goal, 3),
                       cpu_met=result[cpu_key] <= goal)
        result["targets"][name] = row
    rows = [
        ("load, fresh process (imports + build_screen), both readers", f"{result['load_s']:.2f} s", "<= 5 s"),
        ("  of which imports (spaCy, medspaCy)", f"{result['load_imports_s']:.2f} s", ""),
        ("  of which build_screen()", f"{result['load_build_screen_s']:.2f} s", ""),
        ("  memory of that process (max RSS)", f"{result['load_rss_mb']:.0f} MB", ""),
        ("  the rules alone, fresh process (same minute)", f"{result['load_rules_alone_s']:.2f} s", ""),
        ("  of which loading the learned reader (in build_screen)", f"{result['load_reader_s']:.2f} s", ""),
        ("  memory the learned reader adds (against the rules alone)", f"{result['load_reader_share_mb']:.0f} MB", ""),
        (f"rules alone: typical message {result['typical_chars'][0]}-{result['typical_chars'][1]} chars, median",
         f"{result['typical_median_ms']:.3f} ms", "<= 1 ms"),
        ("typical message, p99", f"{result['typical_p99_ms']:.3f} ms", ""),
        ("rules and learned reader: typical median", f"{result['both_typical_median_ms']:.3f} ms", "<= 6 ms"),
        ("  ratio to the rules alone (median)", f"{result['both_over_rules_median']:.2f}", ""),
        (f"  the {result['encoder_read_typical']} of {len(TYPICAL)} typical messages the encoder read, median",
         f"{result['encoder_read_median_ms']:.3f} ms", ""),
        ("rules and learned reader: 1,000-char median", f"{result['both_long_median_ms']:.3f} ms", ""),
        ("1,000-char message, median", f"{result['long_median_ms']:.3f} ms", ""),
        ("  the first reading of each by a fresh screen (builds Matchers), median",
         f"{result['long_first_median_ms']:.3f} ms", ""),
        ("1,000-char message, p99", f"{result['long_p99_ms']:.3f} ms", "<= 5 ms"),
        ("CPU time: typical median / p99", f"{result['typical_cpu_median_ms']:.3f} / {result['typical_cpu_p99_ms']:.3f} ms", ""),
        ("CPU time: 1,000-char median / p99", f"{result['long_cpu_median_ms']:.3f} / {result['long_cpu_p99_ms']:.3f} ms", ""),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"safety screen benchmark (rules {result['rules_version']}, {result['patterns']} patterns, {pinning}, "
          f"load average {result['load_average']})")
    for name, value, goal in rows:
        print(f"  {name:<{width}}  {value:>10}  {goal}")
    for name, row in result["targets"].items():
        line = f"  target {name}: wall {row['value']} / {row['target']} = {row['ratio']:.2f} {'ok' if row['met'] else 'MISSED'}"
        if "cpu_value" in row:
            line += f"; CPU {row['cpu_value']} / {row['target']} = {row['cpu_ratio']:.2f} {'ok' if row['cpu_met'] else 'MISSED'}"
        print(line)
    out_dir = REPO_ROOT / "reports"
    out_dir.mkdir(exist_ok=True)
    (out_dir / "bench_safety.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"  written to {out_dir / 'bench_safety.json'}")
    return 0 if all(row.get("cpu_met", row["met"]) for row in result["targets"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
