"""Truncated episodes, the bootstrap_min_score setting, and retrieve's filters, over HTTP on
memories with client vectors, so that every score is known exactly."""

from __future__ import annotations

from typing import Any

import httpx

# Task t, and observations whose vectors make the scores plain (λ = 0.5):
# (t, near) scores 1.0 against (t, s); (t, far) scores 0.5 against (t, s) and (t, x).
VECTORS = {
    "t": [1.0, 0.0, 0.0],
    "u": [0.0, 1.0, 0.0],
    "s": [1.0, 0.0, 0.0],
    "near": [1.0, 0.0, 0.0],
    "far": [0.0, 1.0, 0.0],
    "x": [0.0, 0.0, 1.0],
    "end": [0.0, 1.0, 1.0],
}


def client_memory(api: httpx.Client, name: str, **settings: Any) -> str:
    body = {"name": name, "embedder": "client", "dimension": 3, **settings}
    created = api.post("/v1/memories", json=body)
    assert created.status_code == 201, created.text
    stored = api.put(f"/v1/memories/{name}/embeddings", json={"embeddings": VECTORS})
    assert stored.status_code == 200, stored.text
    return name


def step(
    n: int, observation: str, action: str, reward: float, following: str, **ending: bool
) -> dict[str, Any]:
    return {
        "step": n,
        "observation": observation,
        "action": action,
        "reward": reward,
        "next_observation": following,
        **ending,
    }


def update(
    api: httpx.Client, memory: str, episode: str, *steps: dict[str, Any], task: str = "t"
) -> httpx.Response:
    body = {"episode_id": episode, "task": task, "transitions": list(steps)}
    return api.post(f"/v1/memories/{memory}/update", json=body)


def learned_q(api: httpx.Client, memory: str, *steps: dict[str, Any]) -> float:
    """Seeds (t, s) with q 1 for "go", then applies `steps` as a new episode; the q of the
    last value they changed."""
    assert update(api, memory, "seed", step(0, "s", "go", 1.0, "end", done=True)).is_success
    response = update(api, memory, "e", *steps)
    assert response.status_code == 200, response.text
    return float(response.json()["updated"][-1]["q"])


def test_a_truncated_episodes_last_pair_bootstraps(api: httpx.Client, memory_name: str) -> None:
    memory = client_memory(api, memory_name)
    assert learned_q(api, memory, step(0, "x", "act", 0.0, "near", truncated=True)) == 1.0


def test_a_done_episodes_last_pair_does_not_bootstrap(api: httpx.Client, memory_name: str) -> None:
    memory = client_memory(api, memory_name)
    assert learned_q(api, memory, step(0, "x", "act", 0.0, "near", done=True)) == 0.0


def test_monte_carlo_pairs_all_bootstrap_from_the_final_observation(
    api: httpx.Client, memory_name: str
) -> None:
    memory = client_memory(api, memory_name, n_step=None, gamma=0.5)
    assert update(api, memory, "seed", step(0, "s", "go", 1.0, "end", done=True)).is_success
    steps = [step(0, "x", "a", 1.0, "far"), step(1, "far", "b", 0.0, "near", truncated=True)]
    response = update(api, memory, "e", *steps)
    assert response.status_code == 200, response.text
    # Pair 0: 1 + 0.5·0 + 0.25·max Q(near) = 1.25; pair 1: 0 + 0.5·1 = 0.5.
    assert [u["q"] for u in response.json()["updated"]] == [1.25, 0.5]
    assert response.json()["episode"]["done"] is True


def test_a_truncated_episode_is_closed_and_both_endings_are_refused(
    api: httpx.Client, memory_name: str
) -> None:
    memory = client_memory(api, memory_name)
    assert update(api, memory, "e", step(0, "x", "a", 0.0, "far", truncated=True)).is_success
    late = update(api, memory, "e", step(1, "far", "a", 0.0, "x"))
    assert late.status_code == 409 and late.json()["error"]["code"] == "out_of_order"
    both = update(api, memory, "f", step(0, "x", "a", 0.0, "far", done=True, truncated=True))
    assert both.status_code == 422


def test_a_nearest_record_below_bootstrap_min_score_gives_no_bootstrap_term(
    api: httpx.Client, memory_name: str
) -> None:
    memory = client_memory(api, memory_name, bootstrap_min_score=0.9)
    assert learned_q(api, memory, step(0, "x", "act", 0.0, "far")) == 0.0


def test_a_nearest_record_at_or_above_bootstrap_min_score_serves(
    api: httpx.Client, memory_name: str
) -> None:
    memory = client_memory(api, memory_name, bootstrap_min_score=0.9)
    assert learned_q(api, memory, step(0, "x", "act", 0.0, "near")) == 1.0


def test_without_bootstrap_min_score_any_nearest_record_serves(
    api: httpx.Client, memory_name: str
) -> None:
    memory = client_memory(api, memory_name)
    assert api.get(f"/v1/memories/{memory}").json()["bootstrap_min_score"] is None
    assert learned_q(api, memory, step(0, "x", "act", 0.0, "far")) == 1.0


def test_a_states_own_record_serves_whatever_the_threshold(
    api: httpx.Client, memory_name: str
) -> None:
    memory = client_memory(api, memory_name, bootstrap_min_score=1.0)
    # o_1 = s has its own record (q 1 for "go"), whose score against itself needs no floor.
    assert learned_q(api, memory, step(0, "x", "act", 0.0, "s")) == 1.0


def exemplar_keys(api: httpx.Client, memory: str, **filters: Any) -> list[tuple[str, str]]:
    body = {"task": "t", "observation": "s", "k": 10, **filters}
    response = api.post(f"/v1/memories/{memory}/retrieve", json=body)
    assert response.status_code == 200, response.text
    return [(e["task"], e["observation"]) for e in response.json()["exemplars"]]


def test_retrieve_filters_by_minimum_score_and_task(api: httpx.Client, memory_name: str) -> None:
    memory = client_memory(api, memory_name)
    for episode, task, observation in (("1", "t", "s"), ("2", "t", "x"), ("3", "u", "s")):
        ending = step(0, observation, "go", 1.0, "end", done=True)
        assert update(api, memory, episode, ending, task=task).is_success
    # Scores against (t, s): (t, s) 1.0, (t, x) 0.5, (u, s) 0.5.
    assert sorted(exemplar_keys(api, memory)) == [("t", "s"), ("t", "x"), ("u", "s")]
    assert exemplar_keys(api, memory, min_score=0.9) == [("t", "s")]
    assert sorted(exemplar_keys(api, memory, task_filter="same")) == [("t", "s"), ("t", "x")]
    assert exemplar_keys(api, memory, task_filter="other") == [("u", "s")]
    assert exemplar_keys(api, memory, task_filter="other", min_score=0.9) == []
    bad = api.post(
        f"/v1/memories/{memory}/retrieve",
        json={"task": "t", "observation": "s", "task_filter": "mine"},
    )
    assert bad.status_code == 422
