"""Chat replies of our assistant against a bare Rasa bot with the same pipeline and policies,
served side by side in the same run.

The bare bot is `rasa init`'s starter bot with our config.yml, minus our own
components (`components.safety_screen.SafetyScreen`, which has no stock
counterpart, so nothing replaces it): the same tokenizer, featurizers,
classifier, fallback and policies, Rasa's `rest` channel, an in-memory tracker
store, no action server, no event broker. It is trained once per config and
Rasa version and kept under var/bench/. Ours is started as `make run` starts it
(the Procfile's `rasa` and `actions` lines, our runtime endpoints: SQL tracker
store, recorder, action key), over a fresh SQLite database with enrolled
patients, and is spoken to with chat tokens as the web app does.

Three measures, each the median of RUNS runs:
- one patient: p50/p95 reply time, one message to ours and one to bare in turn;
- 50 patients at once, 40 messages each (journaling sessions; every fifth patient
  says a crisis message midway): throughput and p95, then the database is checked
  for every turn, every saved entry and an alert per crisis patient;
- one long conversation: reply time at message 200 against message 1.

Targets: one-patient p95 <= 1.3x bare; 50-patient throughput >= 0.75x bare with
nothing lost; message 200 <= 1.5x message 1. Results in reports/bench_chat.json
and reports/bench_chat.md. `--quick` is a smoke run with few messages.
"""
from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import math
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from bot.clinic.enrolment import enrol_patient  # noqa: E402
from bot.clinic.seed import seed_demo_clinic  # noqa: E402
from bot.config.settings import VAR_DIR, load_settings  # noqa: E402
from bot.service.cli import MODEL, migrate, server_env, write_runtime_endpoints  # noqa: E402
from bot.service.credentials import issue_chat_token  # noqa: E402
from bot.service.ports import free_port  # noqa: E402
from bot.storage.db import make_engine, make_session_factory  # noqa: E402
from bot.storage.models import ChatMessage, Clinic, Clinician, CrisisAlert, JournalEntry, Patient  # noqa: E402

VENV_BIN = ROOT / ".venv" / "bin"
BARE_CACHE = VAR_DIR / "bench" / "bare-rasa"
SECRET = "bench-chat-signing-key"
STARTUP_SECONDS = 300
CRISIS_TEXT = "i want to kill myself"
JOURNAL_TEXTS = [
    "I keep coming back to the moment my chest felt warm and open.",
    "There was a long stretch where I felt like I was floating above a field.",
    "My grandmother's kitchen came back to me, the smell of bread.",
    "I noticed how tense my shoulders usually are, and they let go.",
    "Some of it was hard, a sense of falling, but I stayed with it.",
    "Afterwards the colours outside looked brighter than usual.",
    "I felt a kind of tenderness toward myself that I rarely feel.",
    "I am still not sure what the music was telling me.",
    "Today I walked by the river and thought about it again.",
    "I want to remember that the fear passed when I breathed slowly.",
]


@dataclass(frozen=True)
class Sizes:
    """How much each measure sends."""

    single: int  # messages to each bot, interleaved
    patients: int
    per_patient: int
    long: int  # length of the long conversation
    runs: int


FULL = Sizes(single=120, patients=50, per_patient=40, long=200, runs=3)
QUICK = Sizes(single=6, patients=5, per_patient=8, long=12, runs=1)
TARGETS = {"single_p95_ratio_max": 1.3, "throughput_ratio_min": 0.75, "long_ratio_max": 1.5}


SESSION_END = "That I am allowed to rest."


def sessions_to_save(texts: list[str]) -> int:
    """Journaling sessions the script finishes before any crisis message (each should be saved)."""
    crisis = texts.index(CRISIS_TEXT) if CRISIS_TEXT in texts else len(texts)
    return sum(1 for text in texts[:crisis] if text == SESSION_END)


_written = itertools.count(1)


def journaling(count: int, crisis_at: int | None = None) -> list[str]:
    """`count` patient messages: a greeting, then journaling sessions of ten entries
    (start, write, "done", answer the follow-up); the crisis text at `crisis_at`.

    Every journal line is new text (it ends with an entry number), as a patient's
    would be: the screen keeps its latest results, and a line seen before costs it nothing."""
    texts = ["hi"]
    while len(texts) < count:
        entries = [f"{line[:-1]}, entry {next(_written)}." for line in JOURNAL_TEXTS]
        texts += ["i want to journal", *entries, "done", SESSION_END]
    texts = texts[:count]
    if crisis_at is not None:
        texts[crisis_at] = CRISIS_TEXT
    return texts


