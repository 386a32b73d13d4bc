"""The scaled-out installation as real processes on loopback: PostgreSQL (the run's
shared server), Redis, two action servers, two Rasa servers, HAProxy in front of
both pairs, two alert dispatchers, an SMTP server and a webhook receiver.

Redis and HAProxy are started from the files a deployment uses (deploy/redis.conf,
deploy/haproxy.cfg); the Rasa servers from the runtime endpoints file that
`python -m bot serve` writes (bot/service/cli.py `write_runtime_endpoints`).
"""
from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import redis

from bot.service.cli import migrate, write_runtime_endpoints
from bot.storage.db import make_engine, make_session_factory
from tests.helpers import free_port, make_settings
from tests.servers import RASA, ROOT, TEST_SECRET_KEY, _wait_until_up, chat_token, rasa_command, server_env
from tests.unit.escalation.harness import HookReceiver, Mailbox, start_dispatcher, stop_process

DEPLOY = ROOT / "deploy"
HAPROXY = "/usr/sbin/haproxy"
REDIS_SERVER = "/usr/bin/redis-server"
INSTANCE_HEADER = "X-KAP-Instance"
WEBHOOK_SECRET = "scale-webhook-secret"
STARTUP_SECONDS = 120


@dataclass
class Reply:
    """What one chat message got back, and which Rasa instance answered it."""

    instance: str
    texts: list


@dataclass
class Cluster:
    """Handles on the running installation."""

    chat_url: str
    stats_url: str
    redis_port: int
    settings: object
    sessions: object
    endpoints: Path
    spools: list
    mailbox: Mailbox
    hooks: HookReceiver
    dispatchers: list = field(default_factory=list)

    def say(self, sender: str, message: str) -> Reply:
        """POST a message through the load balancer as `sender`, with its chat token."""
        request = urllib.request.Request(
            f"{self.chat_url}/webhooks/rest/webhook",
            data=json.dumps({"sender": sender, "message": message}).encode("utf-8"),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {chat_token(sender)}"},
        )
        with urllib.request.urlopen(request, timeout=120) as answer:
            replies = json.loads(answer.read().decode("utf-8"))
            return Reply(answer.headers[INSTANCE_HEADER], [r["text"] for r in replies if r.get("text")])

    def spooled(self) -> int:
        """Turns the Rasa instances have not written to the database yet."""
        return sum(1 for spool in self.spools for _ in (spool / "turns").glob("*.json*"))

    def server_stats(self) -> dict:
        """HAProxy's counters per server: {(backend, server): row}."""
        with urllib.request.urlopen(f"{self.stats_url};csv", timeout=5) as answer:
            text = answer.read().decode("utf-8").lstrip("# ")
        return {(row["pxname"], row["svname"]): row for row in csv.DictReader(io.StringIO(text))
                if row["svname"] not in ("FRONTEND", "BACKEND")}

    def redis_calls(self, command: str) -> int:
        """How many times Redis has run `command` since it started."""
        stats = redis.Redis(host="127.0.0.1", port=self.redis_port).info("commandstats")
        return stats.get(f"cmdstat_{command}", {}).get("calls", 0)

    def stop_dispatchers(self) -> None:
        """Stop both dispatchers, so that what they delivered is final."""
        for process in self.dispatchers:
            stop_process(process)


def _start(started: list, name: str, command: list, env: dict, logs: Path) -> subprocess.Popen:
    with (logs / f"{name}.log").open("w") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    started.append(process)
    return process


