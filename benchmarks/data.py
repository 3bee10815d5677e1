"""Synthetic experience memories: clustered unit vectors shaped like an agent's states.

Real memories are not uniform noise: an agent meets each task for a handful of steps, tasks
come from a few product categories, and observations are pages of a few kinds (search
results, product pages, ...) that also echo the task. The generator mimics that:

- `n_topics` topic directions; a task is `unit(topic + noise)` (same-topic tasks: cos ≈ 0.5);
- `n_pages` page-kind directions; an observation is
  `unit(page + 0.5·task + noise)` (same page kind: cos ≈ 0.45, otherwise ≈ 0.1);
- every record belongs to one task, about `records_per_task` records per task;
- queries: 70 % an already-seen task with a new observation, 30 % a new task.

All vectors are unit length; a record's embedding is [task; observation] (dimension 2·d).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Matrix = npt.NDArray[np.float32]

DIMENSION = 384
SEEN_TASK_SHARE = 0.7


def unit_rows(matrix: npt.NDArray[np.floating]) -> Matrix:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    rows: Matrix = (matrix / norms).astype(np.float32)
    return rows


def _noise(rng: np.random.Generator, rows: int, dimension: int) -> Matrix:
    """Gaussian rows of expected length 1."""
    noise: Matrix = (rng.standard_normal((rows, dimension)) / np.sqrt(dimension)).astype(np.float32)
    return noise


@dataclass(frozen=True)
class Shape:
    dimension: int = DIMENSION
    n_topics: int = 100
    n_pages: int = 20
    records_per_task: int = 10


@dataclass
class States:
    """(task, observation) pairs, texts and unit vectors; row i is pair i. The records of
    a memory (`Dataset`) and the queries asked of it (`Queries`) alike."""

    task_texts: list[str]
    observation_texts: list[str]
    tasks: Matrix
    observations: Matrix

    def __len__(self) -> int:
        return len(self.observation_texts)

    def __getitem__(self, rows: slice) -> States:
        return States(
            self.task_texts[rows],
            self.observation_texts[rows],
            self.tasks[rows],
            self.observations[rows],
        )


Dataset = States
Queries = States


class Generator:
    def __init__(self, seed: int = 0, shape: Shape | None = None) -> None:
        self.shape = shape or Shape()
        self.rng = np.random.default_rng(seed)
        d = self.shape.dimension
        self.topics = unit_rows(self.rng.standard_normal((self.shape.n_topics, d)))
        self.pages = unit_rows(self.rng.standard_normal((self.shape.n_pages, d)))

    def _new_tasks(self, count: int) -> Matrix:
        topic = self.rng.integers(0, self.shape.n_topics, count)
        return unit_rows(self.topics[topic] + _noise(self.rng, count, self.shape.dimension))

    def observations_for(self, tasks: Matrix) -> Matrix:
        page = self.rng.integers(0, self.shape.n_pages, len(tasks))
        noise = _noise(self.rng, len(tasks), self.shape.dimension)
        return unit_rows(self.pages[page] + 0.5 * tasks + noise)

    def dataset(self, size: int, prefix: str) -> Dataset:
        n_tasks = max(1, size // self.shape.records_per_task)
        task_vectors = self._new_tasks(n_tasks)
        owner = self.rng.integers(0, n_tasks, size)
        tasks = task_vectors[owner]
        return Dataset(
            task_texts=[f"{prefix} task {t}" for t in owner],
            observation_texts=[f"{prefix} observation {i}" for i in range(size)],
            tasks=tasks,
            observations=self.observations_for(tasks),
        )

    def queries(self, data: Dataset, count: int, prefix: str) -> Queries:
        seen = self.rng.random(count) < SEEN_TASK_SHARE
        rows = self.rng.integers(0, len(data), count)
        fresh = self._new_tasks(count)
        tasks = np.where(seen[:, None], data.tasks[rows], fresh).astype(np.float32)
        task_texts = [
            data.task_texts[r] if s else f"{prefix} new task {i}"
            for i, (s, r) in enumerate(zip(seen, rows, strict=True))
        ]
        return Queries(
            task_texts=task_texts,
            observation_texts=[f"{prefix} query observation {i}" for i in range(count)],
            tasks=tasks,
            observations=self.observations_for(tasks),
        )


def scores(
    data: Dataset,
    rows: npt.NDArray[np.int64] | slice,
    task: Matrix,
    observation: Matrix,
    lambda_: float,
) -> Matrix:
    """The contract's score of records `rows` for one query."""
    tasks, observations = data.tasks[rows], data.observations[rows]
    result: Matrix = lambda_ * (tasks @ task) + (1.0 - lambda_) * (observations @ observation)
    return result


def exact_top_k(
    data: Dataset, task: Matrix, observation: Matrix, lambda_: float, k: int
) -> tuple[npt.NDArray[np.int64], Matrix]:
    """Indices and scores of the k best records by the contract's score, vectorised."""
    every = scores(data, slice(None), task, observation, lambda_)
    best = np.argpartition(-every, min(k, len(every) - 1))[:k]
    best = best[np.argsort(-every[best])]
    return best.astype(np.int64), every[best]


def kth_best_scores(data: Dataset, queries: Queries, lambda_: float, k: int) -> Matrix:
    """For each query, the exact k-th best score: the bar a correct answer reaches."""
    bars = [
        exact_top_k(data, queries.tasks[q], queries.observations[q], lambda_, k)[1][-1]
        for q in range(len(queries))
    ]
    return np.asarray(bars, dtype=np.float32)


def hits_at_k(
    data: Dataset,
    rows: npt.NDArray[np.int64],
    task: Matrix,
    observation: Matrix,
    lambda_: float,
    bar: float,
    k: int,
    tolerance: float,
) -> int:
    """How many of the best k of `rows` (rescored exactly) reach the exact k-th score;
    ties at the k-th place count either way."""
    best = np.sort(scores(data, rows, task, observation, lambda_))[::-1][:k]
    return int(np.sum(best >= bar - tolerance))