# -- the two servers -----------------------------------------------------------------------


class Bot:
    """A running Rasa server to talk to over REST."""

    def __init__(self, name: str, url: str, signed: bool):
        self.name, self.url, self.signed = name, url, signed

    def say(self, sender: str, text: str) -> tuple[float, list]:
        """Seconds to the reply, and the reply."""
        data = json.dumps({"sender": sender, "message": text}).encode("utf-8")
        headers = {"Content-Type": "application/json"}
        if self.signed:
            headers["Authorization"] = f"Bearer {issue_chat_token(SECRET, sender)}"
        request = urllib.request.Request(f"{self.url}/webhooks/rest/webhook", data=data, headers=headers)
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=120) as reply:
            body = reply.read()
        return time.perf_counter() - started, json.loads(body)


@contextmanager
def started(name: str, command: list[str], env: dict, cwd: Path, health: str, log_dir: Path):
    """Run `command` until the block ends; wait for `health` to answer first."""
    log = (log_dir / f"{name}.log").open("w")
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited at start-up:\n{(log_dir / f'{name}.log').read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(health, timeout=2):
                    break
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not answer at {health}") from None
                time.sleep(0.5)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def procfile_command(name: str, env: dict) -> list[str]:
    """The Procfile's command for process `name`, its $VARIABLES filled in from `env`."""
    for line in (ROOT / "Procfile").read_text(encoding="utf-8").splitlines():
        key, _, command = line.partition(":")
        if key.strip() == name:
            return shlex.split(re.sub(r"\$(\w+)", lambda m: env[m.group(1)], command))
    raise KeyError(name)


class Ours:
    """Our Rasa and action servers over a fresh database, as `make run` starts them."""

    def __init__(self, tmp: Path):
        self.settings = load_settings(
            environ={
                "DATABASE_URL": f"sqlite:///{tmp / 'kap.db'}",
                "SPOOL_DIR": str(tmp / "spool"),
                "SECRET_KEY": SECRET,
                "RASA_PORT": str(free_port()),
                "ACTIONS_PORT": str(free_port()),
            },
            env_file=tmp / "absent.env",
        )
        migrate(self.settings)
        self.sessions = make_session_factory(make_engine(self.settings.database_url))
        with self.sessions.begin() as session:
            seed_demo_clinic(session, make_password=lambda: "bench-only")
        endpoints = write_runtime_endpoints(self.settings, tmp / "endpoints.yml")
        self.env = {
            **server_env(self.settings),
            "RASA_ENDPOINTS": str(endpoints),
            "SPOOL_DIR": str(self.settings.spool_dir),
            "SECRET_KEY": SECRET,
            "KAP_ENV_FILE": str(tmp / "absent.env"),
        }
        self.tmp = tmp
        self.enrolled = 0

    def enrol(self, count: int) -> list[str]:
        """Sender ids of `count` newly enrolled patients."""
        senders = []
        with self.sessions.begin() as session:
            clinic = session.scalar(select(Clinic))
            therapist = session.scalar(select(Clinician).where(Clinician.role == "therapist"))
            for _ in range(count):
                self.enrolled += 1
                patient = enrol_patient(session, clinic, display_name=f"Bench {self.enrolled}",
                                        code=f"BENCH-{self.enrolled:04d}", therapist_id=therapist.id)
                senders.append(patient.sender_id)
        return senders

    def serve(self, stack: ExitStack, log_dir: Path) -> Bot:
        s = self.settings
        stack.enter_context(started("ours-actions", procfile_command("actions", self.env), self.env, ROOT,
                                    f"http://127.0.0.1:{s.actions_port}/health", log_dir))
        stack.enter_context(started("ours-rasa", procfile_command("rasa", self.env), self.env, ROOT,
                                    f"{s.rasa_url}/webhooks/rest/", log_dir))
        return Bot("ours", s.rasa_url, signed=True)

    def settle(self, timeout: float = 120.0) -> None:
        """Wait until the recorder has written every spooled turn."""
        turns = self.settings.spool_dir / "turns"
        deadline = time.monotonic() + timeout
        while any(turns.glob("*.json*")) and time.monotonic() < deadline:
            time.sleep(0.2)

    def counts(self, senders: list[str]) -> dict:
        """Patient turns, saved entries and alerts stored for these senders."""
        with self.sessions() as session:
            ids = select(Patient.id).where(Patient.sender_id.in_(senders))
            turns = session.scalar(select(func.count()).select_from(ChatMessage).where(
                ChatMessage.patient_id.in_(ids), ChatMessage.direction == "patient"))
            entries = session.scalar(select(func.count()).select_from(JournalEntry).where(
                JournalEntry.patient_id.in_(ids), JournalEntry.status == "saved"))
            alerted = session.scalar(select(func.count(func.distinct(CrisisAlert.patient_id))).where(
                CrisisAlert.patient_id.in_(ids)))
        return {"turns": turns, "saved_entries": entries, "patients_alerted": alerted}


def bare_config() -> tuple[dict, list[str]]:
    """Our config.yml without our own components, and the names left out."""
    config = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    ours = [c["name"] for c in config["pipeline"] + config["policies"] if "." in c["name"]]
    config["pipeline"] = [c for c in config["pipeline"] if c["name"] not in ours]
    config["policies"] = [c for c in config["policies"] if c["name"] not in ours]
    config["assistant_id"] = "bare-rasa-bench"
    return config, ours


def bare_model(env: dict) -> Path:
    """The bare bot's model, from the cache or made with `rasa init` and trained on our config."""
    import rasa

    config, _ = bare_config()
    text = yaml.safe_dump(config, sort_keys=True)
    key = hashlib.sha256(f"{rasa.__version__}\n{text}".encode()).hexdigest()[:16]
    model = BARE_CACHE / f"bare-{key}.tar.gz"
    if model.exists():
        return model
    print(f"  building the bare bot (rasa init, our config) into {model.relative_to(ROOT)}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "bare"
        project.mkdir()
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE, "text": True}
        # `rasa init` also trains its own default config; that model is not used.
        done = subprocess.run([str(VENV_BIN / "rasa"), "init", "--no-prompt", "--init-dir", str(project)],
                              cwd=tmp, env=env, **quiet)
        if done.returncode:
            raise RuntimeError(f"rasa init failed:\n{done.stderr[-3000:]}")
        (project / "config.yml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        done = subprocess.run([str(VENV_BIN / "rasa"), "train", "--fixed-model-name", "bare", "--out",
                               str(project / "out"), "--quiet"], cwd=project, env=env, **quiet)
        if done.returncode:
            raise RuntimeError(f"training the bare bot failed:\n{done.stderr[-3000:]}")
        BARE_CACHE.mkdir(parents=True, exist_ok=True)
        shutil.copy(project / "out" / "bare.tar.gz", model)
    return model


