"""The same ranking done three other ways, for side-by-side ratios:

- `PythonScan`: the paper's approach, an in-process linear scan that calls a similarity
  function on every stored record and keeps the best k (written here from the paper's
  description: per-record `λ·cos(task) + (1−λ)·cos(observation)`);
- `exact_top_k` (benchmarks.data): the same scan vectorised with numpy, the ground truth;
- SQL: the exact scan (`ORDER BY embedding <#> q` that no index can serve) and the HNSW
  query the service issues, timed inside one connection without HTTP.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from rememberer.memories.catalog import MemoryInfo
from rememberer.search.query import query_vector

from benchmarks.data import Dataset, Matrix
from benchmarks.seed import Connection


@dataclass(frozen=True)
class StoredState:
    record_id: int
    task: Matrix
    observation: Matrix


def cosine(a: Matrix, b: Matrix) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


class PythonScan:
    """A memory kept as Python objects, ranked by scoring each one in turn."""

    def __init__(self, data: Dataset, ids: Sequence[int]) -> None:
        self.states = [
            StoredState(record_id, data.tasks[i], data.observations[i])
            for i, record_id in enumerate(ids)
        ]

    def retrieve(self, task: Matrix, observation: Matrix, lambda_: float, k: int) -> list[int]:
        def score(state: StoredState) -> float:
            return lambda_ * cosine(task, state.task) + (1 - lambda_) * cosine(
                observation, state.observation
            )

        best = heapq.nlargest(k, self.states, key=score)
        return [state.record_id for state in best]


def time_calls_ms(
    run: Callable[..., object], arguments: Sequence[tuple[object, ...]]
) -> list[float]:
    latencies = []
    for args in arguments:
        started = time.perf_counter()
        run(*args)
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


class SqlScans:
    """The exact scan and the service's HNSW query, on one connection."""

    def __init__(self, connection: Connection, memory: MemoryInfo, ef_search: int) -> None:
        self.connection = connection
        self.memory = memory
        connection.execute(f"SET hnsw.ef_search = {int(ef_search)}")
        connection.execute("SET hnsw.iterative_scan = relaxed_order")  # as the service does
        select = f"SELECT record_id FROM record_embeddings WHERE memory_id = {int(memory.id)}"
        self._exact = f"{select} ORDER BY embedding <#> %s LIMIT %s"
        self._hnsw = f"{select} ORDER BY {memory.index_order('%s')} LIMIT %s"

    def exact(self, task: Matrix, observation: Matrix, lambda_: float, k: int) -> list[int]:
        return self._ids(self._exact, task, observation, lambda_, k)

    def hnsw(self, task: Matrix, observation: Matrix, lambda_: float, k: int) -> list[int]:
        return self._ids(self._hnsw, task, observation, lambda_, k)

    def _ids(
        self, query: str, task: Matrix, observation: Matrix, lambda_: float, k: int
    ) -> list[int]:
        q = query_vector(task, observation, lambda_)
        return [row[0] for row in self.connection.execute(query, (q, k))]
