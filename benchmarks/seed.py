"""Bulk seeding of a memory by binary COPY, straight into the service's tables.

Seeding 100k records through `/update` would measure the update path, not retrieval, and
take far longer than the retrieval runs themselves. The rows written here are the ones the
service writes (same key, same [task; observation] embedding), so the service reads and
updates them as its own. The memory's HNSW index is dropped before the load and built
after it, which is how a bulk load into pgvector is meant to be done; the build is timed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import psycopg
from pgvector.psycopg import register_vector
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb
from rememberer.memories.catalog import INDEX_PARTS, IndexShape, MemoryInfo, hnsw_index_ddl
from rememberer.storage.keys import record_key

from benchmarks.data import Dataset
from tests.support.database import plain_url

ACTIONS_PER_RECORD = 2
Connection = psycopg.Connection[TupleRow]

_COPY_RECORDS = (
    "COPY records (memory_id, key, task, observation, visits, last_reward, "
    "total_reward, action_history) FROM STDIN WITH (FORMAT BINARY)"
)
_RECORD_TYPES = ["int8", "bytea", "text", "text", "int4", "float8", "float8", "jsonb"]
_COPY_EMBEDDINGS = (
    "COPY record_embeddings (record_id, memory_id, embedding) FROM STDIN WITH (FORMAT BINARY)"
)
_EMBEDDING_TYPES = ["int8", "int8", "vector"]
# Two actions per record with made-up values, so exemplars carry actions as real ones do.
_SEED_ACTIONS = """
    INSERT INTO action_values (record_id, action_key, action, q, reward, visits)
    SELECT r.id, sha256(convert_to('seeded action ' || g, 'UTF8')), 'seeded action ' || g,
           ((r.id * 7 + g * 13) %% 100) / 100.0, 0, 1 + (r.id + g) %% 3
    FROM records r, generate_series(1, %(per_record)s) g
    WHERE r.memory_id = %(memory)s
"""


@dataclass(frozen=True)
class SeedTimes:
    copy_seconds: float
    index_seconds: float
    index_bytes: int
    table_bytes: int


def connect(url: str) -> Connection:
    connection = psycopg.connect(plain_url(url), autocommit=True)
    register_vector(connection)
    return connection


def memory_info(connection: Connection, name: str) -> MemoryInfo:
    row = connection.execute(
        "SELECT id, gamma, n_step, update_mode, learning_rate, lambda, action_history_mode, "
        "item_capacity, action_capacity, embedder, dimension FROM memories WHERE name = %s",
        (name,),
    ).fetchone()
    if row is None:
        raise LookupError(f"memory {name!r} does not exist")
    return MemoryInfo(row[0], name, *row[1:])


def seed(url: str, name: str, data: Dataset, index: bool = True) -> tuple[SeedTimes, list[int]]:
    """Load `data` into the (empty) memory `name`, with its HNSW indexes unless `index` is
    false (as the service leaves a memory it scans exactly); returns timings and the record
    ids in dataset order."""
    with connect(url) as connection:
        memory = memory_info(connection, name)
        drop_indexes(connection, memory)
        started = time.perf_counter()
        _copy_records(connection, memory, data)
        ids = _record_ids(connection, memory, data)
        _copy_embeddings(connection, memory, data, ids)
        connection.execute(_SEED_ACTIONS, {"per_record": ACTIONS_PER_RECORD, "memory": memory.id})
        for table in ("records", "record_embeddings", "action_values"):
            connection.execute(f"ANALYZE {table}")
        copied = time.perf_counter()
        if index:
            build_index(connection, memory)
        built = time.perf_counter()
        tables = connection.execute(
            "SELECT pg_relation_size('records') + pg_relation_size('record_embeddings')"
        ).fetchone()
        assert tables is not None
        times = SeedTimes(
            copied - started, built - copied, indexes_size(connection, memory), tables[0]
        )
    return times, ids


def drop_indexes(connection: Connection, memory: MemoryInfo) -> None:
    for index_name in memory.index_names:
        connection.execute(f"DROP INDEX IF EXISTS {index_name}")


def build_index(
    connection: Connection, memory: MemoryInfo, shape: IndexShape | None = None
) -> None:
    """The memory's HNSW indexes (every part), in `shape` (default: the service's)."""
    # The whole graph fits in memory at these sizes: building in memory is several times
    # faster than spilling, and one parallel worker is what two cores leave.
    connection.execute("SET maintenance_work_mem = '1GB'")
    connection.execute("SET max_parallel_maintenance_workers = 1")
    for part in INDEX_PARTS:
        connection.execute(hnsw_index_ddl(memory, shape, part=part))


def indexes_size(connection: Connection, memory: MemoryInfo) -> int:
    """The size of the memory's HNSW indexes (0 if it has none)."""
    row = connection.execute(
        "SELECT coalesce(sum(pg_relation_size(to_regclass(name))), 0) FROM unnest(%s::text[]) name",
        (list(memory.index_names),),
    ).fetchone()
    return int(row[0]) if row else 0


def _copy_records(connection: Connection, memory: MemoryInfo, data: Dataset) -> None:
    empty_history = Jsonb([])
    with connection.cursor() as cursor, cursor.copy(_COPY_RECORDS) as copy:
        copy.set_types(_RECORD_TYPES)
        for i in range(len(data)):
            task, observation = data.task_texts[i], data.observation_texts[i]
            key = record_key(task, observation)
            copy.write_row((memory.id, key, task, observation, 1, 0.0, 0.0, empty_history))


def _copy_embeddings(
    connection: Connection, memory: MemoryInfo, data: Dataset, ids: list[int]
) -> None:
    with connection.cursor() as cursor, cursor.copy(_COPY_EMBEDDINGS) as copy:
        copy.set_types(_EMBEDDING_TYPES)
        for i, record_id in enumerate(ids):
            embedding = np.concatenate([data.tasks[i], data.observations[i]])
            copy.write_row((record_id, memory.id, embedding))


def _record_ids(connection: Connection, memory: MemoryInfo, data: Dataset) -> list[int]:
    # A record is its (task, observation): real text repeats observations across tasks.
    pairs = zip(data.task_texts, data.observation_texts, strict=True)
    position = {pair: i for i, pair in enumerate(pairs)}
    ids = [0] * len(data)
    for record_id, task, observation in connection.execute(
        "SELECT id, task, observation FROM records WHERE memory_id = %s", (memory.id,)
    ):
        ids[position[(task, observation)]] = record_id
    return ids
