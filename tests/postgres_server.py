"""A real PostgreSQL server for the tests that need one (tests/postgres, tests/scale):
started once per run, on loopback, and a fresh database on it per test or module.

The server comes from Debian's packages (scripts/ensure-test-programs.sh installs
it for `make test`). As root it runs as the `postgres` user, which initdb requires.
"""
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg2
import pytest

from tests.helpers import free_port

BIN = Path("/usr/lib/postgresql/15/bin")


def _as_server_user(command: list) -> list:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def _wait_until_up(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"PostgreSQL exited at start-up:\n{log.read_text()[-2000:]}")
        try:
            psycopg2.connect(host="127.0.0.1", port=port, user="kap", dbname="postgres").close()
            return
        except psycopg2.OperationalError:
            time.sleep(0.1)
    pytest.fail(f"PostgreSQL did not answer within 60 s:\n{log.read_text()[-2000:]}")


@pytest.fixture(scope="session")
def postgres_server():
    """(host, port) of a fresh PostgreSQL cluster with trust auth for user `kap`."""
    if not (BIN / "initdb").exists():
        pytest.fail("PostgreSQL is missing: run `sudo scripts/ensure-test-programs.sh` (installs postgresql-15)")
    base = Path(tempfile.mkdtemp(prefix="kap-postgres-"))
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
    data, log = base / "data", base / "server.log"
    try:
        subprocess.run(
            _as_server_user([str(BIN / "initdb"), "-D", str(data), "--auth=trust", "-U", "kap", "--no-sync"]),
            check=True, capture_output=True, cwd=base,
        )
        port = free_port()
        with log.open("w") as out:
            process = subprocess.Popen(
                _as_server_user([
                    str(BIN / "postgres"), "-D", str(data), "-p", str(port), "-k", str(base), "-h", "127.0.0.1",
                    "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                ]),
                stdout=out, stderr=subprocess.STDOUT, cwd=base,
            )
        try:
            _wait_until_up(port, process, log)
            yield "127.0.0.1", port
        finally:
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(20)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def create_database(server: tuple, name: str) -> str:
    """Create database `name` on `server`; return its SQLAlchemy URL."""
    host, port = server
    connection = psycopg2.connect(host=host, port=port, user="kap", dbname="postgres")
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
    finally:
        connection.close()
    return f"postgresql+psycopg2://kap@{host}:{port}/{name}"
