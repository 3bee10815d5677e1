"""Oversized, malformed and hostile requests get a 4xx with the contract's error body, never
a 500, and the service keeps serving."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import httpx
import pytest

from tests.support.http import assert_error
from tests.support.memories import client_memory

MAX_BODY = 8 * 1024 * 1024  # Settings.max_body_bytes' default, which the test server uses


def assert_refused(response: httpx.Response) -> None:
    """Any 4xx, as long as it is the contract's error body."""
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] and body["error"]["message"]


def test_declared_oversized_body_is_413_before_it_is_read(api: httpx.Client) -> None:
    response = api.post(
        "/v1/memories",
        content=b"x" * (MAX_BODY + 1),
        headers={"content-type": "application/json"},
    )
    assert_error(response, 413, "payload_too_large")
    assert api.get("/healthz").status_code == 200


def test_streamed_oversized_body_is_413(api: httpx.Client, memory_name: str) -> None:
    client_memory(api, memory_name)

    def chunks() -> Iterator[bytes]:  # no Content-Length: sent chunked
        yield b'{"embeddings": {"a": ['
        for _ in range(MAX_BODY // 65536 + 1):
            yield b"0.5, " * 13107
        yield b"0.5]}}"

    response = api.put(
        f"/v1/memories/{memory_name}/embeddings",
        content=chunks(),
        headers={"content-type": "application/json"},
    )
    assert_error(response, 413, "payload_too_large")


def test_large_body_under_the_limit_is_judged_on_its_content(
    api: httpx.Client, memory_name: str
) -> None:
    client_memory(api, memory_name)
    text = "y" * (MAX_BODY // 2)
    response = api.post(
        f"/v1/memories/{memory_name}/retrieve", json={"task": text, "observation": "o"}
    )
    assert_error(response, 422, "invalid_request")  # too long a text, but not too large a body


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b"\xff\xfe\xfa not utf-8",
        b'{"name": "caf\xe9"}',
        b"[" * 100_000,
        b'{"name": 5}',
        b'{"name": null}',
        b'{"name": ["a"]}',
        b'{"name": "ok", "gamma": NaN}',
        b'{"name": "ok", "gamma": "0.5"}',
        b'{"name": "ok", "n_step": 1e400}',
        b'{"name": "ok", "dimension": 100000000000000000000000000000}',
        b'{"name": "a\\u0000b"}',
        b'{"name": "\\ud800"}',
        b"",
        b"null",
        b"[]",
    ],
)
def test_malformed_create_bodies_are_4xx(api: httpx.Client, raw: bytes) -> None:
    response = api.post("/v1/memories", content=raw, headers={"content-type": "application/json"})
    assert_refused(response)


@pytest.mark.parametrize(
    "transition",
    [
        {"reward": float("nan")},
        {"reward": float("inf")},
        {"reward": 1e300},
        {"reward": "1"},
        {"step": -1},
        {"step": 10**20},
        {"step": 1.5},
        {"done": "yes"},
        {"action": ""},
        {"action": "a" * 5000},
        {"action": "go\x00"},
        {"observation": "\ud800"},
        {"note": "n\x00"},
        {"unknown": 1},
    ],
)
def test_hostile_transitions_are_422_and_change_nothing(
    api: httpx.Client, memory_name: str, transition: dict[str, object]
) -> None:
    client_memory(api, memory_name)
    good = {
        "step": 0,
        "observation": "a",
        "action": "go",
        "reward": 0.0,
        "next_observation": "b",
        "done": True,
    }
    body = {"episode_id": "e", "task": "task", "transitions": [{**good, **transition}]}
    # json.dumps writes NaN/Infinity literals and "\ud800" escapes, as careless clients do.
    response = api.post(
        f"/v1/memories/{memory_name}/update",
        content=json.dumps(body).encode(),
        headers={"content-type": "application/json"},
    )
    assert_error(response, 422, "invalid_request")
    memory = api.get(f"/v1/memories/{memory_name}").json()
    assert (memory["records"], memory["actions"], memory["episodes_open"]) == (0, 0, 0)


def tampered_cursor(after: str) -> str:
    """A cursor of this service's shape around the JSON value `after`."""
    return base64.urlsafe_b64encode(f'{{"after": {after}}}'.encode()).decode()


@pytest.mark.parametrize(
    ("method", "path", "params"),
    [
        ("GET", "/v1/memories/a%00b", {}),
        ("GET", "/v1/memories/" + "a" * 5000, {}),
        ("GET", "/v1/memories", {"limit": "-1"}),
        ("GET", "/v1/memories", {"limit": "ten"}),
        ("GET", "/v1/memories", {"cursor": "\x00"}),
        ("GET", "/v1/memories", {"cursor": "eyJhZnRlciI6IDV9"}),  # {"after": 5}: not a name
        ("GET", "/v1/memories", {"cursor": tampered_cursor('"\\ud800"')}),
        ("GET", "/v1/memories", {"cursor": tampered_cursor('"a\\u0000"')}),
        ("GET", "/v1/keys", {"cursor": tampered_cursor(str(2**70))}),
        ("GET", "/v1/memories/m/records", {"task": "a\x00b"}),
        ("GET", "/v1/memories/m/records/-5", {}),
        ("DELETE", "/v1/keys/abc", {}),
    ],
)
def test_hostile_paths_and_queries_are_4xx(
    api: httpx.Client, method: str, path: str, params: dict[str, str]
) -> None:
    assert_refused(api.request(method, path, params=params))


def test_retrieve_bounds(api: httpx.Client, memory_name: str) -> None:
    client_memory(api, memory_name)
    for body in (
        {"task": "task", "observation": "a", "k": 101},
        {"task": "task", "observation": "a", "lambda": 2},
        {"task": "task", "observation": ["a"]},
        {"task": "t" * 100_001, "observation": "a"},
        {"task": "task", "observation": "a", "lambda_": 0.3},  # the field's Python name
    ):
        assert_error(
            api.post(f"/v1/memories/{memory_name}/retrieve", json=body), 422, "invalid_request"
        )
    created = api.post("/v1/memories", json={"name": f"{memory_name}-x", "lambda_": 0.3})
    assert_error(created, 422, "invalid_request")
    too_long = {"embeddings": {"x": [1.0] * 1001}}
    assert_error(
        api.put(f"/v1/memories/{memory_name}/embeddings", json=too_long), 422, "invalid_request"
    )


def test_unknown_query_parameters_are_422(api: httpx.Client, memory_name: str) -> None:
    client_memory(api, memory_name)
    misspelt = api.get(f"/v1/memories/{memory_name}/records", params={"limt": 5})
    assert_error(misspelt, 422, "invalid_request")
    assert "'limt'" in misspelt.json()["error"]["message"]
    assert "limit" in misspelt.json()["error"]["message"]
    assert api.get(f"/v1/memories/{memory_name}/records", params={"limit": 5}).status_code == 200