def serve_bare(stack: ExitStack, tmp: Path, log_dir: Path) -> Bot:
    # Its own folder and none of our settings: no endpoints.yml, so Rasa's defaults
    # (in-memory tracker store, no broker, no action server).
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "RASA_TELEMETRY_ENABLED": "false"}
    model = bare_model(env)
    folder = tmp / "bare"
    folder.mkdir()
    (folder / "credentials.yml").write_text("rest:\n", encoding="utf-8")
    port = free_port()
    command = [str(VENV_BIN / "rasa"), "run", "-i", "127.0.0.1", "-p", str(port), "-m", str(model),
               "--credentials", "credentials.yml", "--quiet"]
    stack.enter_context(started("bare-rasa", command, env, folder, f"http://127.0.0.1:{port}/webhooks/rest/",
                                log_dir))
    return Bot("bare", f"http://127.0.0.1:{port}", signed=False)


# -- the measures ----------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def single_patient(bots: dict, senders: dict, size: Sizes) -> dict:
    """One patient per bot, one message to each in turn."""
    times = {name: [] for name in bots}
    for text in journaling(size.single):
        for name, bot in bots.items():
            times[name].append(bot.say(senders[name], text)[0])
    return {name: {"p50_ms": percentile(t, 50) * 1000, "p95_ms": percentile(t, 95) * 1000}
            for name, t in times.items()}


