"""Recall of the service's HNSW search on data it was not tuned on (small enough for CI).

A memory of the `text-game` distribution (benchmarks/distributions.py: objectives shared by
many records, near-duplicate observations), past the exact scan so that the service searches
its HNSW index, must give recall@5 >= 0.99 at every λ through `/retrieve`. The same queries
with ef_search fixed at 64 (the former default) fall below that on this memory: the check
fails if the service's search falls back to it. A memory of more tasks than the near-task
search ranks (`tight-loose`), searched by the whole-vector walk alone from λ = 0.5, must
keep the same recall.
"""

from __future__ import annotations

from typing import Any

import httpx
import numpy as np
from rememberer.search.retrieval import NEAR_TASKS_MEMORY_MAX, scans_for

from benchmarks.data import hits_at_k, kth_best_scores
from benchmarks.distributions import text_game, tight_loose
from benchmarks.memory_bench import put_vectors, query_vectors
from benchmarks.recall_bench import LAMBDAS, SCORE_TOLERANCE, K, RecallBench
from benchmarks.seed import connect, memory_info, seed

RECORDS = 3_000
# tight-loose has ten records per task: 1,200 tasks.
MANY_TASKS_RECORDS = 12_000
QUERIES = 60
GOAL = 0.99
SEED = 3


def service_recall(
    api: httpx.Client, memory: str, bench: RecallBench, ids: list[int], lambda_: float
) -> float:
    data, queries = bench.memory.data, bench.memory.queries
    position = {record_id: i for i, record_id in enumerate(ids)}
    bars = kth_best_scores(data, queries, lambda_, K)
    hits = 0
    for q in range(len(queries)):
        body: dict[str, Any] = {
            "task": queries.task_texts[q],
            "observation": queries.observation_texts[q],
            "k": K,
            "lambda": lambda_,
        }
        answer = api.post(f"/v1/memories/{memory}/retrieve", json=body)
        answer.raise_for_status()
        rows = np.array([position[e["record_id"]] for e in answer.json()["exemplars"]])
        task, observation = queries.tasks[q], queries.observations[q]
        hits += hits_at_k(data, rows, task, observation, lambda_, bars[q], K, SCORE_TOLERANCE)
    return hits / (K * len(queries))


def test_hnsw_recall_holds_on_data_it_was_not_tuned_on(
    api: httpx.Client, database_url: str, memory_name: str
) -> None:
    memory = text_game(RECORDS, QUERIES, SEED)
    api.post("/v1/memories", json={"name": memory_name}).raise_for_status()
    _, ids = seed(database_url, memory_name, memory.data, index=True)
    put_vectors(api, memory_name, query_vectors(memory.queries))
    with connect(database_url) as connection:
        bench = RecallBench(connection, memory_info(connection, memory_name), memory, ids)
        former = {lam: bench.answer("ef_search 64", lam)[0] for lam in LAMBDAS}
    assert min(former.values()) < GOAL, f"ef_search 64 no longer misses here: {former}"
    recall = {lam: service_recall(api, memory_name, bench, ids, lam) for lam in LAMBDAS}
    assert min(recall.values()) >= GOAL, f"{recall}"


def test_a_memory_of_many_tasks_keeps_its_recall_with_one_walk_from_lambda_half(
    api: httpx.Client, database_url: str, memory_name: str
) -> None:
    memory = tight_loose(MANY_TASKS_RECORDS, QUERIES, SEED)
    assert len(set(memory.data.task_texts)) > NEAR_TASKS_MEMORY_MAX
    assert not scans_for(0.5, task_known=True, many_tasks=True).observation
    api.post("/v1/memories", json={"name": memory_name}).raise_for_status()
    _, ids = seed(database_url, memory_name, memory.data, index=True)
    put_vectors(api, memory_name, query_vectors(memory.queries))
    with connect(database_url) as connection:
        bench = RecallBench(connection, memory_info(connection, memory_name), memory, ids)
        recall = {lam: service_recall(api, memory_name, bench, ids, lam) for lam in LAMBDAS}
    assert min(recall.values()) >= GOAL, f"{recall}"
