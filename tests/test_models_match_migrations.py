"""The ORM models and the migrations describe one schema: Alembic's autogenerate comparison
of `storage.models` with a database migrated to head finds no difference."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from rememberer.storage.embedded import EmbeddedPostgres
from rememberer.storage.models import Base
from sqlalchemy import create_engine

from tests.support.database import migrated_database

# Objects the migrations make by hand and the models cannot declare: each memory's HNSW index
# (built lazily, named after the memory) and Alembic's own version table.
NOT_MODELLED_INDEX_PREFIX = "records_hnsw_"
NOT_MODELLED_TABLES = {"alembic_version"}


def _modelled(name: str | None, kind: str, _parents: Any) -> bool:
    """Alembic's include_name hook: whether the comparison looks at this object."""
    if kind == "table":
        return name not in NOT_MODELLED_TABLES
    if kind == "index":
        return not (name or "").startswith(NOT_MODELLED_INDEX_PREFIX)
    return True


def test_models_match_the_migrated_schema(postgres: EmbeddedPostgres) -> None:
    _, url = migrated_database(postgres, "models")
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={
                    "compare_type": True,
                    "compare_server_default": True,
                    "include_name": _modelled,
                },
            )
            differences = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert differences == [], "\n".join(map(str, differences))
