"""A memory's HNSW indexes (whole vectors, observation halves) are built in the background
once the memory outgrows the exact scan: one build at a time, an interrupted build is
dropped and built again, an index missing beside an older memory's is added, and the memory
is searched exactly until all are usable."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import psycopg
import pytest
from rememberer.config import Settings
from rememberer.memories.catalog import MemoryInfo, find_memory, hnsw_index_ddl
from rememberer.search.indexing import _BUILD_LOCK, IndexBuilder
from rememberer.storage.db import create_engine, create_sessionmaker
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.database import index_valid, plain_url

DIM = 4
RECORDS = 20


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, Settings())
    yield engine
    await engine.dispose()


@pytest.fixture
def grown(api: httpx.Client, memory_name: str) -> str:
    """A memory of 20 learned records, without an index (the session's service scans it)."""
    api.post("/v1/memories", json={"name": memory_name, "embedder": "client", "dimension": DIM})
    vectors = {"task": [1.0, 0.0, 0.0, 0.0]}
    vectors |= {f"page {i}": [0.1, float(i), 1.0, 0.5] for i in range(RECORDS + 1)}
    stored = api.put(f"/v1/memories/{memory_name}/embeddings", json={"embeddings": vectors})
    stored.raise_for_status()
    transitions = [
        {
            "step": i,
            "observation": f"page {i}",
            "action": "next",
            "reward": 0.0,
            "next_observation": f"page {i + 1}",
            "done": i == RECORDS - 1,
        }
        for i in range(RECORDS)
    ]
    body = {"episode_id": "grow", "task": "task", "transitions": transitions}
    api.post(f"/v1/memories/{memory_name}/update", json=body).raise_for_status()
    return memory_name


@pytest.fixture
async def memory(grown: str, engine: AsyncEngine) -> MemoryInfo:
    async with create_sessionmaker(engine)() as session:
        return await find_memory(session, grown)


async def test_an_interrupted_build_is_dropped_and_built_again(
    memory: MemoryInfo, database_url: str, engine: AsyncEngine
) -> None:
    with psycopg.connect(plain_url(database_url), autocommit=True) as connection:
        connection.execute(hnsw_index_ddl(memory))
        # What a cancelled CREATE INDEX CONCURRENTLY leaves behind.
        connection.execute(
            "UPDATE pg_index SET indisvalid = false WHERE indexrelid = to_regclass(%s)",
            (memory.index_name,),
        )
    assert index_valid(database_url, memory.index_name) is False
    assert await IndexBuilder(engine).build(memory)
    assert all_valid(database_url, memory)


def all_valid(database_url: str, memory: MemoryInfo) -> bool:
    return all(index_valid(database_url, name) for name in memory.index_names)


async def test_a_memory_with_the_whole_vector_index_only_gets_the_observation_index(
    memory: MemoryInfo, database_url: str, engine: AsyncEngine
) -> None:
    with psycopg.connect(plain_url(database_url), autocommit=True) as connection:
        connection.execute(hnsw_index_ddl(memory))  # what an older version built
    [observation_index] = [name for name in memory.index_names if name != memory.index_name]
    assert index_valid(database_url, observation_index) is None
    assert await IndexBuilder(engine).build(memory)
    assert all_valid(database_url, memory)


async def test_one_process_builds_at_a_time(
    memory: MemoryInfo, database_url: str, engine: AsyncEngine
) -> None:
    with psycopg.connect(plain_url(database_url), autocommit=True) as other_builder:
        other_builder.execute("SELECT pg_advisory_lock(%s, %s)", (_BUILD_LOCK, memory.id))
        assert not await IndexBuilder(engine).build(memory)
        assert all(index_valid(database_url, name) is None for name in memory.index_names)
        # Released here, not by closing: a closed session's locks go only once its backend
        # has exited, which a loaded machine may not have done by the next line.
        other_builder.execute("SELECT pg_advisory_unlock(%s, %s)", (_BUILD_LOCK, memory.id))
    assert await IndexBuilder(engine).build(memory)
    assert all_valid(database_url, memory)


async def test_requests_share_one_build(
    memory: MemoryInfo, database_url: str, engine: AsyncEngine
) -> None:
    builder = IndexBuilder(engine)
    builder.request(memory)
    [task] = builder._building.values()
    builder.request(memory)
    assert list(builder._building.values()) == [task]
    await task
    assert all_valid(database_url, memory)
    await builder.aclose()


async def test_a_deleted_memory_loses_its_indexes(
    api: httpx.Client, memory: MemoryInfo, database_url: str, engine: AsyncEngine
) -> None:
    assert await IndexBuilder(engine).build(memory)
    assert all_valid(database_url, memory)
    deleted = await asyncio.to_thread(api.delete, f"/v1/memories/{memory.name}")
    assert deleted.status_code == 204
    deadline = time.monotonic() + 30
    while not all(index_valid(database_url, name) is None for name in memory.index_names):
        assert time.monotonic() < deadline, "the deleted memory's indexes are still there"
        await asyncio.sleep(0.2)
