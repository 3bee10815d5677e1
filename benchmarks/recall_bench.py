"""Recall@5 per distribution and λ, and the HNSW index shape, measured in SQL.

Each distribution (distributions.py, real_text.py) is seeded into a memory of its own with
the service's indexes. Its queries are then answered the way the service answers them (its
own candidate SQL: the scans `rememberer.search.retrieval.scans_for` picks at λ, with the
ef_search and candidate count of `search_effort`, rescored exactly), and by the whole-vector
index alone at fixed ef_search values for comparison, against an exact numpy scan of the
same vectors. Last, each candidate index shape is built (both indexes) on each distribution
and timed: build, the insert of a new state, search, and recall with the service's search.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from rememberer.config import Settings
from rememberer.memories.catalog import INDEX_SHAPE, IndexShape, MemoryInfo
from rememberer.search.query import query_vector
from rememberer.search.retrieval import (
    NEAR_TASKS_MEMORY_MAX,
    SEARCH_SETTINGS,
    TIE_MARGIN,
    candidates_sql,
    scans_for,
    search_effort,
)

from benchmarks.data import hits_at_k, kth_best_scores
from benchmarks.distributions import Memory
from benchmarks.seed import Connection, memory_info, seed
from benchmarks.tune import build_shape, insert_ms

logger = logging.getLogger(__name__)

K = 5
LAMBDAS = (0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0)
SCORE_TOLERANCE = 1e-4
SERVICE = "service"
# Fixed ef_search values the service's choice is compared with (64: the former default).
FIXED_EF_SEARCHES = (64, 200, 400, 800)
# Candidate shapes (precision, m, ef_construction); the service's is measured first.
SHAPES = tuple(
    dict.fromkeys(
        [
            INDEX_SHAPE,
            IndexShape("halfvec", 12, 256),
            IndexShape("halfvec", 16, 128),
            IndexShape("halfvec", 12, 128),
            IndexShape("halfvec", 16, 64),
            IndexShape("halfvec", 8, 128),
            IndexShape("halfvec", 8, 64),
        ]
    )
)


@dataclass(frozen=True)
class RecallRow:
    distribution: str
    size: int
    search: str  # SERVICE or "ef_search N"
    recall: dict[float, float]
    p50_ms: float
    p99_ms: float
    # The same recall over the queries on a task the memory has no record of (empty if none
    # is asked): an agent's first steps in a new task, where the misses are.
    new_task_recall: dict[float, float] = field(default_factory=dict)


@dataclass(frozen=True)
class ShapeRow:
    distribution: str
    size: int
    shape: IndexShape
    build_seconds: float
    index_bytes: int
    insert_ms: float
    p50_ms: float
    worst_recall: float


def recall_of(hits: npt.NDArray[np.int64]) -> float:
    """Recall@K of queries with these hits among their best K (1.0 for no queries)."""
    return float(hits.sum()) / (K * len(hits)) if len(hits) else 1.0


def _psycopg_binds(sql: str) -> str:
    """The service's SQL (`:name` binds) with psycopg's named placeholders."""
    return re.sub(r"(?<![:\w]):([a-z_]+)", r"%(\1)s", sql)


class RecallBench:
    """One seeded memory, its queries and their exact answers, on one connection."""

    def __init__(self, connection: Connection, info: MemoryInfo, memory: Memory, ids: list[int]):
        self.connection = connection
        self.info = info
        self.memory = memory
        self.position = {record_id: i for i, record_id in enumerate(ids)}
        queries = memory.queries
        self.bars = {lam: kth_best_scores(memory.data, queries, lam, K) for lam in LAMBDAS}
        known = set(memory.data.task_texts)
        self.new_task = np.array([task not in known for task in queries.task_texts], dtype=bool)
        # The service's settings for its search, here for the whole (autocommit) session.
        for name, value in SEARCH_SETTINGS.items():
            connection.execute("SELECT set_config(%s, %s, false)", (name, value))
        # As the service learns it once per memory (retrieval.SearchParams).
        tasks = connection.execute(
            "SELECT count(*) FROM memory_tasks WHERE memory_id = %s", (info.id,)
        ).fetchone()
        self.many_tasks = tasks is not None and tasks[0] > NEAR_TASKS_MEMORY_MAX

    def _sql(self, search: str, lambda_: float, shape: IndexShape) -> str:
        """The candidates' SQL: the service's own scans (on whatever shape the memory's
        indexes have), or the whole-vector index alone."""
        if search == SERVICE:
            scans = scans_for(lambda_, task_known=True, many_tasks=self.many_tasks)
            return _psycopg_binds(
                f"SELECT id FROM ({candidates_sql(self.info, True, scans=scans)}) c"
            )
        order = shape.order_by(self.info.dimension, "%(q)s")
        return (
            f"SELECT record_id FROM record_embeddings WHERE memory_id = {int(self.info.id)} "
            f"ORDER BY {order} LIMIT %(n)s"
        )

    def answer(
        self, search: str, lambda_: float, shape: IndexShape = INDEX_SHAPE
    ) -> tuple[float, list[float]]:
        """Recall@K at `lambda_` and the latency of each candidate query (ms)."""
        hits, latencies = self._hits(search, lambda_, shape)
        return recall_of(hits), latencies

    def _hits(
        self, search: str, lambda_: float, shape: IndexShape
    ) -> tuple[npt.NDArray[np.int64], list[float]]:
        """Each query's hits among its best K, and the latency of each candidate query (ms)."""
        candidates = self.prepare(search, lambda_)
        sql = self._sql(search, lambda_, shape)
        hits, latencies = np.zeros(len(self.memory.queries), dtype=np.int64), []
        for q in range(len(hits)):
            hits[q], elapsed = self.ask(sql, q, lambda_, candidates)
            latencies.append(elapsed)
        return hits, latencies

    def effort(self, search: str, lambda_: float) -> tuple[int, int]:
        """(ef_search, candidates) of `search` (the service's, or "ef_search N") at λ in this
        memory."""
        if search == SERVICE:
            configured = Settings().hnsw_ef_search
            return search_effort(K, lambda_, configured)
        return int(search.split()[-1]), K + TIE_MARGIN

    def prepare(self, search: str, lambda_: float) -> int:
        """Sets the session's ef_search for `search` at λ; returns its candidate count."""
        ef_search, candidates = self.effort(search, lambda_)
        self.connection.execute(f"SET hnsw.ef_search = {int(ef_search)}")
        return candidates

    def ask(self, sql: str, q: int, lambda_: float, candidates: int) -> tuple[int, float]:
        """Query q's hits among the best K of the candidates `sql` returns (ids first), and
        the statement's latency (ms), under the session's current ef_search."""
        queries, data = self.memory.queries, self.memory.data
        task, observation = queries.tasks[q], queries.observations[q]
        binds = {
            "q": query_vector(task, observation, lambda_),
            "t": task,
            "o": observation,
            "n": candidates,
            "k": K,
            "task_text": queries.task_texts[q],
        }
        started = time.perf_counter()
        found = self.connection.execute(sql, binds).fetchall()
        elapsed = (time.perf_counter() - started) * 1000
        rows = np.array([self.position[r[0]] for r in found], dtype=np.int64)
        bar = float(self.bars[lambda_][q])
        hits = hits_at_k(data, rows, task, observation, lambda_, bar, K, SCORE_TOLERANCE)
        return hits, elapsed

    def service_sql(self, lambda_: float) -> str:
        """The service's candidate SQL at λ, as the module's constants build it now."""
        return self._sql(SERVICE, lambda_, INDEX_SHAPE)

    def recall_row(self, search: str) -> RecallRow:
        recall, new_task_recall, latencies = {}, {}, []
        for lambda_ in LAMBDAS:
            hits, times = self._hits(search, lambda_, INDEX_SHAPE)
            recall[lambda_] = recall_of(hits)
            if self.new_task.any():
                new_task_recall[lambda_] = recall_of(hits[self.new_task])
            latencies += times
        return RecallRow(
            self.memory.name,
            len(self.memory.data),
            search,
            recall,
            float(np.percentile(latencies, 50)),
            float(np.percentile(latencies, 99)),
            new_task_recall,
        )

    def shape_row(self, shape: IndexShape) -> ShapeRow:
        build_seconds, index_bytes = build_shape(self.connection, self.info, shape)
        n = min(100, len(self.memory.queries))
        queries = self.memory.queries
        states = np.concatenate([queries.tasks[:n], queries.observations[:n]], axis=1)
        insert = insert_ms(self.connection, self.info, states.astype(np.float32))
        recall, latencies = [], []
        for lambda_ in LAMBDAS:
            hit, times = self.answer(SERVICE, lambda_, shape)
            recall.append(hit)
            latencies += times
        return ShapeRow(
            self.memory.name,
            len(self.memory.data),
            shape,
            build_seconds,
            index_bytes,
            insert,
            float(np.percentile(latencies, 50)),
            min(recall),
        )


def measure_distribution(
    connection: Connection,
    url: str,
    memory_name: str,
    memory: Memory,
    shapes: Sequence[IndexShape],
) -> tuple[list[RecallRow], list[ShapeRow]]:
    """Seed `memory` into the (new, empty) service memory `memory_name` and measure it."""
    logger.info("recall: seeding %s, %d records", memory.name, len(memory.data))
    _, ids = seed(url, memory_name, memory.data, index=True)
    bench = RecallBench(connection, memory_info(connection, memory_name), memory, ids)
    bench.answer(SERVICE, 0.5)  # warm the buffer cache and the plan
    searches = [SERVICE, *(f"ef_search {ef}" for ef in FIXED_EF_SEARCHES)]
    recall = [bench.recall_row(search) for search in searches]
    for row in recall:
        logger.info("recall %s %s: %s", memory.name, row.search, row.recall)
    # The service's shape is built already; the others replace it in turn.
    shape_rows = [bench.shape_row(shape) for shape in shapes]
    return recall, shape_rows
