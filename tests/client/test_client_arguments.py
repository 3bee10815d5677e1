"""Arguments as users meet them: strict types for every method, get-or-create, and
errors that say what was tried and which SDK method to call."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
import rememberer_client as rc
from client_testkit import BASE_URL, MEMORY_JSON, FakeServer, call, collect, error_json

# -- strict types --------------------------------------------------------------------


def test_invalid_argument_error_is_every_kind_of_argument_error() -> None:
    assert issubclass(rc.InvalidArgumentError, rc.RemembererError)
    assert issubclass(rc.InvalidArgumentError, TypeError)
    assert issubclass(rc.InvalidArgumentError, ValueError)
    assert not issubclass(rc.InvalidArgumentError, rc.APIError)


TRANSITION = {"step": 0, "observation": "o", "action": "a", "reward": 0.0, "next_observation": "p"}


@pytest.mark.parametrize(
    ("method", "args", "kwargs", "named"),
    [
        ("retrieve", ("webshop", "t", "o"), {"k": "2"}, "k"),
        ("retrieve", ("webshop", "t", "o"), {"k": True}, "k"),
        ("retrieve", ("webshop", "t", "o", 2, "0.5"), {}, "lambda_"),
        ("retrieve", ("webshop", 7, "o"), {}, "task"),
        ("get_memory", (3,), {}, "name"),
        ("get_record", ("webshop", "7"), {}, "record_id"),
        ("list_records", ("webshop",), {"limit": 1.5}, "limit"),
        ("create_memory", ("webshop",), {"gamma": "0.9"}, "gamma"),
        ("create_memory", ("webshop",), {"n_step": 1.0}, "n_step"),
        ("create_memory", ("webshop",), {"exist_ok": "yes"}, "exist_ok"),
        ("update", ("webshop", "ep", "t", [{**TRANSITION, "reward": "1"}]), {}, "reward"),
        ("update", ("webshop", "ep", "t", ["not a transition"]), {}, "transitions[0]"),
        ("update", ("webshop", "ep", "t", [TRANSITION]), {"reflection_ids": ["1"]}, "reflection"),
        ("put_embeddings", ("webshop", {"a": ["1.0"]}), {}, "embeddings"),
        ("create_reflection", ("webshop", "t", "ep", None), {}, "text"),
        (
            "upsert_records",
            ("webshop", [{"task": "t", "observation": "o", "visits": "1"}]),
            {},
            "visits",
        ),
        ("get_memory", ("webshop",), {"timeout": "5"}, "timeout"),
    ],
)
async def test_wrong_types_fail_locally(
    client: Any, server: FakeServer, method: str, args: tuple[Any, ...], kwargs: Any, named: str
) -> None:
    with pytest.raises(rc.InvalidArgumentError, match=re.escape(named)):
        await call(client, method, *args, **kwargs)
    assert server.requests == []


async def test_streams_check_their_arguments_too(client: Any, server: FakeServer) -> None:
    with pytest.raises(rc.InvalidArgumentError, match="format"):
        await collect(client.export_reflections("webshop", "csv"))
    with pytest.raises(rc.InvalidArgumentError, match="limit"):
        await collect(client.iter_records("webshop", page_size="10"))
    assert server.requests == []


@pytest.mark.parametrize("reward", ["1.0", "one", None, True])
async def test_episode_step_is_as_strict_as_update(
    client: Any, server: FakeServer, reward: Any
) -> None:
    episode = client.memory("webshop").episode("buy a mug")
    with pytest.raises(rc.InvalidArgumentError, match="reward"):
        await call(episode, "step", "home", "search", reward, "results")
    assert server.requests == []
    assert episode.next_step == 0


def test_episode_arguments_are_checked() -> None:
    memory = rc.MemoryClient(BASE_URL).memory("webshop")
    with pytest.raises(rc.InvalidArgumentError, match="task"):
        memory.episode(42)  # type: ignore[arg-type]
    with pytest.raises(rc.InvalidArgumentError, match="reflection_ids"):
        memory.episode("t", reflection_ids=["1"])  # type: ignore[list-item]


async def test_numbers_that_are_numbers_pass(client: Any, server: FakeServer) -> None:
    server.json(200, {"exemplars": []})
    await call(client, "retrieve", "webshop", "t", "o", 3, 1)  # an int is a fine float
    assert json.loads(server.last.content)["lambda"] == 1


# -- create(exist_ok=True) -----------------------------------------------------------


async def test_exist_ok_returns_the_memory_when_the_settings_match(
    client: Any, server: FakeServer
) -> None:
    server.json(409, error_json("memory_exists", "memory 'webshop' already exists"))
    server.json(200, {**MEMORY_JSON, "records": 4})
    memory = await call(
        client.memory("webshop"), "create", exist_ok=True, gamma=0.9, embedder="client"
    )
    assert isinstance(memory, rc.Memory) and memory.records == 4
    assert [(r.method, r.url.path) for r in server.requests] == [
        ("POST", "/v1/memories"),
        ("GET", "/v1/memories/webshop"),
    ]


async def test_exist_ok_names_the_settings_that_differ(client: Any, server: FakeServer) -> None:
    server.json(409, error_json("memory_exists"))
    server.json(200, MEMORY_JSON)
    with pytest.raises(rc.ConflictError) as caught:
        await call(client, "create_memory", "webshop", exist_ok=True, gamma=0.5, dimension=3)
    assert caught.value.code == "memory_exists"
    assert "gamma=0.9 (asked 0.5)" in caught.value.message
    assert "dimension" not in caught.value.message


async def test_without_exist_ok_a_taken_name_is_a_conflict(client: Any, server: FakeServer) -> None:
    server.json(409, error_json("memory_exists"))
    with pytest.raises(rc.ConflictError):
        await call(client, "create_memory", "webshop", gamma=0.9)
    assert len(server.requests) == 1


async def test_exist_ok_leaves_other_conflicts_alone(client: Any, server: FakeServer) -> None:
    server.json(409, error_json("conflict"))
    with pytest.raises(rc.ConflictError):
        await call(client, "create_memory", "webshop", exist_ok=True)
    assert len(server.requests) == 1


async def test_exist_ok_creates_when_free(client: Any, server: FakeServer) -> None:
    server.json(201, MEMORY_JSON)
    await call(client, "create_memory", "webshop", exist_ok=True, gamma=0.9)
    assert json.loads(server.last.content) == {"name": "webshop", "gamma": 0.9}


# -- what errors say -----------------------------------------------------------------


async def test_connection_errors_name_the_url(client: Any, server: FakeServer) -> None:
    server.default = httpx.ConnectError("connection refused")
    with pytest.raises(rc.APIConnectionError, match=f"{BASE_URL}/v1/memories/webshop"):
        await call(client, "get_memory", "webshop", max_retries=0)
    server.default = httpx.ConnectTimeout("slow")
    with pytest.raises(rc.APITimeoutError, match=f"{BASE_URL}/v1/memories/webshop"):
        await call(client, "get_memory", "webshop", max_retries=0)


@pytest.mark.parametrize(
    ("message", "hint"),
    [
        ("memory 'w' does not exist; create it with POST /v1/memories", "memory.create()"),
        (
            "reflection_ids [3] do not exist in this memory; "
            "create reflections with POST /v1/memories/{memory}/reflections",
            "memory.create_reflection()",
        ),
        (
            "no vector for 'x'; PUT it to /v1/memories/{memory}/embeddings first",
            "memory.put_embeddings()",
        ),
    ],
)
async def test_errors_name_the_sdk_method_to_call(
    client: Any, server: FakeServer, message: str, hint: str
) -> None:
    server.json(404, error_json("memory_not_found", message))
    with pytest.raises(rc.NotFoundError) as caught:
        await call(client, "get_memory", "w")
    assert caught.value.message.startswith(message)
    assert hint in caught.value.message
    assert caught.value.body == error_json("memory_not_found", message)


async def test_other_messages_are_kept_as_sent(client: Any, server: FakeServer) -> None:
    server.json(404, error_json("record_not_found", "record 7 does not exist in this memory"))
    with pytest.raises(rc.NotFoundError) as caught:
        await call(client, "get_record", "w", 7)
    assert caught.value.message == "record 7 does not exist in this memory"