def many_patients(bot: Bot, senders: list[str], size: Sizes) -> dict:
    """Every patient at once, each sending its messages in order; throughput and p95."""
    times: list[float] = []
    saves = [0]
    errors: list[str] = []
    lock = threading.Lock()

    scripts = [journaling(size.per_patient, size.per_patient // 2 if i % 5 == 4 else None)
               for i in range(len(senders))]

    def patient(index: int, sender: str) -> None:
        for text in scripts[index]:
            try:
                elapsed, replies = bot.say(sender, text)
            except Exception as exc:  # a lost turn is counted, not fatal
                with lock:
                    errors.append(f"{sender}: {exc}")
                continue
            saved = any("saved it to your journal" in (r.get("text") or "") for r in replies)
            with lock:
                times.append(elapsed)
                saves[0] += saved

    threads = [threading.Thread(target=patient, args=(i, s)) for i, s in enumerate(senders)]
    started_at = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started_at
    return {"messages": len(times), "errors": len(errors), "first_errors": errors[:3],
            "throughput_per_s": len(times) / wall, "p95_ms": percentile(times, 95) * 1000,
            "saves_confirmed": saves[0], "saves_expected": sum(sessions_to_save(t) for t in scripts)}


def long_conversation(bot: Bot, sender: str, size: Sizes) -> dict:
    """Reply time at the first and the last message of one long conversation."""
    times = [bot.say(sender, text)[0] for text in journaling(size.long)]
    return {"first_ms": times[0] * 1000, "last_ms": times[-1] * 1000}


def one_run(ours: Ours, bots: dict, size: Sizes, order: list[str]) -> dict:
    crisis_patients = sum(1 for i in range(size.patients) if i % 5 == 4)
    run = {"single": single_patient(bots, {"ours": ours.enrol(1)[0], "bare": f"bare-{time.time_ns()}"}, size),
           "many": {}, "long": {}}
    for name in order:
        bot = bots[name]
        senders = ours.enrol(size.patients) if name == "ours" else [
            f"bare-{time.time_ns()}-{i}" for i in range(size.patients)]
        result = many_patients(bot, senders, size)
        if name == "ours":
            ours.settle()
            stored = ours.counts(senders)
            result["stored"] = stored
            result["lost_turns"] = size.patients * size.per_patient - stored["turns"]
            # A session the script finished must be saved, confirmed to the patient and stored.
            result["lost_entries"] = result["saves_expected"] - min(result["saves_confirmed"],
                                                                     stored["saved_entries"])
            result["lost_alerts"] = crisis_patients - stored["patients_alerted"]
        run["many"][name] = result
    for name in order:
        sender = ours.enrol(1)[0] if name == "ours" else f"bare-long-{time.time_ns()}"
        run["long"][name] = long_conversation(bots[name], sender, size)
    return run


def summarise(runs: list[dict], size: Sizes, load: tuple[str, str]) -> dict:
    med = statistics.median

    def m(path):
        values = []
        for run in runs:
            value = run
            for key in path:
                value = value[key]
            values.append(value)
        return round(med(values), 2)

    s = {
        "single_patient": {bot: {k: m(("single", bot, k)) for k in ("p50_ms", "p95_ms")} for bot in ("ours", "bare")},
        "fifty_patients": {bot: {k: m(("many", bot, k)) for k in ("throughput_per_s", "p95_ms")}
                           for bot in ("ours", "bare")},
        "long_conversation": {bot: {k: m(("long", bot, k)) for k in ("first_ms", "last_ms")}
                              for bot in ("ours", "bare")},
    }
    ratios = [
        {"single_p95_ratio": run["single"]["ours"]["p95_ms"] / run["single"]["bare"]["p95_ms"],
         "throughput_ratio": run["many"]["ours"]["throughput_per_s"] / run["many"]["bare"]["throughput_per_s"],
         "long_ratio_ours": run["long"]["ours"]["last_ms"] / run["long"]["ours"]["first_ms"],
         "long_ratio_bare": run["long"]["bare"]["last_ms"] / run["long"]["bare"]["first_ms"]}
        for run in runs
    ]
    s["ratios"] = {k: round(med(r[k] for r in ratios), 2) for k in ratios[0]}
    lost = {k: max(run["many"]["ours"][k] for run in runs) for k in ("lost_turns", "lost_entries", "lost_alerts")}
    lost["request_errors"] = max(run["many"][b]["errors"] for run in runs for b in ("ours", "bare"))
    s["lost_at_most"] = lost
    r = s["ratios"]
    s["targets_met"] = {
        "single_p95_le_1.3x_bare": r["single_p95_ratio"] <= TARGETS["single_p95_ratio_max"],
        "throughput_ge_0.75x_bare_nothing_lost": r["throughput_ratio"] >= TARGETS["throughput_ratio_min"]
        and not any(lost.values()),
        "message_last_le_1.5x_first": r["long_ratio_ours"] <= TARGETS["long_ratio_max"],
    }
    s["sizes"] = size.__dict__
    s["load_before_after"] = load
    s["swapped"] = ("bare = `rasa init` starter bot with our config.yml minus "
                    f"{', '.join(bare_config()[1])} (no stock counterpart, nothing put in its place); "
                    "rest channel, in-memory tracker store, no action server, no event broker")
    s["runs"] = runs
    return s


def markdown(s: dict) -> str:
    r, sp, fp, lc = s["ratios"], s["single_patient"], s["fifty_patients"], s["long_conversation"]
    ok = {True: "met", False: "**missed**"}
    t = s["targets_met"]
    n = s["sizes"]
    lines = [
        f"# Chat: ours against bare Rasa (median of {n['runs']} run(s))",
        "",
        f"Load average before / after: {s['load_before_after'][0]} / {s['load_before_after'][1]} (2 cores).",
        f"Bare bot: {s['swapped']}.",
        "",
        "| measure | ours | bare | ratio | target | |",
        "|---|---|---|---|---|---|",
        f"| one patient p50 (ms), {n['single']} msgs each, interleaved | {sp['ours']['p50_ms']} | {sp['bare']['p50_ms']} | | | |",
        f"| one patient p95 (ms) | {sp['ours']['p95_ms']} | {sp['bare']['p95_ms']} | {r['single_p95_ratio']}x | <= 1.3x | {ok[t['single_p95_le_1.3x_bare']]} |",
        f"| {n['patients']} patients x {n['per_patient']} msgs: throughput (msg/s) | {fp['ours']['throughput_per_s']} | {fp['bare']['throughput_per_s']} | {r['throughput_ratio']}x | >= 0.75x, nothing lost | {ok[t['throughput_ge_0.75x_bare_nothing_lost']]} |",
        f"| {n['patients']} patients: p95 (ms) | {fp['ours']['p95_ms']} | {fp['bare']['p95_ms']} | | | |",
        f"| lost turns / entries / alerts / request errors (worst run) | {s['lost_at_most']['lost_turns']} / {s['lost_at_most']['lost_entries']} / {s['lost_at_most']['lost_alerts']} / {s['lost_at_most']['request_errors']} | | | 0 | |",
        f"| one conversation: message 1 (ms) | {lc['ours']['first_ms']} | {lc['bare']['first_ms']} | | | |",
        f"| message {n['long']} (ms) | {lc['ours']['last_ms']} | {lc['bare']['last_ms']} | ours {r['long_ratio_ours']}x, bare {r['long_ratio_bare']}x | <= 1.5x | {ok[t['message_last_le_1.5x_first']]} |",
    ]
    return "\n".join(lines) + "\n"


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: few messages, one run")
    parser.add_argument("--out", type=Path, default=ROOT / "reports", help="where to write the report")
    args = parser.parse_args(argv)
    size = QUICK if args.quick else FULL
    if not MODEL.exists():
        print("error: no trained model at models/current.tar.gz; run `make train`", file=sys.stderr)
        return 1
    load_before = load_average()
    log_dir = VAR_DIR / "bench" / "chat-logs"  # the servers' logs of the last run, kept for a look
    shutil.rmtree(log_dir, ignore_errors=True)
    log_dir.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        tmp = Path(tmp)
        ours = Ours(tmp)
        bots = {"ours": ours.serve(stack, log_dir), "bare": serve_bare(stack, tmp, log_dir)}
        # Warm up: the first replies load what each server loads lazily.
        warm = {"ours": ours.enrol(1)[0], "bare": "bare-warm-up"}
        for text in journaling(5):
            for name, bot in bots.items():
                bot.say(warm[name], text)
        runs = []
        for n in range(size.runs):
            order = ["ours", "bare"] if n % 2 == 0 else ["bare", "ours"]
            runs.append(one_run(ours, bots, size, order))
            print(f"  run {n + 1}/{size.runs} done (load {load_average()})", flush=True)
    result = summarise(runs, size, (load_before, load_average()))
    args.out.mkdir(parents=True, exist_ok=True)
    stem = "bench_chat_quick" if args.quick else "bench_chat"
    (args.out / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    table = markdown(result)
    (args.out / f"{stem}.md").write_text(table, encoding="utf-8")
    print(table)
    return 0


if __name__ == "__main__":
    import signal

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the servers on the way out
    sys.exit(main())
