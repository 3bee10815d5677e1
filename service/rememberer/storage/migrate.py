"""Alembic, driven from code: the scripts live in `migrations/` (package rememberer.migrations)."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection


def alembic_config(database_url: str | None = None) -> Config:
    folder = Path(str(resources.files("rememberer.migrations")))
    config = Config(str(folder / "alembic.ini"))
    config.set_main_option("script_location", str(folder))
    if database_url:
        config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str | None = None) -> None:
    command.upgrade(alembic_config(database_url), "head")


@lru_cache
def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()
