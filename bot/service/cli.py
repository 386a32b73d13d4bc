"""Operator commands: `python -m bot preflight|migrate|seed|serve|shell|announce`, and the
clinic commands of bot/service/clinic_cli.py (setup-clinic, clinician, patient, ...).

Every failure a person can fix (a malformed .env, a port already taken, an
unreachable database) ends in one line starting with "error:" and exit code 1,
never a traceback.
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable, Optional, Sequence

from bot.config.secret_key import signing_key
from bot.content.schema import ContentError
from bot.service import clinic_cli
from bot.service.credentials import ACTION_KEY_HEADER, action_server_key
from bot.service.ports import free_port
from bot.config.settings import REPO_ROOT, VAR_DIR, ConfigError, Settings, load_settings
from bot.storage.db import DatabaseUnavailable, check_database, make_engine, make_session_factory

VENV_BIN = REPO_ROOT / ".venv" / "bin"
MODEL = REPO_ROOT / "models" / "current.tar.gz"
RUNTIME_ENDPOINTS = VAR_DIR / "endpoints.yml"


class CommandError(Exception):
    """A failure to report as one line."""


def port_problem(host: str, port: int, what: str, env_name: str) -> Optional[str]:
    """A one-line explanation if `port` cannot be bound on `host`, else None."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except PermissionError:
            return f"port {port} ({what}) needs privileges on {host}; set {env_name} to a port above 1023"
        except OSError:
            return (
                f"port {port} ({what}) is already in use on {host}; stop the program "
                f"using it (is the system already running?) or set {env_name}"
            )
    return None


def preflight(settings: Settings) -> None:
    """Check ports and the database before anything starts."""
    for host, port, what, env_name in (
        (settings.rasa_host, settings.rasa_port, "Rasa server", "RASA_PORT"),
        ("127.0.0.1", settings.actions_port, "action server", "ACTIONS_PORT"),
        (settings.web_host, settings.web_port, "journal web app", "WEB_PORT"),
    ):
        problem = port_problem(host, port, what, env_name)
        if problem:
            raise CommandError(problem)
    check_database(make_engine(settings.database_url))


