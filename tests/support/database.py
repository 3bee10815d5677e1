"""Databases of the embedded PostgreSQL for tests and benchmarks."""

from __future__ import annotations

import time
import uuid
from typing import Any

import psycopg
from psycopg import sql
from rememberer.storage.embedded import EmbeddedPostgres
from rememberer.storage.migrate import upgrade


def plain_url(database_url: str) -> str:
    """A SQLAlchemy URL as libpq (psycopg.connect) takes it."""
    return database_url.replace("postgresql+psycopg://", "postgresql://", 1)


def migrated_database(postgres: EmbeddedPostgres, prefix: str) -> tuple[str, str]:
    """A new database on the (started) server, migrated to head: (name, URL)."""
    url = postgres.start()
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(plain_url(url), autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    own_url = url.replace(f"/{postgres.database}?", f"/{name}?", 1)
    upgrade(own_url)
    return name, own_url


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


def index_valid(database_url: str, index: str) -> bool | None:
    """None: no such index; False: being built (or a build failed); True: usable."""
    with psycopg.connect(plain_url(database_url)) as connection:
        row = connection.execute(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)", (index,)
        ).fetchone()
    return None if row is None else bool(row[0])


def stale_best_q(database_url: str, memory: str) -> list[tuple[str, float, float]]:
    """The memory's records whose stored best q is not the highest q of their action
    values: (observation, stored, counted)."""
    query = """
        SELECT r.observation, r.best_q, counted.best_q FROM records r
        JOIN memories m ON m.id = r.memory_id,
        LATERAL (SELECT COALESCE(max(a.q), '-Infinity') AS best_q
                 FROM action_values a WHERE a.record_id = r.id) counted
        WHERE m.name = %s AND r.best_q IS DISTINCT FROM counted.best_q
    """
    with psycopg.connect(plain_url(database_url)) as connection:
        return [(str(o), float(s), float(c)) for o, s, c in connection.execute(query, (memory,))]
