"""The sync and async clients offer the same API and put the same bytes on the wire."""

from __future__ import annotations

import inspect
import json
from typing import Any

import httpx
import pytest
import rememberer_client as rc
from client_testkit import MEMORY_JSON, RECORD_JSON, FakeServer, collect, update_json

REFLECTION_METHODS = {
    "retrieve_with_reflections",
    "create_reflection",
    "get_reflection",
    "list_reflections",
    "export_reflections",
}
EPISODE_METHODS = {"list_episodes", "iter_episodes", "get_episode", "abandon_episode"}
CLIENT_METHODS = {
    "create_memory",
    "get_memory",
    "list_memories",
    "iter_memories",
    "delete_memory",
    "put_embeddings",
    "retrieve",
    "update",
    "list_records",
    "iter_records",
    "get_record",
    "delete_record",
    "health",
    "ready",
    "memory",
    *EPISODE_METHODS,
    "with_options",
    *REFLECTION_METHODS,
}
HANDLE_METHODS = {
    "create",
    "get",
    "delete",
    "put_embeddings",
    "retrieve",
    "update",
    "list_records",
    "iter_records",
    "get_record",
    "delete_record",
    "episode",
    *EPISODE_METHODS,
    *REFLECTION_METHODS,
}
STREAMS = {"iter_memories", "iter_records", "iter_episodes", "export_reflections"}
NOT_COROUTINES = {"memory", "with_options", "episode", *STREAMS}
LIFECYCLE = {"close", "aclose"}


def public_methods(cls: type) -> set[str]:
    return {
        name
        for name, value in inspect.getmembers(cls)
        if not name.startswith("_") and callable(value) and name not in LIFECYCLE
    }


def shape(cls: type, name: str) -> list[tuple[str, Any, Any]]:
    signature = inspect.signature(getattr(cls, name))
    return [(p.name, p.kind, p.default) for p in signature.parameters.values()]


@pytest.mark.parametrize(
    ("sync_class", "async_class", "required"),
    [
        (rc.MemoryClient, rc.AsyncMemoryClient, CLIENT_METHODS),
        (rc.MemoryHandle, rc.AsyncMemoryHandle, HANDLE_METHODS),
        (rc.Episode, rc.AsyncEpisode, {"step", "abandon"}),
    ],
)
def test_same_methods_and_signatures(
    sync_class: type, async_class: type, required: set[str]
) -> None:
    assert required <= public_methods(sync_class)
    assert public_methods(sync_class) == public_methods(async_class)
    for name in public_methods(sync_class):
        assert shape(sync_class, name) == shape(async_class, name), name
        sync_method, async_method = getattr(sync_class, name), getattr(async_class, name)
        assert not inspect.iscoroutinefunction(sync_method), name
        if name not in NOT_COROUTINES:
            assert inspect.iscoroutinefunction(async_method), name
    if sync_class is rc.MemoryClient:
        for name in STREAMS:
            assert inspect.isgeneratorfunction(getattr(sync_class, name))
            assert inspect.isasyncgenfunction(getattr(async_class, name))


def test_every_method_takes_per_call_options() -> None:
    for cls in (rc.MemoryClient, rc.AsyncMemoryClient, rc.MemoryHandle, rc.AsyncMemoryHandle):
        for name in public_methods(cls) - {"memory", "with_options", "episode"}:
            params = inspect.signature(getattr(cls, name)).parameters
            for option in ("timeout", "max_retries"):
                assert params[option].kind is inspect.Parameter.KEYWORD_ONLY, (cls, name)
                assert params[option].default is rc.NOT_GIVEN, (cls, name)
    for episode_class in (rc.Episode, rc.AsyncEpisode):
        step = inspect.signature(episode_class.step).parameters
        assert {"timeout", "max_retries"} <= set(step)


def test_lifecycle() -> None:
    assert hasattr(rc.MemoryClient, "close") and hasattr(rc.MemoryClient, "__enter__")
    assert inspect.iscoroutinefunction(rc.AsyncMemoryClient.aclose)
    assert inspect.iscoroutinefunction(rc.AsyncMemoryClient.__aenter__)


def wire(requests: list[httpx.Request]) -> list[tuple[str, str, Any, str | None, Any]]:
    return [
        (
            r.method,
            str(r.url),
            json.loads(r.content) if r.content else None,
            r.headers.get("authorization"),
            r.extensions["timeout"],
        )
        for r in requests
    ]


def scripted_server() -> FakeServer:
    server = FakeServer()
    server.json(201, MEMORY_JSON)
    server.json(200, {"stored": 1})
    server.json(200, {"exemplars": []})
    server.json(200, update_json("ep", 1, done=True))
    server.json(200, {"items": [RECORD_JSON], "next_cursor": "n"})
    server.json(200, {"items": []})
    server.json(200, RECORD_JSON)
    server.json(204)
    server.json(204)
    return server


async def test_same_requests_from_both_clients() -> None:
    sync_server = scripted_server()
    with (
        httpx.Client(transport=httpx.MockTransport(sync_server.handler)) as http,
        rc.MemoryClient("http://t", api_key="k", http_client=http) as client,
    ):
        memory = client.memory("m")
        memory.create(gamma=0.5, lambda_=0.1)
        memory.put_embeddings({"x": [1.0]})
        memory.retrieve("t", "o", k=1)
        with memory.episode("t", episode_id="ep") as ep:
            ep.step("o", "a", 1.0, "o2", done=True)
        list(memory.iter_records(task="t"))
        memory.get_record(7)
        memory.delete_record(7)
        memory.delete()

    async_server = scripted_server()
    async with (
        httpx.AsyncClient(transport=httpx.MockTransport(async_server.handler)) as ahttp,
        rc.AsyncMemoryClient("http://t", api_key="k", http_client=ahttp) as aclient,
    ):
        amemory = aclient.memory("m")
        await amemory.create(gamma=0.5, lambda_=0.1)
        await amemory.put_embeddings({"x": [1.0]})
        await amemory.retrieve("t", "o", k=1)
        async with amemory.episode("t", episode_id="ep") as aep:
            await aep.step("o", "a", 1.0, "o2", done=True)
        await collect(amemory.iter_records(task="t"))
        await amemory.get_record(7)
        await amemory.delete_record(7)
        await amemory.delete()

    assert len(sync_server.requests) == 9
    assert wire(sync_server.requests) == wire(async_server.requests)