def migrate(settings: Settings, target: str = "head") -> None:
    """Apply every Alembic migration (up to `target`) to the configured database."""
    from alembic import command
    from alembic.config import Config

    config = Config(str(REPO_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(REPO_ROOT / "migrations"))
    config.attributes["database_url"] = settings.database_url
    config.attributes["configure_logger"] = False
    engine = make_engine(settings.database_url)
    check_database(engine)
    try:
        with engine.connect() as connection:
            config.attributes["connection"] = connection
            if engine.dialect.name == "sqlite":
                _upgrade_sqlite(connection, lambda: command.upgrade(config, target))
            else:
                with connection.begin():
                    command.upgrade(config, target)
    finally:
        engine.dispose()


def _upgrade_sqlite(connection, upgrade: Callable[[], None]) -> None:
    """Run `upgrade` in one real SQLite transaction, with foreign keys off while tables are rebuilt.

    Alembic rebuilds a table to change it on SQLite, which a foreign key to it
    would refuse; the keys are checked before the commit instead. The explicit
    BEGIN makes the DDL transactional too, so a failed migration leaves the
    database as it was, not half changed.
    """
    raw = connection.connection.driver_connection
    previous, raw.isolation_level = raw.isolation_level, None
    try:
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.exec_driver_sql("BEGIN")
        try:
            upgrade()
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise CommandError(f"the migration would break {len(broken)} foreign key(s); nothing was changed")
            connection.commit()
        except BaseException:
            connection.rollback()
            raise
    finally:
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        raw.isolation_level = previous


def seed(settings: Settings, out: Callable[[str], None] = print) -> bool:
    """Seed the demo clinic on the first run (unless KAP_DEMO=0); print its logins once."""
    from bot.clinic.seed import seed_demo_clinic
    from bot.storage.models import Clinic
    from sqlalchemy import func, select

    factory = make_session_factory(make_engine(settings.database_url))
    if not settings.demo:
        with factory() as session:
            if not session.scalar(select(func.count()).select_from(Clinic)):
                out("No clinic yet (KAP_DEMO=0): set one up with `.venv/bin/python -m bot setup-clinic`.")
        return False
    with factory.begin() as session:
        logins = seed_demo_clinic(session)
    if logins is None:
        return False
    out("Seeded the fictional demo clinic. These logins are shown once; note them now:")
    for login in logins:
        out(f"  {login.role:<10} {login.who:<18} {login.login:<34} {login.secret}")
    return True


TRACKER_STORE = "components.tracker_store.WindowedSQLTrackerStore"


def write_runtime_endpoints(settings: Settings, dest: Path = RUNTIME_ENDPOINTS) -> Path:
    """endpoints.yml with the action server URL, its key, the tracker store and (with
    REDIS_URL) the lock store of these settings.

    The file holds the database URL and a key, so only its owner can read it.
    """
    import yaml

    endpoints = yaml.safe_load((REPO_ROOT / "endpoints.yml").read_text(encoding="utf-8"))
    endpoints["action_endpoint"]["url"] = settings.actions_url
    # Conversations live in the database (Rasa's own `events` table), so a
    # restarted or another Rasa instance carries on where the patient was. The
    # store is Rasa's SQL one with a bounded window and a per-process cache
    # (components/tracker_store.py), so a long conversation is not slower.
    endpoints["tracker_store"] = {"type": TRACKER_STORE, "url": settings.database_url}
    # The action server answers only calls that carry this key (rasa_sdk_plugins).
    endpoints["action_endpoint"]["headers"] = {ACTION_KEY_HEADER: action_server_key(signing_key(settings))}
    if settings.redis_url:
        # Several Rasa instances take a conversation's lock in one place, so two
        # messages of one patient are never handled at once on two instances.
        endpoints["lock_store"] = redis_lock_store(settings.redis_url)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(yaml.safe_dump(endpoints, sort_keys=False))
    os.chmod(dest, 0o600)
    return dest


def redis_lock_store(url: str) -> dict:
    """Rasa 3.6's `lock_store` entry for REDIS_URL, redis[s]://[[user]:password@]host[:port][/db]."""
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(url)
    store = {"type": "redis", "url": parts.hostname, "port": parts.port or 6379,
             "db": int(parts.path.lstrip("/") or 0)}
    if parts.username:
        store["username"] = unquote(parts.username)
    if parts.password:
        store["password"] = unquote(parts.password)
    if parts.scheme == "rediss":
        store["use_ssl"] = True
    return store


def server_env(settings: Settings) -> dict[str, str]:
    """The environment every server process runs with."""
    env = dict(os.environ)
    env.update(
        RASA_HOST=settings.rasa_host,
        RASA_PORT=str(settings.rasa_port),
        ACTIONS_PORT=str(settings.actions_port),
        WEB_HOST=settings.web_host,
        WEB_PORT=str(settings.web_port),
        DATABASE_URL=settings.database_url,
        SANIC_HOST="127.0.0.1",
        RASA_ENDPOINTS=str(RUNTIME_ENDPOINTS),
        RASA_MODEL=str(MODEL),
        TF_CPP_MIN_LOG_LEVEL="3",
        # Nothing about a clinic's conversations leaves the machine: no usage
        # telemetry, no crash reports to Rasa's vendor.
        RASA_TELEMETRY_ENABLED="false",
    )
    # Libraries' deprecation warnings are silenced in each process by
    # bot/config/library_warnings.py, not with PYTHONWARNINGS: Sanic overrides
    # that, and it would hide our own warnings too.
    return env


def serve(settings: Settings) -> None:
    """Migrate, seed, then run every server under honcho (Ctrl-C stops them all)."""
    if not MODEL.exists():
        raise CommandError("no trained model at models/current.tar.gz; run `make train`")
    migrate(settings)
    seed(settings)
    write_runtime_endpoints(settings, RUNTIME_ENDPOINTS)
    honcho = VENV_BIN / "honcho"
    sys.stdout.flush()
    os.execve(
        str(honcho),
        [str(honcho), "-f", str(REPO_ROOT / "Procfile"), "-d", str(REPO_ROOT), "-e", os.devnull, "start"],
        server_env(settings),
    )


def announce(settings: Settings, timeout: float = 300.0) -> None:
    """Wait until every server answers, print the URLs, then idle until stopped."""
    checks = {
        "Rasa server (REST channel)": f"{settings.rasa_url}/webhooks/rest/",
        "Action server": f"http://127.0.0.1:{settings.actions_port}/health",
        "Journal web app": f"{settings.web_url}/healthz",
    }
    deadline = time.monotonic() + timeout
    pending = dict(checks)
    while pending and time.monotonic() < deadline:
        for name, url in list(pending.items()):
            if _answers(url):
                del pending[name]
        time.sleep(1.0)
    if pending:
        print(f"error: not up after {timeout:.0f} s: {', '.join(pending)}", flush=True)
    else:
        print("\nAll servers are up:", flush=True)
        print(f"  Chat (REST):  POST {settings.rasa_url}/webhooks/rest/webhook", flush=True)
        print(f"  Actions:      http://127.0.0.1:{settings.actions_port}/webhook", flush=True)
        print(f"  Journal web:  {settings.web_url}/login  (clinicians; the seeded logins above)", flush=True)
        print("Press Ctrl-C to stop everything.", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        signal.pause()


def shell(settings: Settings, sender: str) -> int:
    """A terminal conversation as `sender` (a demo patient by default).

    It runs the same servers as production on loopback and speaks through the
    same authenticated REST channel as the web app: each line is relayed with
    a chat token for `sender`, signed with this installation's key.
    """
    migrate(settings)
    seed(settings)
    env = server_env(settings)
    endpoints = write_runtime_endpoints(settings)
    started: list[subprocess.Popen] = []
    try:
        if port_problem("127.0.0.1", settings.actions_port, "", "") is None:
            started.append(_start_and_wait(
                [str(VENV_BIN / "rasa"), "run", "actions", "--actions", "actions",
                 "-p", str(settings.actions_port), "--quiet"],
                env, f"http://127.0.0.1:{settings.actions_port}/health", "the action server"))
        rasa_port = free_port()
        started.append(_start_and_wait(
            [str(VENV_BIN / "rasa"), "run", "-i", "127.0.0.1", "-p", str(rasa_port), "-m", str(MODEL),
             "--credentials", str(REPO_ROOT / "credentials.yml"), "--endpoints", str(endpoints), "--quiet"],
            env, f"http://127.0.0.1:{rasa_port}/webhooks/rest/", "the Rasa server"))
        return _converse(f"http://127.0.0.1:{rasa_port}", sender, settings)
    finally:
        for process in started:
            process.terminate()
        for process in started:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()


def _start_and_wait(command: list[str], env: dict, health_url: str, what: str) -> subprocess.Popen:
    process = subprocess.Popen(command, env=env, cwd=REPO_ROOT)
    if not _wait_for(health_url, process, 240):
        process.terminate()
        raise CommandError(f"{what} did not start; run `make run` to see why")
    return process


def _converse(rasa_url: str, sender: str, settings: Settings) -> int:
    """Read lines, relay them as `sender`, print the replies; a number picks a button."""
    from bot.service.chat_relay import RelayError, relay

    key = signing_key(settings)
    buttons: list = []
    print(f"Talking as {sender}. Type a message; a number picks a button; Ctrl-D ends.")
    while True:
        try:
            line = input("you> ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if not line:
            continue
        if line.isdigit() and 1 <= int(line) <= len(buttons):
            line = buttons[int(line) - 1].payload
        try:
            replies = relay(rasa_url, sender, line, settings.chat_relay_timeout_seconds, key)
        except RelayError as exc:
            print(f"error: {exc}")
            continue
        buttons = []
        for reply in replies:
            if reply.text:
                print(f"bot> {reply.text}")
            for button in reply.buttons:
                buttons.append(button)
                print(f"     {len(buttons)}. {button.title}")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return reply.status < 500
    except (urllib.error.URLError, OSError):
        return False


def _wait_for(url: str, process: subprocess.Popen, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if _answers(url):
            return True
        time.sleep(0.5)
    return False


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("preflight", "migrate", "seed", "serve", "announce"):
        commands.add_parser(name)
    shell_parser = commands.add_parser("shell")
    shell_parser.add_argument("--sender", default="demo-ava", help="conversation id of an enrolled patient")
    clinic_cli.add_commands(commands)
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        if args.command in clinic_cli.COMMANDS:
            migrate(settings)
            return clinic_cli.run(args, settings)
        if args.command == "preflight":
            preflight(settings)
        elif args.command == "migrate":
            migrate(settings)
        elif args.command == "seed":
            if not seed(settings) and settings.demo:
                print("The database already has a clinic; nothing seeded.")
        elif args.command == "serve":
            serve(settings)
        elif args.command == "announce":
            announce(settings)
        elif args.command == "shell":
            return shell(settings, args.sender)
    except (ConfigError, DatabaseUnavailable, CommandError, ContentError, clinic_cli.ClinicCommandError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0
