"""Memories with client-supplied vectors and the calls the HTTP tests make on them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx
from rememberer.schemas.records import MAX_RECORDS_PER_CALL

# Unit vectors of the texts most tests use: the task and three observations.
VECTORS: dict[str, list[float]] = {
    "task": [1.0, 0.0, 0.0, 0.0],
    "other task": [0.8, 0.6, 0.0, 0.0],
    "a": [0.0, 0.0, 1.0, 0.0],
    "b": [0.0, 0.0, 0.0, 1.0],
    "c": [0.0, 0.0, 0.6, 0.8],
}


def client_memory(
    api: httpx.Client,
    name: str,
    vectors: Mapping[str, list[float]] = VECTORS,
    /,
    **settings: Any,
) -> None:
    """Creates memory `name` with the "client" embedder and stores `vectors` in it."""
    dimension = len(next(iter(vectors.values())))
    body = {"name": name, "embedder": "client", "dimension": dimension, **settings}
    created = api.post("/v1/memories", json=body)
    assert created.status_code == 201, created.text
    stored = api.put(f"/v1/memories/{name}/embeddings", json={"embeddings": dict(vectors)})
    assert stored.json() == {"stored": len(vectors)}, stored.text


def put_records(api: httpx.Client, name: str, items: Sequence[Mapping[str, Any]]) -> None:
    """POST /v1/memories/{name}/records, in calls of the most records one call takes."""
    for start in range(0, len(items), MAX_RECORDS_PER_CALL):
        batch = {"items": list(items[start : start + MAX_RECORDS_PER_CALL])}
        answer = api.post(f"/v1/memories/{name}/records", json=batch)
        assert answer.status_code == 200, answer.text


def step(
    n: int, obs: str, action: str, reward: float, nxt: str, done: bool = False
) -> dict[str, Any]:
    return {
        "step": n,
        "observation": obs,
        "action": action,
        "reward": reward,
        "next_observation": nxt,
        "done": done,
    }


def update(api: httpx.Client, name: str, episode: str, *steps: dict[str, Any]) -> httpx.Response:
    """POST the steps of `episode` (task "task") to the memory's update route."""
    return api.post(
        f"/v1/memories/{name}/update",
        json={"episode_id": episode, "task": "task", "transitions": list(steps)},
    )


def answered(response: httpx.Response) -> dict[str, Any]:
    """The body of a response that must be a 200."""
    assert response.status_code == 200, response.text
    return dict(response.json())


def records(api: httpx.Client, name: str) -> dict[str, dict[str, Any]]:
    """The memory's records (up to 1000) by observation."""
    items = api.get(f"/v1/memories/{name}/records", params={"limit": 1000}).json()["items"]
    return {r["observation"]: r for r in items}
