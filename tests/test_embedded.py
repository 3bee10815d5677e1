"""The embedded PostgreSQL is sized for the machine: shared_buffers holds a large memory."""

from __future__ import annotations

import psycopg
from rememberer.storage.embedded import (
    EmbeddedPostgres,
    machine_memory_bytes,
    shared_buffers_mib,
)

GIB = 1024**3


def test_shared_buffers_are_a_quarter_of_memory_within_bounds() -> None:
    assert shared_buffers_mib(256 * 1024**2) == 128  # never below initdb's default
    assert shared_buffers_mib(2 * GIB) == 512
    assert shared_buffers_mib(24 * GIB) == 1024  # capped


def test_the_running_server_has_them(postgres: EmbeddedPostgres, database_url: str) -> None:
    plain = database_url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(plain) as connection:
        row = connection.execute(
            "SELECT setting::bigint * 8192 / (1024 * 1024) FROM pg_settings "
            "WHERE name = 'shared_buffers'"
        ).fetchone()
    assert row is not None
    assert int(row[0]) == shared_buffers_mib(machine_memory_bytes())
