"""Alembic environment: the database URL comes from the caller or from Settings."""

from __future__ import annotations

from alembic import context
from rememberer.config import get_settings
from rememberer.storage.db import sync_url
from rememberer.storage.models import Base
from sqlalchemy import create_engine, pool


def _database_url() -> str:
    url = context.config.attributes.get("database_url") or get_settings().database_url
    if not url:
        raise RuntimeError("no database URL: set REMEMBERER_DATABASE_URL or pass --database-url")
    return sync_url(str(url))


def run_migrations_online() -> None:
    engine = create_engine(_database_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=Base.metadata)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
