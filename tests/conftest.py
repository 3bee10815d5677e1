"""One real PostgreSQL + pgvector (embedded) and one real HTTP server per test session."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from rememberer.config import Settings
from rememberer.storage.embedded import EmbeddedPostgres

from tests.support.database import migrated_database
from tests.support.http import ServerThread
from tests.support.paths import EMBEDDER_CACHE


@pytest.fixture(scope="session", autouse=True)
def embedder_cache() -> Iterator[Path]:
    """The tests' own cache of converted embedders, for this process and the services it
    starts: kept between runs in the repository (the conversion is slow), apart from the
    user's cache, which no test writes."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REMEMBERER_CACHE_DIR", str(EMBEDDER_CACHE))
        yield EMBEDDER_CACHE


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    server = EmbeddedPostgres(tmp_path_factory.mktemp("pg"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def database_url(postgres: EmbeddedPostgres) -> str:
    """A fresh, migrated database for this test session."""
    return migrated_database(postgres, "test")[1]


@pytest.fixture
def own_database(postgres: EmbeddedPostgres) -> tuple[str, str]:
    """A fresh migrated database of the test's own, (name, URL), that it may take offline
    or migrate up and down."""
    return migrated_database(postgres, "own")


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
