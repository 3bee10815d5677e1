"""HNSW settings chosen by measurement: on the largest seeded memory, build the index in
each candidate shape (precision, m, ef_construction) and measure, per ef_search, the
latency of the candidate query and the recall@5 of the service's result (k + TIE_MARGIN
candidates rescored exactly, best k kept) at each λ."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rememberer.memories.catalog import (
    INDEX_PARTS,
    INDEX_SHAPE,
    IndexShape,
    MemoryInfo,
    hnsw_index_ddl,
)
from rememberer.search.query import query_vector
from rememberer.search.retrieval import TIE_MARGIN

from benchmarks.data import hits_at_k, kth_best_scores
from benchmarks.memory_bench import LAMBDAS, SCORE_TOLERANCE, K, SizeResult
from benchmarks.seed import Connection

# The service's shape first (its index is already built), then cheaper ones, which insert
# new states faster (the recall suite compares more shapes on every distribution at 10k).
SHAPES = (
    INDEX_SHAPE,
    IndexShape("halfvec", 12, 128),
    IndexShape("halfvec", 8, 64),
)
# New records inserted (then rolled back) to time what the index adds to every new state.
INSERTS = 100
EF_SEARCHES = (64, 600)


@dataclass(frozen=True)
class TuneRow:
    shape: IndexShape
    build_seconds: float
    index_bytes: int
    insert_ms: float
    ef_search: int
    p50_ms: float
    recall: dict[float, float]


def build_shape(connection: Connection, memory: MemoryInfo, shape: IndexShape) -> tuple[float, int]:
    """Rebuild the memory's indexes in `shape`: (seconds, bytes) of all of them."""
    for name in memory.index_names:
        connection.execute(f"DROP INDEX IF EXISTS {name}")
    connection.execute("SET maintenance_work_mem = '1GB'")
    connection.execute("SET max_parallel_maintenance_workers = 1")
    started = time.perf_counter()
    for part in INDEX_PARTS:
        connection.execute(hnsw_index_ddl(memory, shape, part=part))
    seconds = time.perf_counter() - started
    size = connection.execute(
        "SELECT sum(pg_relation_size(name::regclass)) FROM unnest(%s::text[]) name",
        (list(memory.index_names),),
    )
    row = size.fetchone()
    return seconds, int(row[0]) if row and row[0] is not None else 0


_INSERT_STATE = """
    WITH r AS (
      INSERT INTO records (memory_id, key, task, observation, visits, last_reward,
                           total_reward, action_history)
      VALUES (%s, %s, 'insert cost', %s, 1, 0, 0, '[]') RETURNING id, memory_id
    )
    INSERT INTO record_embeddings (record_id, memory_id, embedding)
    SELECT id, memory_id, %s FROM r
"""


def insert_ms(connection: Connection, memory: MemoryInfo, vectors: np.ndarray) -> float:
    """Median time to insert one new record (a new state) into the memory and its index."""
    times = []
    with connection.transaction(force_rollback=True):
        for i, vector in enumerate(vectors):
            started = time.perf_counter()
            connection.execute(
                _INSERT_STATE, (memory.id, f"insert {i}".encode(), f"page {i}", vector)
            )
            times.append((time.perf_counter() - started) * 1000)
    return float(np.median(times))


class Bench:
    """The seeded memory, its queries and their exact answers, on one connection."""

    def __init__(
        self, connection: Connection, memory: MemoryInfo, seeded: SizeResult, queries: int
    ) -> None:
        self.connection = connection
        self.memory = memory
        self.data = seeded.data
        self.queries = seeded.queries[:queries]
        self.position = {record_id: i for i, record_id in enumerate(seeded.ids)}
        self.bars = {lam: kth_best_scores(self.data, self.queries, lam, K) for lam in LAMBDAS}

    def recall_and_latencies(self, sql: str, lambda_: float) -> tuple[float, list[float]]:
        hits, latencies = 0, []
        for q in range(len(self.queries)):
            task, observation = self.queries.tasks[q], self.queries.observations[q]
            vector = query_vector(task, observation, lambda_)
            started = time.perf_counter()
            found = self.connection.execute(sql, (vector, K + TIE_MARGIN)).fetchall()
            latencies.append((time.perf_counter() - started) * 1000)
            rows = np.array([self.position[r[0]] for r in found], dtype=np.int64)
            bar = float(self.bars[lambda_][q])
            hits += hits_at_k(self.data, rows, task, observation, lambda_, bar, K, SCORE_TOLERANCE)
        return hits / (K * len(self.queries)), latencies

    def measure_shape(
        self, shape: IndexShape, ef_searches: Sequence[int], built: tuple[float, int] | None
    ) -> list[TuneRow]:
        """`built`: (seconds, bytes) when the memory's index already has this shape."""
        build_seconds, index_bytes = built or build_shape(self.connection, self.memory, shape)
        n = min(INSERTS, len(self.queries))
        new_states = np.concatenate(
            [self.queries.tasks[:n], self.queries.observations[:n]], axis=1
        ).astype(np.float32)
        insert = insert_ms(self.connection, self.memory, new_states)
        order = shape.order_by(self.memory.dimension, "%s")
        sql = (
            f"SELECT record_id FROM record_embeddings WHERE memory_id = {int(self.memory.id)} "
            f"ORDER BY {order} LIMIT %s"
        )
        rows = []
        for ef_search in ef_searches:
            self.connection.execute(f"SET hnsw.ef_search = {int(ef_search)}")
            recall, latencies = {}, []
            for lambda_ in LAMBDAS:
                recall[lambda_], times = self.recall_and_latencies(sql, lambda_)
                latencies += times
            p50 = float(np.percentile(latencies, 50))
            rows.append(TuneRow(shape, build_seconds, index_bytes, insert, ef_search, p50, recall))
        return rows


def tune(
    connection: Connection,
    memory: MemoryInfo,
    seeded: SizeResult,
    queries: int,
    shapes: Sequence[IndexShape] = SHAPES,
    ef_searches: Sequence[int] = EF_SEARCHES,
) -> list[TuneRow]:
    """Every shape and ef_search on the seeded memory (whose index is left in the last
    shape: nothing uses the memory afterwards)."""
    # Records the update runs added are not in the seeded data the ground truth knows.
    connection.execute(
        "DELETE FROM records WHERE memory_id = %s AND id > %s", (memory.id, max(seeded.ids))
    )
    bench = Bench(connection, memory, seeded, queries)
    seeded_index = (seeded.seed.index_seconds, seeded.seed.index_bytes)
    rows = []
    for shape in shapes:
        built = seeded_index if shape == INDEX_SHAPE else None
        rows += bench.measure_shape(shape, ef_searches, built)
    return rows
