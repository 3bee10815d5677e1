"""The v1 contract's endpoints and errors, over HTTP against the real service and database."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.support.http import assert_error
from tests.support.memories import client_memory, step, update


def test_memory_lifecycle_and_counts(api: httpx.Client, memory_name: str) -> None:
    created = api.post("/v1/memories", json={"name": memory_name, "lambda": 0.25, "n_step": None})
    assert created.status_code == 201
    body = created.json()
    assert body["lambda"] == 0.25 and body["n_step"] is None and body["gamma"] == 1.0
    assert body["embedder"] == "all-MiniLM-L6-v2" and body["dimension"] == 384
    assert_error(api.post("/v1/memories", json={"name": memory_name}), 409, "memory_exists")
    got = api.get(f"/v1/memories/{memory_name}").json()
    assert (got["records"], got["actions"], got["episodes_open"]) == (0, 0, 0)
    assert api.delete(f"/v1/memories/{memory_name}").status_code == 204
    assert_error(api.get(f"/v1/memories/{memory_name}"), 404, "memory_not_found")
    assert_error(api.delete(f"/v1/memories/{memory_name}"), 404, "memory_not_found")


@pytest.mark.parametrize(
    "body",
    [
        {"name": "Upper"},
        {"name": "-leading"},
        {"name": "x" * 64},
        {"name": "ok", "gamma": 1.5},
        {"name": "ok", "n_step": 0},
        {"name": "ok", "learning_rate": 0},
        {"name": "ok", "lambda": -0.1},
        {"name": "ok", "update_mode": "median"},
        {"name": "ok", "action_history_mode": "random"},
        {"name": "ok", "embedder": "gpt"},
        {"name": "ok", "dimension": 768},
        {"name": "ok", "unknown": 1},
    ],
)
def test_invalid_memory_settings_are_422(api: httpx.Client, body: dict[str, Any]) -> None:
    assert_error(api.post("/v1/memories", json=body), 422, "invalid_request")


def test_memory_list_paginates(api: httpx.Client, memory_name: str) -> None:
    names = {f"{memory_name}-{i}" for i in range(5)}
    for name in names:
        assert api.post("/v1/memories", json={"name": name}).status_code == 201
    seen: list[str] = []
    cursor = None
    while True:
        page = api.get(
            "/v1/memories", params={"limit": 2, **({"cursor": cursor} if cursor else {})}
        )
        seen += [m["name"] for m in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if not cursor:
            break
    assert names <= set(seen) and len(seen) == len(set(seen))
    assert_error(api.get("/v1/memories", params={"cursor": "garbage"}), 422, "invalid_request")
    assert_error(api.get("/v1/memories", params={"limit": 1001}), 422, "invalid_request")


def test_update_answers_and_bootstraps(api: httpx.Client, memory_name: str) -> None:
    client_memory(api, memory_name, gamma=0.5)
    first = update(
        api, memory_name, "e1", step(0, "a", "go", 0.0, "b"), step(1, "b", "stop", 1.0, "c", True)
    )
    assert first.status_code == 200
    body = first.json()
    assert body["episode"] == {"episode_id": "e1", "next_step": 2, "done": True}
    assert [(u["observation"], u["action"], u["q"], u["visits"]) for u in body["updated"]] == [
        ("a", "go", 0.0, 1),  # bootstrapped from b's record, which had no action value yet
        ("b", "stop", 1.0, 1),
    ]
    # o_1 = "b" now has q(stop) = 1, so the next visit of (a, go) bootstraps 0 + 0.5 · 1.
    second = update(api, memory_name, "e2", step(0, "a", "go", 0.0, "b"))
    assert second.json()["updated"][0]["q"] == pytest.approx(0.25)  # mean of 0 and 0.5
    # "c" has no record: the nearest record by score stands in for it.
    third = update(api, memory_name, "e3", step(0, "b", "stop", 0.0, "c"))
    assert third.json()["updated"][0]["visits"] == 2


def test_retry_returns_the_first_answer_and_changes_nothing(
    api: httpx.Client, memory_name: str
) -> None:
    client_memory(api, memory_name)
    steps = [step(0, "a", "go", 0.0, "b"), step(1, "b", "go", 1.0, "c", True)]
    first = update(api, memory_name, "e", *steps).json()
    records_before = api.get(f"/v1/memories/{memory_name}/records").json()
    for _ in range(3):
        assert update(api, memory_name, "e", *steps).json() == first
        assert update(api, memory_name, "e", steps[1]).json()["updated"] == first["updated"][1:]
    assert api.get(f"/v1/memories/{memory_name}/records").json() == records_before


def test_streamed_retry_mixed_with_new_step(api: httpx.Client, memory_name: str) -> None:
    client_memory(api, memory_name)
    s0, s1 = step(0, "a", "go", 0.0, "b"), step(1, "b", "go", 0.0, "c")
    update(api, memory_name, "e", s0)
    both = update(api, memory_name, "e", s0, s1).json()
    assert both["episode"]["next_step"] == 2
    assert [u["visits"] for u in both["updated"]] == [1, 1]


def test_step_repeated_within_one_call_answers_as_its_first(
    api: httpx.Client, memory_name: str
) -> None:
    client_memory(api, memory_name)
    s0, s1 = step(0, "a", "go", 0.0, "b"), step(1, "b", "go", 1.0, "c")
    body = update(api, memory_name, "e", s0, s1, s0).json()
    assert body["updated"][2] == body["updated"][0]
    assert body["updated"][0]["visits"] == 1  # applied once
    assert body["episode"]["next_step"] == 1  # the last transition, step 0, answers as it did
    records = api.get(f"/v1/memories/{memory_name}/records").json()
    changed = step(1, "b", "stop", 1.0, "c")
    response = update(api, memory_name, "f", s0, s1, changed)
    assert_error(response, 409, "step_conflict")
    assert api.get(f"/v1/memories/{memory_name}/records").json() == records  # nothing of "f"


def test_ordering_errors(api: httpx.Client, memory_name: str) -> None:
    client_memory(api, memory_name)
    assert_error(update(api, memory_name, "e", step(1, "a", "go", 0.0, "b")), 409, "out_of_order")
    update(api, memory_name, "e", step(0, "a", "go", 0.0, "b", True))
    assert_error(update(api, memory_name, "e", step(1, "b", "go", 0.0, "c")), 409, "out_of_order")
    changed = step(0, "a", "stop", 0.0, "b", True)
    assert_error(update(api, memory_name, "e", changed), 409, "step_conflict")
    # A rejected call applies nothing, not even its valid prefix.
    rejected = update(
        api, memory_name, "f", step(0, "a", "go", 0.0, "b"), step(2, "b", "x", 0, "c")
    )
    assert_error(rejected, 409, "out_of_order")
    assert (
        update(api, memory_name, "f", step(0, "a", "go", 0.0, "b")).json()["updated"][0]["visits"]
        == 2
    )  # the e episode's visit, plus this one; the rejected call added nothing
    other_task = api.post(
        f"/v1/memories/{memory_name}/update",
        json={"episode_id": "f", "task": "other task", "transitions": [step(1, "b", "go", 0, "c")]},
    )
    assert other_task.status_code == 409


def test_client_embedder_names_the_missing_text(api: httpx.Client, memory_name: str) -> None:
    client_memory(api, memory_name)
    response = update(api, memory_name, "e", step(0, "a", "go", 0.0, "never embedded"))
    assert_error(response, 422, "missing_embedding")
    assert "never embedded" in response.json()["error"]["message"]
    retrieve = api.post(
        f"/v1/memories/{memory_name}/retrieve", json={"task": "unknown", "observation": "a"}
    )
    assert_error(retrieve, 422, "missing_embedding")
    assert "unknown" in retrieve.json()["error"]["message"]
    wrong_size = api.put(
        f"/v1/memories/{memory_name}/embeddings", json={"embeddings": {"x": [1.0]}}
    )
    assert_error(wrong_size, 422, "invalid_request")
    zero = api.put(f"/v1/memories/{memory_name}/embeddings", json={"embeddings": {"x": [0.0] * 4}})
    assert_error(zero, 422, "invalid_request")


def test_retrieve_ranks_with_lambda_override_and_sorts_actions(
    api: httpx.Client, memory_name: str
) -> None:
    client_memory(api, memory_name, **{"lambda": 0.5})
    update(
        api, memory_name, "e", step(0, "a", "bad", -1.0, "b"), step(1, "b", "good", 1.0, "c", True)
    )
    update(api, memory_name, "f", step(0, "a", "good", 1.0, "c", True))

    def ranked(**extra: Any) -> list[dict[str, Any]]:
        body = {"task": "task", "observation": "c", "k": 2, **extra}
        response = api.post(f"/v1/memories/{memory_name}/retrieve", json=body)
        return list(response.json()["exemplars"])

    top = ranked()
    assert [e["observation"] for e in top] == ["b", "a"]  # cos(c, b) = 0.8 > cos(c, a) = 0.6
    assert top[0]["score"] == pytest.approx(0.5 * 1 + 0.5 * 0.8, abs=1e-4)
    assert top[0]["task_score"] == pytest.approx(1.0, abs=1e-4)
    assert top[0]["observation_score"] == pytest.approx(0.8, abs=1e-4)
    assert [a["action"] for a in top[1]["actions"]] == ["good", "bad"]
    assert ranked(**{"lambda": 1.0})[0]["score"] == pytest.approx(1.0, abs=1e-4)
    assert_error(
        api.post(
            f"/v1/memories/{memory_name}/retrieve", json={"task": "t", "observation": "o", "k": 0}
        ),
        422,
        "invalid_request",
    )


def test_records_get_list_filter_delete(api: httpx.Client, memory_name: str) -> None:
    client_memory(api, memory_name)
    update(api, memory_name, "e", step(0, "a", "go", 0.0, "b"), step(1, "b", "go", 1.0, "c", True))
    records = api.get(f"/v1/memories/{memory_name}/records", params={"task": "task"}).json()
    assert len(records["items"]) == 2 and records["next_cursor"] is None
    assert (
        api.get(f"/v1/memories/{memory_name}/records", params={"task": "nope"}).json()["items"]
        == []
    )
    record = records["items"][1]
    assert api.get(f"/v1/memories/{memory_name}/records/{record['record_id']}").json() == record
    assert (
        api.delete(f"/v1/memories/{memory_name}/records/{record['record_id']}").status_code == 204
    )
    assert_error(
        api.get(f"/v1/memories/{memory_name}/records/{record['record_id']}"),
        404,
        "record_not_found",
    )
    assert_error(api.get(f"/v1/memories/{memory_name}/records/0"), 422, "invalid_request")
    assert_error(
        api.get(f"/v1/memories/{memory_name}/records/99999999999999999999"), 422, "invalid_request"
    )


def test_unknown_routes_and_methods_use_the_error_body(api: httpx.Client) -> None:
    assert_error(api.get("/v1/nothing"), 404, "not_found")
    assert_error(api.patch("/v1/memories"), 405, "method_not_allowed")
    malformed = api.post(
        "/v1/memories", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert_error(malformed, 422, "invalid_request")
    nul = api.post("/v1/memories/x/retrieve", json={"task": "a\x00b", "observation": "o"})
    assert nul.status_code in (404, 422)


def test_health_ready_and_docs(api: httpx.Client) -> None:
    assert api.get("/healthz").json() == {"status": "ok"}
    deadline = time.monotonic() + 120  # the embedder warms up in the background at start
    while api.get("/readyz").status_code == 503 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert api.get("/readyz").json() == {"status": "ready"}
    assert api.get("/docs").status_code == 200
    paths = api.get("/openapi.json").json()["paths"]
    assert "/v1/memories/{memory}/update" in paths
