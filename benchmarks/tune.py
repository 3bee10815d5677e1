"""HNSW settings chosen by measurement: on the largest seeded memory, build the index in
each candidate shape (precision, m, ef_construction) and measure, per ef_search, the
latency of the candidate query and the recall@5 of the service's result (k + TIE_MARGIN
candidates rescored exactly, best k kept) at each λ."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rememberer.memories.catalog import INDEX_SHAPE, IndexShape, MemoryInfo
from rememberer.search.query import query_vector
from rememberer.search.retrieval import TIE_MARGIN

from benchmarks.data import hits_at_k, kth_best_scores
from benchmarks.memory_bench import LAMBDAS, SCORE_TOLERANCE, K, SizeResult
from benchmarks.seed import Connection, build_index, drop_indexes, indexes_size

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
    drop_indexes(connection, memory)
    started = time.perf_counter()
    build_index(connection, memory, shape)
    return time.perf_counter() - started, indexes_size(connection, memory)


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
