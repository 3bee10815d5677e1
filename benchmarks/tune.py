"""HNSW settings chosen by measurement: on the largest seeded memory, build the index in
each candidate shape (precision, m, ef_construction) and measure, per ef_search, the
latency of the candidate query and the recall@5 of the service's result (k + TIE_MARGIN
candidates rescored exactly, best k kept) at each λ."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rememberer.memories import INDEX_SHAPE, IndexShape, MemoryInfo, hnsw_index_ddl
from rememberer.retrieval import TIE_MARGIN, query_vector

from benchmarks.data import Dataset, Queries, exact_top_k
from benchmarks.memory_bench import LAMBDAS, SCORE_TOLERANCE, K, SizeResult
from benchmarks.seed import Connection

SHAPES = (
    IndexShape("vector", 16, 64),
    IndexShape("halfvec", 16, 64),
    IndexShape("halfvec", 24, 100),
)
EF_SEARCHES = (20, 40, 100)


@dataclass(frozen=True)
class TuneRow:
    shape: IndexShape
    build_seconds: float
    index_bytes: int
    ef_search: int
    p50_ms: float
    recall: dict[float, float]


def _build(connection: Connection, memory: MemoryInfo, shape: IndexShape) -> tuple[float, int]:
    connection.execute(f"DROP INDEX IF EXISTS {memory.index_name}")
    connection.execute("SET maintenance_work_mem = '1GB'")
    connection.execute("SET max_parallel_maintenance_workers = 1")
    started = time.perf_counter()
    connection.execute(hnsw_index_ddl(memory, shape))
    seconds = time.perf_counter() - started
    size = connection.execute("SELECT pg_relation_size(%s::regclass)", (memory.index_name,))
    row = size.fetchone()
    return seconds, int(row[0]) if row else 0


def measure_shape(
    connection: Connection,
    memory: MemoryInfo,
    shape: IndexShape,
    data: Dataset,
    ids: Sequence[int],
    queries: Queries,
    ef_searches: Sequence[int],
) -> list[TuneRow]:
    build_seconds, index_bytes = _build(connection, memory, shape)
    position = {record_id: i for i, record_id in enumerate(ids)}
    order = shape.order_by(memory.dimension, "%s")
    sql = f"SELECT id FROM records WHERE memory_id = {int(memory.id)} ORDER BY {order} LIMIT %s"
    rows = []
    for ef_search in ef_searches:
        connection.execute(f"SET hnsw.ef_search = {int(ef_search)}")
        latencies: list[float] = []
        recall = {}
        for lambda_ in LAMBDAS:
            hits = 0
            for q in range(len(queries)):
                task, observation = queries.tasks[q], queries.observations[q]
                vector = query_vector(task, observation, lambda_)
                started = time.perf_counter()
                found = connection.execute(sql, (vector, K + TIE_MARGIN)).fetchall()
                latencies.append((time.perf_counter() - started) * 1000)
                rows_found = np.array([position[r[0]] for r in found], dtype=np.int64)
                scores = lambda_ * (data.tasks[rows_found] @ task) + (1 - lambda_) * (
                    data.observations[rows_found] @ observation
                )
                kept = np.sort(scores)[::-1][:K]
                _, best = exact_top_k(data, task, observation, lambda_, K)
                hits += int(np.sum(kept >= best[-1] - SCORE_TOLERANCE))
            recall[lambda_] = hits / (K * len(queries))
        p50 = float(np.percentile(latencies, 50))
        rows.append(TuneRow(shape, build_seconds, index_bytes, ef_search, p50, recall))
    return rows


def tune(
    connection: Connection,
    memory: MemoryInfo,
    seeded: SizeResult,
    queries: int,
    shapes: Sequence[IndexShape] = SHAPES,
    ef_searches: Sequence[int] = EF_SEARCHES,
) -> list[TuneRow]:
    """Every shape and ef_search on the seeded memory; its index is left as the service
    builds it."""
    # Records the update runs added are not in the seeded data the ground truth knows.
    connection.execute(
        "DELETE FROM records WHERE memory_id = %s AND id > %s", (memory.id, max(seeded.ids))
    )
    asked = seeded.queries[:queries]
    rows = []
    for shape in shapes:
        rows += measure_shape(
            connection, memory, shape, seeded.data, seeded.ids, asked, ef_searches
        )
    _build(connection, memory, INDEX_SHAPE)
    return rows
