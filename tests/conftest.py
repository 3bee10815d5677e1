"""One real PostgreSQL + pgvector (embedded) and one real HTTP server per test session."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import uvicorn
from fastapi import FastAPI
from psycopg import sql
from rememberer.app import create_app
from rememberer.config import Settings
from rememberer.storage.embedded import EmbeddedPostgres
from rememberer.storage.migrate import upgrade

# Data the tests replay (RLEM cases, the paper's published pools), kept in the repository.
FIXTURES_DIR = Path(__file__).resolve().parent / "fixtures"


def plain_url(database_url: str) -> str:
    """A SQLAlchemy URL as libpq (psycopg.connect) takes it."""
    return database_url.replace("postgresql+psycopg://", "postgresql://", 1)


def wait_for_a_lock_wait(connection: psycopg.Connection[Any], seconds: float = 30) -> None:
    """Returns once some session of this database waits for a lock (a request the test
    holds up inside the service), failing after `seconds`."""
    query = (
        "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE NOT l.granted AND a.datname = current_database()"
    )
    deadline = time.monotonic() + seconds
    while (row := connection.execute(query).fetchone()) is None or row[0] == 0:
        assert time.monotonic() < deadline, "no request came to wait on a lock"
        time.sleep(0.02)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session", autouse=True)
def embedder_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The session's own cache of converted embedders, for this process and the services it
    starts: every run converts once, whatever a previous run left in the user's cache."""
    folder = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REMEMBERER_CACHE_DIR", str(folder))
        yield folder


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    server = EmbeddedPostgres(tmp_path_factory.mktemp("pg"))
    server.start()
    yield server
    server.stop()


def migrated_database(postgres: EmbeddedPostgres, prefix: str) -> tuple[str, str]:
    """A new database on the server, migrated to head: (name, URL)."""
    url = postgres.start()
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(plain_url(url), autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    own_url = url.replace(f"/{postgres.database}?", f"/{name}?", 1)
    upgrade(own_url)
    return name, own_url


@pytest.fixture(scope="session")
def database_url(postgres: EmbeddedPostgres) -> str:
    """A fresh, migrated database for this test session."""
    return migrated_database(postgres, "test")[1]


@pytest.fixture
def own_database(postgres: EmbeddedPostgres) -> tuple[str, str]:
    """A fresh migrated database of the test's own, (name, URL), that it may take offline
    or migrate up and down."""
    return migrated_database(postgres, "own")


class ServerThread:
    """uvicorn serving the app on a free loopback port, in a thread of this process."""

    def __init__(self, settings: Settings, database_url: str, app: FastAPI | None = None) -> None:
        self.port = free_port()
        config = uvicorn.Config(
            app or create_app(settings, database_url=database_url),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings(database_url=None, db_pool_size=10)


@pytest.fixture(scope="session")
def server(settings: Settings, database_url: str) -> Iterator[ServerThread]:
    with ServerThread(settings, database_url) as running:
        yield running


@pytest.fixture
def api(server: ServerThread) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        yield client


@pytest.fixture
def memory_name() -> str:
    return f"m-{uuid.uuid4().hex[:16]}"
