"""`rememberer serve` on its own embedded database and `rememberer migrate` as users run them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psycopg

from tests.conftest import free_port

RUN = [sys.executable, "-m", "rememberer.cli"]


def wait_healthy(url: str, process: subprocess.Popen[bytes], seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "the service exited early"
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise AssertionError("the service did not become ready")


def postgres_running(pgdata: Path) -> bool:
    pid_file = pgdata / "postmaster.pid"
    if not pid_file.exists():
        return False
    pid = int(pid_file.read_text().splitlines()[0])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_serve_starts_and_stops_its_embedded_database(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen([*RUN, "serve", "--data-dir", str(tmp_path), "--port", str(port)])
    try:
        wait_healthy(url, process)
        created = httpx.post(f"{url}/v1/memories", json={"name": "cli", "embedder": "client"})
        assert created.status_code == 201
        assert postgres_running(tmp_path / "pgdata")
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    assert not postgres_running(tmp_path / "pgdata")
    # The data survives: a second start finds the memory again.
    process = subprocess.Popen([*RUN, "serve", "--data-dir", str(tmp_path), "--port", str(port)])
    try:
        wait_healthy(url, process)
        assert httpx.get(f"{url}/v1/memories/cli").status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


def test_migrate_is_idempotent(database_url: str) -> None:
    for _ in range(2):
        done = subprocess.run([*RUN, "migrate", "--database-url", database_url], check=False)
        assert done.returncode == 0
    plain = database_url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(plain) as connection:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    assert row is not None and row[0]
