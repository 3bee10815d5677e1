"""Per memory size: seed, then retrieval (HTTP at 1 and 8 clients, recall per λ, the SQL
and in-process scans side by side) and update throughput with concurrent agents."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np
from rememberer.config import Settings
from rememberer.search.retrieval import TIE_MARGIN, ef_search_for

from benchmarks.cpu import CpuMeter, CpuSeconds
from benchmarks.data import Dataset, Generator, Queries, exact_top_k, hits_at_k, kth_best_scores
from benchmarks.load import Call, HttpConnection, LoadResult, post_json, run_load
from benchmarks.scans import PythonScan, SqlScans, time_calls_ms
from benchmarks.seed import SeedTimes, connect, memory_info, seed

logger = logging.getLogger(__name__)

K = 5
LAMBDAS = (0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0)
DEFAULT_LAMBDA = 0.5
# About 8 KB of JSON per 384-number vector: a batch stays well under the 8 MiB request limit.
PUT_BATCH = 500
# Two scores this close are the same score: float32 sums in PostgreSQL and numpy differ.
SCORE_TOLERANCE = 1e-5


@dataclass(frozen=True)
class Plan:
    """How much to measure per size."""

    queries: int = 300
    sql_queries: int = 100
    python_scan_queries: int = 5
    agents: int = 8
    episodes_per_agent: int = 8
    episode_steps: int = 10


@dataclass
class SizeResult:
    memory: str
    size: int
    seed: SeedTimes
    one_client: LoadResult
    eight_clients: LoadResult
    recall: dict[float, float]
    sql_exact_ms: list[float]
    sql_hnsw_ms: list[float]
    numpy_ms: list[float]
    python_scan_ms: list[float]
    update_per_step: LoadResult
    update_per_episode: LoadResult
    # The same episodes again under new ids: every state is known, nothing is inserted.
    update_revisiting: LoadResult
    # CPU seconds of the service and of the database during each of the three update runs.
    update_cpu: tuple[CpuSeconds, CpuSeconds, CpuSeconds] | None
    transitions_per_episode: int
    # What was seeded and asked, for the tuning runs on the same memory.
    data: Dataset = field(repr=False)
    ids: list[int] = field(repr=False)
    queries: Queries = field(repr=False)


def put_vectors(api: httpx.Client, memory: str, vectors: dict[str, list[float]]) -> None:
    items = list(vectors.items())
    for start in range(0, len(items), PUT_BATCH):
        body = {"embeddings": dict(items[start : start + PUT_BATCH])}
        response = api.put(f"/v1/memories/{memory}/embeddings", json=body)
        response.raise_for_status()


def query_vectors(queries: Queries) -> dict[str, list[float]]:
    vectors = dict(zip(queries.task_texts, queries.tasks.tolist(), strict=True))
    vectors.update(zip(queries.observation_texts, queries.observations.tolist(), strict=True))
    return vectors


def retrieve_calls(
    memory: str, queries: Queries, lambda_: float | None, answers: dict[int, Any] | None = None
) -> list[Call]:
    calls = []
    for i in range(len(queries)):
        body: dict[str, Any] = {
            "task": queries.task_texts[i],
            "observation": queries.observation_texts[i],
            "k": K,
        }
        if lambda_ is not None:
            body["lambda"] = lambda_
        sink = None if answers is None else (lambda answer, i=i: answers.__setitem__(i, answer))
        calls.append(post_json(f"/v1/memories/{memory}/retrieve", body, sink))
    return calls


def recall_at_k(
    data: Dataset, ids: Sequence[int], queries: Queries, answers: dict[int, Any], lambda_: float
) -> float:
    """Share of returned exemplars whose exact score reaches the exact k-th best score
    (ties at the k-th place count either way)."""
    position = {record_id: i for i, record_id in enumerate(ids)}
    bars = kth_best_scores(data, queries, lambda_, K)
    hits = 0
    for q in range(len(queries)):
        rows = np.array([position[e["record_id"]] for e in answers[q]["exemplars"]])
        task, observation = queries.tasks[q], queries.observations[q]
        hits += hits_at_k(data, rows, task, observation, lambda_, bars[q], K, SCORE_TOLERANCE)
    return hits / (K * len(queries))


def measure_size(
    api: httpx.Client,
    url: str,
    generator: Generator,
    memory: str,
    size: int,
    plan: Plan,
    cpu: CpuMeter | None = None,
) -> SizeResult:
    created = api.post("/v1/memories", json={"name": memory, "gamma": 0.9, "lambda": 0.5})
    created.raise_for_status()
    data = generator.dataset(size, prefix=f"s{size}")
    logger.info("seeding %d records", size)
    # Like the service, which builds a memory's index once it outgrows the exact scan.
    indexed = size > Settings().exact_search_max_records
    times, ids = seed(url, memory, data, index=indexed)
    queries = generator.queries(data, plan.queries, prefix=f"s{size}")
    put_vectors(api, memory, query_vectors(queries))
    base = str(api.base_url)
    run_load(base, retrieve_calls(memory, queries, None)[:50], 1)  # warm caches and plans
    logger.info("retrieve latency, %d records", size)
    one = run_load(base, retrieve_calls(memory, queries, None), 1)
    eight = run_load(base, retrieve_calls(memory, queries, None), 8)
    recall = {}
    for lambda_ in LAMBDAS:
        answers: dict[int, Any] = {}
        run_load(base, retrieve_calls(memory, queries, lambda_, answers), 8)
        recall[lambda_] = recall_at_k(data, ids, queries, answers, lambda_)
    logger.info("scans side by side, %d records", size)
    scans = _time_scans(url, memory, data, ids, queries, plan, indexed)
    logger.info("updates, %d records", size)
    search = retrieve_calls(memory, queries, None)[0]
    (per_step, per_episode, revisiting), update_cpu = _time_updates(
        api, memory, generator, data, plan, cpu, lambda: _settle(api, url, search)
    )
    return SizeResult(
        memory=memory,
        size=size,
        seed=times,
        one_client=one,
        eight_clients=eight,
        recall=recall,
        sql_exact_ms=scans[0],
        sql_hnsw_ms=scans[1],
        numpy_ms=scans[2],
        python_scan_ms=scans[3],
        update_per_step=per_step,
        update_per_episode=per_episode,
        update_revisiting=revisiting,
        update_cpu=update_cpu,
        transitions_per_episode=plan.episode_steps,
        data=data,
        ids=ids,
        queries=queries,
    )


def _time_scans(
    url: str,
    memory: str,
    data: Dataset,
    ids: Sequence[int],
    queries: Queries,
    plan: Plan,
    indexed: bool,
) -> tuple[list[float], list[float], list[float], list[float]]:
    """Exact SQL, HNSW SQL (empty without an index), numpy and the paper's Python scan."""
    arguments = [
        (queries.tasks[i], queries.observations[i], DEFAULT_LAMBDA, K)
        for i in range(min(plan.sql_queries, len(queries)))
    ]
    with connect(url) as connection:
        # The ef_search the service itself uses for k = 5.
        ef_search = ef_search_for(K + TIE_MARGIN, Settings().hnsw_ef_search)
        scans = SqlScans(connection, memory_info(connection, memory), ef_search)
        time_calls_ms(scans.exact, arguments[:5])  # warm-up: prepare, fill the buffer cache
        exact = time_calls_ms(scans.exact, arguments)
        hnsw = []
        if indexed:
            time_calls_ms(scans.hnsw, arguments[:5])
            hnsw = time_calls_ms(scans.hnsw, arguments)
    vectorised = time_calls_ms(lambda t, o, lam, k: exact_top_k(data, t, o, lam, k), arguments)
    python = time_calls_ms(PythonScan(data, ids).retrieve, arguments[: plan.python_scan_queries])
    return exact, hnsw, vectorised, python


