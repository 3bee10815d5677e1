"""What goes on the wire: URLs, bodies, headers, timeouts; and how answers are read."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import rememberer_client as rc

from tests.support.client import (
    BASE_URL,
    MEMORY_JSON,
    RECORD_JSON,
    FakeServer,
    call,
    collect,
    update_json,
)


def body(request: httpx.Request) -> Any:
    return json.loads(request.content)


# -- configuration -------------------------------------------------------------------


@pytest.mark.parametrize("client_class", [rc.MemoryClient, rc.AsyncMemoryClient])
def test_defaults_and_environment(
    monkeypatch: pytest.MonkeyPatch, client_class: type[rc.MemoryClient]
) -> None:
    monkeypatch.delenv("REMEMBERER_URL", raising=False)
    monkeypatch.delenv("REMEMBERER_API_KEY", raising=False)
    client = client_class()
    assert client.base_url == "http://127.0.0.1:8000"
    assert client.api_key is None
    assert "Authorization" not in client.default_headers
    assert client.timeout == httpx.Timeout(30.0, connect=5.0)
    assert client.max_retries == 2

    monkeypatch.setenv("REMEMBERER_URL", "http://env.test:9000/prefix/")
    monkeypatch.setenv("REMEMBERER_API_KEY", "env-key")
    client = client_class()
    assert client.base_url == "http://env.test:9000/prefix"
    assert client.default_headers["Authorization"] == "Bearer env-key"
    assert "env-key" not in repr(client)

    client = client_class("http://explicit.test", api_key="explicit-key")
    assert client.base_url == "http://explicit.test"
    assert client.api_key == "explicit-key"


async def test_headers_sent(make_client: Any, server: FakeServer) -> None:
    client = make_client(api_key="sekrit", default_headers={"X-Agent": "unit-test"})
    server.json(200, MEMORY_JSON)
    await call(client, "get_memory", "webshop")
    headers = server.last.headers
    assert headers["authorization"] == "Bearer sekrit"
    assert headers["x-agent"] == "unit-test"
    assert headers["accept"] == "application/json"
    assert headers["user-agent"] == f"rememberer-client/{rc.__version__}"


async def test_base_url_path_prefix_is_kept(make_client: Any, server: FakeServer) -> None:
    client = make_client(base_url="http://proxy.test/rememberer/")
    server.json(200, MEMORY_JSON)
    await call(client, "get_memory", "webshop")
    assert str(server.last.url) == "http://proxy.test/rememberer/v1/memories/webshop"


def test_invalid_options_are_refused() -> None:
    with pytest.raises(ValueError, match="always on"):
        rc.MemoryClient(timeout=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        rc.MemoryClient(timeout=httpx.Timeout(None))
    with pytest.raises(ValueError):
        rc.MemoryClient(timeout=httpx.Timeout(10.0, read=None))
    with pytest.raises(ValueError):
        rc.MemoryClient(timeout=0)
    with pytest.raises(ValueError):
        rc.AsyncMemoryClient(max_retries=-1)


# -- timeouts ------------------------------------------------------------------------


async def test_timeouts_are_always_set(make_client: Any, server: FakeServer) -> None:
    server.default = httpx.Response(200, json=MEMORY_JSON)
    client = make_client()
    await call(client, "get_memory", "webshop")
    assert server.last.extensions["timeout"] == {
        "connect": 5.0,
        "read": 30.0,
        "write": 30.0,
        "pool": 30.0,
    }


async def test_timeouts_apply_even_if_injected_client_has_none(
    server: FakeServer, flavor: str
) -> None:
    server.default = httpx.Response(200, json=MEMORY_JSON)
    transport = httpx.MockTransport(server.handler)
    client: Any
    if flavor == "sync":
        client = rc.MemoryClient(
            BASE_URL, http_client=httpx.Client(transport=transport, timeout=None)
        )
    else:
        client = rc.AsyncMemoryClient(
            BASE_URL, http_client=httpx.AsyncClient(transport=transport, timeout=None)
        )
    await call(client, "get_memory", "webshop")
    assert None not in server.last.extensions["timeout"].values()


async def test_per_call_timeout_override(make_client: Any, server: FakeServer) -> None:
    server.default = httpx.Response(200, json=MEMORY_JSON)
    client = make_client(timeout=12.0)
    await call(client, "get_memory", "webshop")
    assert server.last.extensions["timeout"]["read"] == 12.0

    await call(client, "get_memory", "webshop", timeout=2.0)
    assert set(server.last.extensions["timeout"].values()) == {2.0}

    await call(client, "get_memory", "webshop", timeout=httpx.Timeout(9.0, connect=1.0))
    assert server.last.extensions["timeout"]["connect"] == 1.0
    assert server.last.extensions["timeout"]["read"] == 9.0

    with pytest.raises(ValueError):
        await call(client, "get_memory", "webshop", timeout=None)
    assert len(server.requests) == 3

    quick = client.with_options(timeout=0.5)
    await call(quick, "get_memory", "webshop")
    assert server.last.extensions["timeout"]["read"] == 0.5
    assert client.timeout.read == 12.0


# -- endpoints -----------------------------------------------------------------------


async def test_create_memory_sends_only_given_settings(client: Any, server: FakeServer) -> None:
    server.json(201, MEMORY_JSON)
    memory = await call(client, "create_memory", "webshop")
    assert server.last.method == "POST"
    assert server.last.url.path == "/v1/memories"
    assert body(server.last) == {"name": "webshop"}
    assert isinstance(memory, rc.Memory)
    assert memory.lambda_ == 0.5 and memory.embedder == "client"

    server.json(201, MEMORY_JSON)
    await call(
        client,
        "create_memory",
        "webshop",
        gamma=0.9,
        n_step=None,
        lambda_=0.25,
        embedder="client",
        dimension=3,
        item_capacity=None,
    )
    assert body(server.last) == {
        "name": "webshop",
        "gamma": 0.9,
        "n_step": None,
        "lambda": 0.25,
        "embedder": "client",
        "dimension": 3,
        "item_capacity": None,
    }


async def test_create_memory_refuses_unknown_settings(client: Any, server: FakeServer) -> None:
    with pytest.raises(TypeError, match="gama"):
        await call(client, "create_memory", "webshop", gama=0.9)
    assert server.requests == []


async def test_get_and_delete_memory(client: Any, server: FakeServer) -> None:
    server.json(200, {**MEMORY_JSON, "records": 3, "actions": 5, "episodes_open": 1})
    memory = await call(client, "get_memory", "webshop")
    assert (server.last.method, server.last.url.path) == ("GET", "/v1/memories/webshop")
    assert (memory.records, memory.actions, memory.episodes_open) == (3, 5, 1)
    assert memory.created_at.year == 2026

    server.json(204)
    assert await call(client, "delete_memory", "webshop") is None
    assert (server.last.method, server.last.url.path) == ("DELETE", "/v1/memories/webshop")


async def test_path_parts_are_url_encoded(client: Any, server: FakeServer) -> None:
    server.json(200, MEMORY_JSON)
    await call(client, "get_memory", "we/b shop?")
    assert server.last.url.raw_path == b"/v1/memories/we%2Fb%20shop%3F"
    for bad in ("", ".", ".."):
        with pytest.raises(ValueError):
            await call(client, "get_memory", bad)
    assert len(server.requests) == 1


async def test_put_embeddings(client: Any, server: FakeServer) -> None:
    server.json(200, {"stored": 2})
    stored = await call(client, "put_embeddings", "webshop", {"a": (1.0, 0.0), "b": [0, 1]})
    assert stored == 2
    assert (server.last.method, server.last.url.path) == ("PUT", "/v1/memories/webshop/embeddings")
    assert body(server.last) == {"embeddings": {"a": [1.0, 0.0], "b": [0, 1]}}


async def test_retrieve(client: Any, server: FakeServer) -> None:
    exemplar = {**RECORD_JSON, "score": 0.9, "task_score": 1.0, "observation_score": 0.8}
    server.json(200, {"exemplars": [exemplar], "took_ms": 3})
    exemplars = await call(client, "retrieve", "webshop", "buy a mug", "home")
    assert body(server.last) == {"task": "buy a mug", "observation": "home", "k": 2}
    assert server.last.url.path == "/v1/memories/webshop/retrieve"
    assert len(exemplars) == 1 and isinstance(exemplars[0], rc.Exemplar)
    assert exemplars[0].score == 0.9
    assert exemplars[0].actions[0].action == "search[mug]"

    server.json(200, {"exemplars": []})
    await call(client, "retrieve", "webshop", "t", "o", 5, 0.0)
    assert body(server.last) == {"task": "t", "observation": "o", "k": 5, "lambda": 0.0}


async def test_update_accepts_models_and_mappings(client: Any, server: FakeServer) -> None:
    server.json(200, update_json("ep-1", 2, done=True))
    result = await call(
        client,
        "update",
        "webshop",
        "ep-1",
        "buy a mug",
        [
            rc.Transition(step=0, observation="o0", action="a0", reward=0, next_observation="o1"),
            {
                "step": 1,
                "observation": "o1",
                "action": "a1",
                "reward": 1.5,
                "next_observation": "o2",
                "done": True,
                "note": "why",
            },
        ],
    )
    assert body(server.last) == {
        "episode_id": "ep-1",
        "task": "buy a mug",
        "transitions": [
            {
                "step": 0,
                "observation": "o0",
                "action": "a0",
                "reward": 0.0,
                "next_observation": "o1",
                "done": False,
            },
            {
                "step": 1,
                "observation": "o1",
                "action": "a1",
                "reward": 1.5,
                "next_observation": "o2",
                "done": True,
                "note": "why",
            },
        ],
    }
    assert isinstance(result, rc.UpdateResult)
    assert result.episode == rc.EpisodeState(episode_id="ep-1", next_step=2, done=True)


async def test_update_rejects_malformed_transition_locally(client: Any, server: FakeServer) -> None:
    misspelt = {
        "step": 0,
        "observation": "o",
        "action": "a",
        "reward": 0,
        "next_observation": "o2",
        "Done": True,
    }
    with pytest.raises(ValueError):
        await call(client, "update", "webshop", "ep", "task", [misspelt])
    assert server.requests == []


async def test_records(client: Any, server: FakeServer) -> None:
    server.json(200, {"items": [RECORD_JSON], "next_cursor": "c2"})
    page = await call(client, "list_records", "webshop", task="buy a mug", limit=10)
    assert server.last.url.path == "/v1/memories/webshop/records"
    assert dict(server.last.url.params) == {"task": "buy a mug", "limit": "10"}
    assert page.next_cursor == "c2" and page.items[0].record_id == 7

    server.json(200, {"items": []})
    await call(client, "list_records", "webshop")
    assert server.last.url.query == b""

    server.json(200, RECORD_JSON)
    record = await call(client, "get_record", "webshop", 7)
    assert server.last.url.path == "/v1/memories/webshop/records/7"
    assert isinstance(record, rc.Record) and record.visits == 1

    server.json(204)
    assert await call(client, "delete_record", "webshop", 7) is None
    assert (server.last.method, server.last.url.path) == (
        "DELETE",
        "/v1/memories/webshop/records/7",
    )


async def test_iter_memories_follows_cursors(client: Any, server: FakeServer) -> None:
    names = ["a", "b", "c", "d", "e"]
    server.json(
        200, {"items": [{**MEMORY_JSON, "name": n} for n in names[:2]], "next_cursor": "p2"}
    )
    server.json(200, {"items": [], "next_cursor": "p3"})
    server.json(
        200, {"items": [{**MEMORY_JSON, "name": n} for n in names[2:]], "next_cursor": None}
    )
    memories = await collect(client.iter_memories(page_size=2))
    assert [m.name for m in memories] == names
    assert [dict(r.url.params) for r in server.requests] == [
        {"limit": "2"},
        {"limit": "2", "cursor": "p2"},
        {"limit": "2", "cursor": "p3"},
    ]


async def test_iter_records_follows_cursors(client: Any, server: FakeServer) -> None:
    server.json(200, {"items": [{**RECORD_JSON, "record_id": 1}], "next_cursor": "x"})
    server.json(200, {"items": [{**RECORD_JSON, "record_id": 2}]})
    records = await collect(client.memory("webshop").iter_records(task="buy a mug"))
    assert [r.record_id for r in records] == [1, 2]
    assert [dict(r.url.params) for r in server.requests] == [
        {"task": "buy a mug"},
        {"task": "buy a mug", "cursor": "x"},
    ]


async def test_iteration_is_lazy(client: Any, server: FakeServer) -> None:
    server.json(200, {"items": [MEMORY_JSON], "next_cursor": "more"})
    iterator = client.iter_memories()
    assert server.requests == []
    first = await iterator.__anext__() if hasattr(iterator, "__anext__") else next(iterator)
    assert first.name == "webshop"
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    ("method", "path", "status", "expected"),
    [
        ("health", "/healthz", 200, True),
        ("health", "/healthz", 503, False),
        ("ready", "/readyz", 200, True),
        ("ready", "/readyz", 204, True),
        ("ready", "/readyz", 503, False),
    ],
)
async def test_probes(
    client: Any, server: FakeServer, method: str, path: str, status: int, expected: bool
) -> None:
    server.json(status, {"status": "whatever"})
    assert await call(client, method) is expected
    assert server.last.url.path == path


async def test_probe_failures_other_than_503_raise(client: Any, server: FakeServer) -> None:
    server.json(401, {"error": {"code": "unauthorized", "message": "key"}})
    with pytest.raises(rc.AuthenticationError):
        await call(client, "ready")


# -- handles -------------------------------------------------------------------------


async def test_memory_handle_binds_the_name(client: Any, server: FakeServer) -> None:
    memory = client.memory("web shop")
    assert memory.name == "web shop" and memory.client is client
    server.default = httpx.Response(200, json=MEMORY_JSON)
    await call(memory, "get")
    await call(memory, "create", gamma=0.5)
    assert body(server.last) == {"name": "web shop", "gamma": 0.5}
    server.default = httpx.Response(200, json={"stored": 1})
    await call(memory, "put_embeddings", {"t": [1.0]})
    server.default = httpx.Response(200, json={"exemplars": []})
    await call(memory, "retrieve", "t", "o", k=3)
    server.default = httpx.Response(200, json=update_json("e", 1))
    await call(memory, "update", "e", "t", [])
    server.default = httpx.Response(200, json={"items": []})
    await call(memory, "list_records")
    server.default = httpx.Response(200, json=RECORD_JSON)
    await call(memory, "get_record", 7)
    server.default = httpx.Response(204)
    await call(memory, "delete_record", 7)
    await call(memory, "delete")
    assert [(r.method, r.url.raw_path.decode()) for r in server.requests] == [
        ("GET", "/v1/memories/web%20shop"),
        ("POST", "/v1/memories"),
        ("PUT", "/v1/memories/web%20shop/embeddings"),
        ("POST", "/v1/memories/web%20shop/retrieve"),
        ("POST", "/v1/memories/web%20shop/update"),
        ("GET", "/v1/memories/web%20shop/records"),
        ("GET", "/v1/memories/web%20shop/records/7"),
        ("DELETE", "/v1/memories/web%20shop/records/7"),
        ("DELETE", "/v1/memories/web%20shop"),
    ]


# -- models --------------------------------------------------------------------------


def test_models_ignore_unknown_fields() -> None:
    memory = rc.Memory.model_validate({**MEMORY_JSON, "shiny_new_field": 1})
    assert not hasattr(memory, "shiny_new_field")
    record = rc.Record.model_validate(
        {**RECORD_JSON, "extra": True, "actions": [{**RECORD_JSON["actions"][0], "x": 1}]}
    )
    assert record.actions[0].q == 1.0
    page = rc.Page[rc.Memory].model_validate({"items": [MEMORY_JSON], "cursor_hint": "?"})
    assert page.next_cursor is None


def test_memory_lambda_alias() -> None:
    memory = rc.Memory.model_validate({**MEMORY_JSON, "lambda": 0.3})
    assert memory.lambda_ == 0.3
    assert memory.model_dump(by_alias=True, mode="json")["lambda"] == 0.3
    assert rc.Memory(name="m", created_at="2026-01-01T00:00:00Z", lambda_=0.2).lambda_ == 0.2


def test_public_api_is_curated() -> None:
    assert "MemoryClient" in rc.__all__
    assert all(not name.startswith("_") or name == "__version__" for name in rc.__all__)
    for name in rc.__all__:
        assert hasattr(rc, name), name
    assert rc.MemoryClient.__module__ == "rememberer_client"
    assert repr(rc.NOT_GIVEN) == "NOT_GIVEN" and not rc.NOT_GIVEN


# -- lifecycle -----------------------------------------------------------------------


def test_sync_context_manager_closes_only_owned_pool() -> None:
    with rc.MemoryClient() as client:
        inner = client._client
    assert inner.is_closed

    injected = httpx.Client()
    with rc.MemoryClient(http_client=injected) as client:
        assert client._client is injected
        copy = client.with_options(max_retries=0)
        copy.close()
        assert not injected.is_closed
    assert not injected.is_closed
    injected.close()


async def test_async_context_manager_closes_only_owned_pool() -> None:
    async with rc.AsyncMemoryClient() as client:
        inner = client._client
    assert inner.is_closed

    injected = httpx.AsyncClient()
    async with rc.AsyncMemoryClient(http_client=injected) as client:
        copy = client.with_options(timeout=3.0)
        assert copy._client is injected
        await copy.aclose()
    assert not injected.is_closed
    await injected.aclose()