def _stop_all(processes: list) -> None:
    """SIGTERM to every process at once, then wait for each (SIGKILL after 20 s)."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(20)


def _wait(predicate, what: str, processes: list, logs: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in processes):
            break
        try:
            if predicate():
                return
        except (OSError, urllib.error.URLError, redis.RedisError):
            pass
        time.sleep(0.2)
    tails = "\n".join(f"--- {log.name}\n{log.read_text()[-2000:]}" for log in sorted(logs.glob("*.log")))
    raise RuntimeError(f"{what} did not come up:\n{tails}")


def start_cluster(stack: ExitStack, model: Path, postgres_url: str, tmp: Path) -> Cluster:
    """Start every process under `stack` (closing it stops them all) and return the handles."""
    logs = tmp / "logs"
    logs.mkdir()
    started: list = []
    stack.callback(_stop_all, started)
    redis_port, chat_port, actions_port, stats_port = free_port(), free_port(), free_port(), free_port()
    rasa_ports, action_ports = [free_port(), free_port()], [free_port(), free_port()]
    mailbox = Mailbox().start()
    stack.callback(mailbox.stop)
    hooks = HookReceiver().start()
    stack.callback(hooks.stop)

    # What every process reads: one database, one signing key, one Redis. Rasa calls the
    # action servers through HAProxy's `actions` frontend (ACTIONS_PORT).
    settings = make_settings(
        tmp, DATABASE_URL=postgres_url, SECRET_KEY=TEST_SECRET_KEY, ACTIONS_PORT=str(actions_port),
        REDIS_URL=f"redis://127.0.0.1:{redis_port}/1", SMTP_HOST="127.0.0.1", SMTP_PORT=str(mailbox.port),
        SMTP_SENDER="kap-alerts@cedargrove.example", WEBHOOK_URL=hooks.url, WEBHOOK_SECRET=WEBHOOK_SECRET,
        PUBLIC_BASE_URL="https://kap.example",
    )
    migrate(settings)
    engine = make_engine(settings.database_url)
    stack.callback(engine.dispose)
    endpoints = write_runtime_endpoints(settings, tmp / "endpoints.yml")

    redis_dir = tmp / "redis"
    redis_dir.mkdir()
    redis_process = _start(started, "redis", [REDIS_SERVER, str(DEPLOY / "redis.conf"), "--port", str(redis_port),
                                            "--dir", str(redis_dir)], dict(os.environ), logs)
    _wait(lambda: redis.Redis(host="127.0.0.1", port=redis_port).ping(), "Redis", [redis_process], logs)

    servers, spools, health = [], [], []
    for number, (rasa_port, action_port) in enumerate(zip(rasa_ports, action_ports), start=1):
        # Each instance spools on its own local disk, as in production.
        spool = tmp / f"spool-{number}"
        env = {**server_env(settings, tmp), "SPOOL_DIR": str(spool), "REDIS_URL": settings.redis_url}
        servers.append(_start(started, f"actions{number}", [str(RASA), "run", "actions", "--actions", "actions",
                                                         "-p", str(action_port)], env, logs))
        servers.append(_start(started, f"rasa{number}", rasa_command(model, rasa_port, endpoints), env, logs))
        spools.append(spool)
        health += [f"http://127.0.0.1:{action_port}/health", f"http://127.0.0.1:{rasa_port}/webhooks/rest/"]
    for url in health:
        _wait_until_up(url, servers, logs)

    balancer_env = {
        **os.environ,
        "KAP_CHAT_BIND": f"127.0.0.1:{chat_port}",
        "KAP_ACTIONS_BIND": f"127.0.0.1:{actions_port}",
        "KAP_STATS_BIND": f"127.0.0.1:{stats_port}",
        "KAP_RASA_1": f"127.0.0.1:{rasa_ports[0]}",
        "KAP_RASA_2": f"127.0.0.1:{rasa_ports[1]}",
        "KAP_ACTIONS_1": f"127.0.0.1:{action_ports[0]}",
        "KAP_ACTIONS_2": f"127.0.0.1:{action_ports[1]}",
    }
    balancer = _start(started, "haproxy", [HAPROXY, "-f", str(DEPLOY / "haproxy.cfg"), "-db"], balancer_env, logs)
    cluster = Cluster(
        chat_url=f"http://127.0.0.1:{chat_port}", stats_url=f"http://127.0.0.1:{stats_port}/stats",
        redis_port=redis_port, settings=settings, sessions=make_session_factory(engine), endpoints=endpoints,
        spools=spools, mailbox=mailbox, hooks=hooks,
    )
    _wait(lambda: {row["status"] for row in cluster.server_stats().values()} == {"UP"},
          "HAProxy with every server UP", [balancer], logs)

    for number in (1, 2):
        dispatcher = start_dispatcher(
            settings, logs, str(number), TEST_SECRET_KEY,
            # A lease far longer than one delivery takes, and no re-escalation during the test.
            DISPATCHER_LEASE_SECONDS="60", ACK_TIMEOUT_EMERGENCY_MINUTES="120", ACK_TIMEOUT_URGENT_MINUTES="120",
        )
        stack.callback(stop_process, dispatcher)
        cluster.dispatchers.append(dispatcher)
    return cluster
