"""Bulk import through `POST /v1/memories/{m}/records`, one client, full batches: records/s
for new states, then for the same records again (each replaces its state). Into a new memory,
which has no index during the load (the service builds one when a search first finds the
memory past the exact scan), and into the largest seeded memory, where every new state also
enters the HNSW graph."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx
from rememberer.schemas import MAX_RECORDS_PER_CALL

from benchmarks.data import Dataset
from benchmarks.memory_bench import put_vectors

BATCH = MAX_RECORDS_PER_CALL


@dataclass(frozen=True)
class ImportResult:
    into: str
    records: int
    created_per_second: float
    replaced_per_second: float


def import_rate(api: httpx.Client, memory: str, into: str, data: Dataset) -> ImportResult:
    """Imports `data` into `memory` twice (created, then replaced), timing each pass."""
    vectors = dict(zip(data.task_texts, data.tasks.tolist(), strict=True))
    vectors.update(zip(data.observation_texts, data.observations.tolist(), strict=True))
    put_vectors(api, memory, vectors)
    items = [_item(data, i) for i in range(len(data))]
    created = _timed_batches(api, memory, items, "created")
    replaced = _timed_batches(api, memory, items, "replaced")
    return ImportResult(into, len(data), len(data) / created, len(data) / replaced)


def _item(data: Dataset, i: int) -> dict[str, Any]:
    return {
        "task": data.task_texts[i],
        "observation": data.observation_texts[i],
        "visits": 2,
        "last_reward": 0.0,
        "total_reward": 1.0,
        "action_history": ["search[item]"],
        "actions": [
            {"action": "click[0]", "q": 1.0, "reward": 1.0, "visits": 1},
            {"action": "click[1]", "q": -0.5, "reward": 0.0, "visits": 1},
        ],
    }


def _timed_batches(
    api: httpx.Client, memory: str, items: list[dict[str, Any]], status: str
) -> float:
    """Seconds to send the items in full batches, checking that each item got `status`."""
    started = time.perf_counter()
    for start in range(0, len(items), BATCH):
        batch = items[start : start + BATCH]
        response = api.post(f"/v1/memories/{memory}/records", json={"items": batch})
        response.raise_for_status()
        if response.json()[status] != len(batch):
            raise RuntimeError(f"an import batch was not all {status}: {response.text[:300]}")
    return time.perf_counter() - started