# Index builds still running; the benchmark waits for them between runs.
_BUILDING = "SELECT count(*) FROM pg_stat_progress_create_index"
SETTLE_SECONDS = 600


def _settle(api: httpx.Client, url: str, search: Call) -> None:
    """One search, which starts the memory's index build if it has outgrown the exact scan,
    then a wait for any build to end: every timed run starts in the steady state, and a
    memory's one-time build does not fall into the run after the one that grew it."""
    run_load(str(api.base_url), [search], 1)
    deadline = time.monotonic() + SETTLE_SECONDS
    with connect(url) as connection:
        while connection.execute(_BUILDING).fetchone() != (0,):
            if time.monotonic() > deadline:
                raise RuntimeError("an index build did not end")
            time.sleep(0.2)


def _episode_texts(
    generator: Generator, data: Dataset, plan: Plan, prefix: str
) -> tuple[list[tuple[str, list[str]]], dict[str, list[float]]]:
    """Episodes of seen tasks through new observations, and the client vectors they need."""
    count = plan.agents * plan.episodes_per_agent
    rows = generator.rng.integers(0, len(data), count)
    episodes: list[tuple[str, list[str]]] = []
    vectors: dict[str, list[float]] = {}
    for e, row in enumerate(rows):
        task = data.task_texts[int(row)]
        tasks = np.repeat(data.tasks[int(row)][None, :], plan.episode_steps + 1, axis=0)
        observations = generator.observations_for(tasks)
        texts = [f"{prefix} episode {e} page {s}" for s in range(plan.episode_steps + 1)]
        vectors.update(zip(texts, observations.tolist(), strict=True))
        vectors[task] = data.tasks[int(row)].tolist()
        episodes.append((task, texts))
    return episodes, vectors


