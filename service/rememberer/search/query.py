"""A search's query: the vectors, k and λ, and the filters, as one value; and its binds.

The ranking SQL's shape depends only on which filters a query has (`Filters`), so it is
cached per memory and shape; the filters' values go in as binds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from rememberer.embedding.embedder import Vector

TaskScope = Literal["same", "other"]


@dataclass(frozen=True)
class SearchQuery:
    """What a search looks for: the k best records for (task, observation) at weight λ.
    `observation_text` is needed by "lcs" memories (and by nothing else). Filters:
    `min_score` leaves out records scoring below it; `task_filter` keeps only records of
    exactly `task` ("same") or only records of other tasks ("other")."""

    task_vector: Vector
    observation_vector: Vector
    k: int
    lambda_: float
    observation_text: str | None = None
    min_score: float | None = None
    task_filter: TaskScope | None = None
    task: str | None = None

    def __post_init__(self) -> None:
        if self.task_filter is not None and self.task is None:
            raise ValueError("a task filter compares records with the query's task; pass task")

    @property
    def shape(self) -> Filters:
        return Filters(self.task_filter, self.min_score is not None)


@dataclass(frozen=True)
class Filters:
    """The filters a search's SQL has (their values are binds): part of its cache key."""

    task: TaskScope | None = None
    min_score: bool = False


def query_vector(task: Vector, observation: Vector, lambda_: float) -> Vector:
    return np.concatenate([lambda_ * task, (1.0 - lambda_) * observation]).astype(np.float32)


def search_binds(query: SearchQuery, candidates: int) -> dict[str, object]:
    """The binds of `ranking_sql` (and of `candidates_sql`, which ignores k)."""
    return {
        "q": query_vector(query.task_vector, query.observation_vector, query.lambda_),
        "t": query.task_vector,
        "o": query.observation_vector,
        "k": query.k,
        "n": candidates,
        "min_score": query.min_score,
        "task_text": query.task,
    }
