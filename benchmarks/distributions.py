"""Memories of different structure, for recall measured on data nothing was tuned on.

Each distribution makes the records of a memory and the (task, observation) queries asked of
it, as unit vectors [task; observation] like the benchmark's own data (data.py):

- `benchmark`: the benchmark's clustered data (data.Generator);
- `tight-loose`: ten task clusters, half tight and half loose, fifty observation kinds under
  heavy noise; records in ten-step episodes;
- `text-game`: what text games produce: a few dozen objectives each shared by hundreds of
  records, observations that are one of a game's rooms with small variations (inventory,
  a door open or shut), so many observations are near-duplicates of each other;
- `few-tasks`: five tasks shared by every record, observations of two hundred loose kinds;
- `textworld`: real sentence embeddings (the service's model) of TextWorld objectives and
  observations and of the published pools' texts (real_text.py).

Queries, as an agent asks them: most on a task the memory has seen with an observation it
has not, the rest on a new task.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from benchmarks.data import DIMENSION, Dataset, Generator, Matrix, Queries, unit_rows

SEEN_TASK_SHARE = 0.7


@dataclass(frozen=True)
class Memory:
    name: str
    data: Dataset
    queries: Queries


def _noise(rng: np.random.Generator, rows: int, scale: float) -> Matrix:
    noise: Matrix = (rng.standard_normal((rows, DIMENSION)) * scale / np.sqrt(DIMENSION)).astype(
        np.float32
    )
    return noise


def _texts(prefix: str, what: str, ids: np.ndarray) -> list[str]:
    return [f"{prefix} {what} {int(i)}" for i in ids]


def _states(
    prefix: str, task_ids: np.ndarray, tasks: Matrix, observations: Matrix, query: bool
) -> Dataset:
    kind = "query observation" if query else "observation"
    return Dataset(
        task_texts=_texts(prefix, "task", task_ids),
        observation_texts=_texts(prefix, kind, np.arange(len(observations))),
        tasks=tasks,
        observations=observations,
    )


class _Clustered:
    """Tasks drawn from `task_centres` with per-centre noise; observations from page kinds
    with noise, echoing the task by `echo`. Subclasses set the shape."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def task_vectors(self, count: int) -> Matrix:
        raise NotImplementedError

    def observations(self, tasks: Matrix) -> Matrix:
        raise NotImplementedError

    def memory(self, name: str, size: int, queries: int, records_per_task: int) -> Memory:
        n_tasks = max(1, size // records_per_task)
        task_vectors = self.task_vectors(n_tasks)
        owner = np.repeat(np.arange(n_tasks), records_per_task)[:size]
        owner = np.concatenate([owner, self.rng.integers(0, n_tasks, size - len(owner))])
        data = _states(
            name, owner, task_vectors[owner], self.observations(task_vectors[owner]), False
        )
        seen = self.rng.random(queries) < SEEN_TASK_SHARE
        asked = np.where(seen, self.rng.integers(0, n_tasks, queries), n_tasks + np.arange(queries))
        fresh = self.task_vectors(queries)
        tasks = np.where(seen[:, None], task_vectors[np.minimum(asked, n_tasks - 1)], fresh)
        tasks = tasks.astype(np.float32)
        return Memory(name, data, _states(name, asked, tasks, self.observations(tasks), True))


class _TightLoose(_Clustered):
    def __init__(self, rng: np.random.Generator) -> None:
        super().__init__(rng)
        self.centres = unit_rows(rng.standard_normal((10, DIMENSION)))
        self.spread = np.array([0.3] * 5 + [1.2] * 5, dtype=np.float32)
        self.kinds = unit_rows(rng.standard_normal((50, DIMENSION)))

    def task_vectors(self, count: int) -> Matrix:
        centre = self.rng.integers(0, len(self.centres), count)
        noise = _noise(self.rng, count, 1.0) * self.spread[centre][:, None]
        return unit_rows(self.centres[centre] + noise)

    def observations(self, tasks: Matrix) -> Matrix:
        kind = self.rng.integers(0, len(self.kinds), len(tasks))
        return unit_rows(self.kinds[kind] + 0.3 * tasks + _noise(self.rng, len(tasks), 1.5))


class _FewTasks(_Clustered):
    def __init__(self, rng: np.random.Generator) -> None:
        super().__init__(rng)
        self.kinds = unit_rows(rng.standard_normal((200, DIMENSION)))

    def task_vectors(self, count: int) -> Matrix:
        return unit_rows(self.rng.standard_normal((count, DIMENSION)))

    def observations(self, tasks: Matrix) -> Matrix:
        kind = self.rng.integers(0, len(self.kinds), len(tasks))
        return unit_rows(self.kinds[kind] + 0.2 * tasks + _noise(self.rng, len(tasks), 0.9))


class _TextGame(_Clustered):
    """Objectives of a few dozen games; a game's observations are one of its rooms, one of
    a few variants of that room, and a small jitter (wording of the feedback)."""

    ROOMS = 20
    VARIANTS = 6

    def __init__(self, rng: np.random.Generator) -> None:
        super().__init__(rng)
        self.games: dict[bytes, Matrix] = {}
        # What the objectives of one challenge share, the memory's games and the new ones
        # asked about alike.
        self.challenge = unit_rows(rng.standard_normal((1, DIMENSION)))

    def task_vectors(self, count: int) -> Matrix:
        # Objectives of one challenge read alike: cos ≈ 0.6 between two games' objectives.
        return unit_rows(self.challenge + _noise(self.rng, count, 0.8))

    def _rooms(self, task: Matrix) -> Matrix:
        key = task.tobytes()
        if key not in self.games:
            rooms = unit_rows(0.4 * task + _noise(self.rng, self.ROOMS, 1.0))
            variants = _noise(self.rng, self.ROOMS * self.VARIANTS, 0.25)
            self.games[key] = unit_rows(np.repeat(rooms, self.VARIANTS, axis=0) + variants)
        return self.games[key]

    def observations(self, tasks: Matrix) -> Matrix:
        rows = np.empty_like(tasks)
        for i, task in enumerate(tasks):
            states = self._rooms(task)
            rows[i] = states[self.rng.integers(0, len(states))]
        return unit_rows(rows + _noise(self.rng, len(tasks), 0.05))


def benchmark(size: int, queries: int, seed: int) -> Memory:
    generator = Generator(seed=seed)
    data = generator.dataset(size, "benchmark")
    return Memory("benchmark", data, generator.queries(data, queries, "benchmark"))


def tight_loose(size: int, queries: int, seed: int) -> Memory:
    return _TightLoose(np.random.default_rng(seed)).memory("tight-loose", size, queries, 10)


def text_game(size: int, queries: int, seed: int) -> Memory:
    # 40 games at 10k records: 250 records per objective.
    per_task = max(10, size // 40)
    return _TextGame(np.random.default_rng(seed)).memory("text-game", size, queries, per_task)


def few_tasks(size: int, queries: int, seed: int) -> Memory:
    per_task = max(1, size // 5)
    return _FewTasks(np.random.default_rng(seed)).memory("few-tasks", size, queries, per_task)


Maker = Callable[[int, int, int], Memory]
SYNTHETIC: dict[str, Maker] = {
    "benchmark": benchmark,
    "tight-loose": tight_loose,
    "text-game": text_game,
    "few-tasks": few_tasks,
}