def _transitions(pages: list[str]) -> list[dict[str, Any]]:
    last = len(pages) - 2
    return [
        {
            "step": s,
            "observation": pages[s],
            "action": f"click[{s % 4}]",
            "reward": 1.0 if s == last else 0.0,
            "next_observation": pages[s + 1],
            "done": s == last,
        }
        for s in range(len(pages) - 1)
    ]


def _episode_call(memory: str, episode_id: str, task: str, pages: list[str], batched: bool) -> Call:
    path = f"/v1/memories/{memory}/update"
    transitions = _transitions(pages)
    if batched:
        return post_json(path, {"episode_id": episode_id, "task": task, "transitions": transitions})
    steps = [
        post_json(path, {"episode_id": episode_id, "task": task, "transitions": [t]})
        for t in transitions
    ]

    async def one_step_per_call(connection: HttpConnection) -> None:
        for step in steps:
            await step(connection)

    return one_step_per_call


def _time_updates(
    api: httpx.Client,
    memory: str,
    generator: Generator,
    data: Dataset,
    plan: Plan,
    cpu: CpuMeter | None,
    settle: Callable[[], None],
) -> tuple[
    tuple[LoadResult, LoadResult, LoadResult], tuple[CpuSeconds, CpuSeconds, CpuSeconds] | None
]:
    """One transition per call and one episode per call, each through new observations
    (every pair creates a state record); then the batched episodes again under new
    episode ids, so that every state already has its record (revisits). With `cpu`, also
    the CPU time the service and the database spent on each run."""
    runs: list[list[Call]] = []
    for batched in (False, True):
        prefix = f"{memory} {'batched' if batched else 'stepwise'}"
        episodes, vectors = _episode_texts(generator, data, plan, prefix)
        put_vectors(api, memory, vectors)
        runs.append(
            [
                _episode_call(memory, f"{prefix} {e}", task, pages, batched)
                for e, (task, pages) in enumerate(episodes)
            ]
        )
    runs.append(
        [
            _episode_call(memory, f"{prefix} {e} again", task, pages, batched=True)
            for e, (task, pages) in enumerate(episodes)
        ]
    )
    loads, spent = [], []
    for calls in runs:
        settle()
        before = cpu.read() if cpu else None
        loads.append(run_load(str(api.base_url), calls, plan.agents))
        if cpu and before:
            spent.append(cpu.read() - before)
    return (loads[0], loads[1], loads[2]), (spent[0], spent[1], spent[2]) if spent else None
