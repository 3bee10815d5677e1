"""What agents need of the SDK: visible retries, truncated and abandoned episodes,
retrieval filters, the bootstrap threshold and the episodes listing.

The service side of the new endpoints is built separately, so these tests check the
requests the SDK sends and how it reads the documented answers (SPEC.md), against the
scripted fake server.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import rememberer_client as rc
from client_testkit import (
    BASE_URL,
    MEMORY_JSON,
    FakeServer,
    call,
    collect,
    error_json,
    update_json,
)


def sent(request: httpx.Request) -> Any:
    return json.loads(request.content)


# -- retries made visible ------------------------------------------------------------


async def test_retries_are_counted_and_reported(
    make_client: Any, server: FakeServer, sleeps: list[float]
) -> None:
    events: list[rc.RetryEvent] = []
    client = make_client(on_retry=events.append)
    server.json(503, error_json("unavailable"))
    server.reply(httpx.ConnectError("refused"))
    server.json(200, MEMORY_JSON)
    await call(client, "get_memory", "webshop")

    assert client.retry_stats.total == 2
    assert client.retry_stats.by_reason == {"HTTP 503": 1, "ConnectError": 1}
    assert [(e.method, e.url, e.attempt, e.reason) for e in events] == [
        ("GET", f"{BASE_URL}/v1/memories/webshop", 1, "HTTP 503"),
        ("GET", f"{BASE_URL}/v1/memories/webshop", 2, "ConnectError"),
    ]
    assert [e.delay for e in events] == sleeps


async def test_no_retry_counts_nothing(client: Any, server: FakeServer) -> None:
    server.json(503, error_json("unavailable"))
    with pytest.raises(rc.InternalServerError):
        await call(client, "get_memory", "webshop", max_retries=0)
    assert client.retry_stats.total == 0 and client.retry_stats.by_reason == {}


async def test_copies_share_the_counts_and_may_change_the_hook(
    make_client: Any, server: FakeServer
) -> None:
    first: list[rc.RetryEvent] = []
    second: list[rc.RetryEvent] = []
    client = make_client(on_retry=first.append)
    server.default = httpx.Response(429, json=error_json("rate_limited"))

    copy = client.with_options(max_retries=1)
    assert copy.retry_stats is client.retry_stats and copy.on_retry is client.on_retry
    with pytest.raises(rc.RateLimitError):
        await call(copy, "get_memory", "webshop")
    assert client.retry_stats.by_reason == {"HTTP 429": 1} and len(first) == 1

    rehooked = client.with_options(max_retries=1, on_retry=second.append)
    with pytest.raises(rc.RateLimitError):
        await call(rehooked, "get_memory", "webshop")
    assert (len(first), len(second), client.retry_stats.total) == (1, 1, 2)

    own = rc.RetryStats()
    unhooked = client.with_options(max_retries=1, on_retry=None, retry_stats=own)
    with pytest.raises(rc.RateLimitError):
        await call(unhooked, "get_memory", "webshop")
    assert (own.total, client.retry_stats.total, len(first) + len(second)) == (1, 2, 2)

    own.reset()
    assert own.total == 0 and "total=0" in repr(own)


async def test_one_counter_for_several_clients(make_client: Any, server: FakeServer) -> None:
    shared = rc.RetryStats()
    agents = [make_client(retry_stats=shared, max_retries=1) for _ in range(2)]
    server.default = httpx.ReadTimeout("slow")
    for agent in agents:
        with pytest.raises(rc.APITimeoutError):
            await call(agent, "get_memory", "webshop")
    assert shared.by_reason == {"ReadTimeout": 2}


async def test_a_failing_hook_ends_the_call(make_client: Any, server: FakeServer) -> None:
    def give_up(event: rc.RetryEvent) -> None:
        raise RuntimeError(f"circuit open after {event.reason}")

    client = make_client(on_retry=give_up)
    server.json(502, error_json("bad_gateway"))
    with pytest.raises(RuntimeError, match="HTTP 502"):
        await call(client, "get_memory", "webshop")
    assert len(server.requests) == 1


def test_retry_options_are_checked() -> None:
    with pytest.raises(rc.InvalidArgumentError):
        rc.MemoryClient(on_retry="print")  # type: ignore[arg-type]
    with pytest.raises(rc.InvalidArgumentError):
        rc.AsyncMemoryClient(retry_stats={})  # type: ignore[arg-type]


# -- truncated and abandoned episodes ------------------------------------------------


def echo_update(request: httpx.Request) -> httpx.Response:
    last = sent(request)["transitions"][-1]
    ended = last["done"] or last.get("truncated", False)
    return httpx.Response(
        200, json=update_json(sent(request)["episode_id"], last["step"] + 1, ended)
    )


async def test_truncated_goes_on_the_wire_only_when_true(client: Any, server: FakeServer) -> None:
    server.default = echo_update
    ep = client.memory("webshop").episode("find the key", episode_id="e1")
    await call(ep, "step", "hall", "go north", 0.0, "kitchen")
    assert "truncated" not in sent(server.last)["transitions"][0]
    await call(ep, "step", "kitchen", "look", 0.0, "kitchen", truncated=True)
    assert sent(server.last)["transitions"][0]["truncated"] is True
    assert ep.done
    with pytest.raises(rc.EpisodeFinishedError):
        await call(ep, "step", "kitchen", "look", 0.0, "kitchen")
    assert len(server.requests) == 2


async def test_done_and_truncated_together_are_refused(client: Any, server: FakeServer) -> None:
    ep = client.memory("webshop").episode("find the key")
    with pytest.raises(rc.InvalidArgumentError, match="not both"):
        await call(ep, "step", "hall", "wait", 0.0, "hall", done=True, truncated=True)
    with pytest.raises(rc.InvalidArgumentError, match="truncated"):
        await call(ep, "step", "hall", "wait", 0.0, "hall", truncated="yes")
    assert server.requests == []


async def test_update_passes_truncated_transitions(client: Any, server: FakeServer) -> None:
    server.json(200, update_json("e", 1, done=True))
    transition = rc.Transition(
        step=0, observation="o", action="a", reward=1, next_observation="p", truncated=True
    )
    await call(client, "update", "webshop", "e", "t", [transition])
    assert sent(server.last)["transitions"][0]["truncated"] is True


SUMMARY_JSON: dict[str, Any] = {
    "episode_id": "e1",
    "task": "find the key",
    "steps": 2,
    "return": 1.5,
    "done": True,
    "status": "abandoned",
    "created_at": "2026-12-05T09:00:00Z",
    "updated_at": "2026-12-05T09:01:00Z",
}


async def test_abandon_an_episode(client: Any, server: FakeServer) -> None:
    server.default = echo_update
    ep = client.memory("webshop").episode("find the key", episode_id="e1")
    await call(ep, "step", "hall", "go north", 0.0, "kitchen")
    server.json(200, SUMMARY_JSON)
    summary = await call(ep, "abandon")
    assert isinstance(summary, rc.EpisodeSummary)
    assert (summary.status, summary.return_, summary.steps) == ("abandoned", 1.5, 2)
    assert (server.last.method, server.last.url.path) == (
        "POST",
        "/v1/memories/webshop/episodes/e1/abandon",
    )
    assert server.last.content == b""
    assert ep.done
    with pytest.raises(rc.EpisodeFinishedError):
        await call(ep, "step", "kitchen", "look", 0.0, "kitchen")


async def test_abandon_before_any_step(client: Any, server: FakeServer) -> None:
    ep = client.memory("webshop").episode("find the key")
    server.json(404, error_json("episode_not_found"))
    assert await call(ep, "abandon") is None
    assert ep.done

    other = client.memory("gone").episode("find the key")
    server.json(404, error_json("memory_not_found"))
    with pytest.raises(rc.NotFoundError):
        await call(other, "abandon")
    assert not other.done


# -- settings and retrieval filters --------------------------------------------------


async def test_bootstrap_min_score_is_a_setting(client: Any, server: FakeServer) -> None:
    server.json(201, {**MEMORY_JSON, "bootstrap_min_score": 0.95})
    memory = await call(client, "create_memory", "webshop", bootstrap_min_score=0.95)
    assert sent(server.last) == {"name": "webshop", "bootstrap_min_score": 0.95}
    assert memory.bootstrap_min_score == 0.95

    server.json(201, MEMORY_JSON)
    memory = await call(client, "create_memory", "webshop")
    assert sent(server.last) == {"name": "webshop"}
    assert memory.bootstrap_min_score is None


async def test_exist_ok_compares_bootstrap_min_score(client: Any, server: FakeServer) -> None:
    server.json(409, error_json("memory_exists"))
    server.json(200, MEMORY_JSON)
    with pytest.raises(rc.ConflictError, match="bootstrap_min_score=None"):
        await call(client, "create_memory", "webshop", exist_ok=True, bootstrap_min_score=0.9)


@pytest.mark.parametrize("method", ["retrieve", "retrieve_with_reflections"])
async def test_retrieval_filters_are_sent_only_when_set(
    client: Any, server: FakeServer, method: str
) -> None:
    server.default = httpx.Response(200, json={"exemplars": [], "reflections": []})
    memory = client.memory("webshop")
    await call(memory, method, "t", "o")
    assert not {"min_score", "task_filter"} & set(sent(server.last))
    await call(memory, method, "t", "o", min_score=0.8, task_filter="same")
    assert sent(server.last)["min_score"] == 0.8
    assert sent(server.last)["task_filter"] == "same"
    with pytest.raises(rc.InvalidArgumentError, match="task_filter"):
        await call(memory, method, "t", "o", task_filter="mine")
    with pytest.raises(rc.InvalidArgumentError, match="min_score"):
        await call(memory, method, "t", "o", min_score="0.8")
    assert len(server.requests) == 2


# -- the episodes listing ------------------------------------------------------------


async def test_list_episodes(client: Any, server: FakeServer) -> None:
    open_one = {**SUMMARY_JSON, "episode_id": "e2", "done": False, "status": "open"}
    server.json(200, {"items": [open_one], "next_cursor": "c2"})
    page = await call(client.memory("webshop"), "list_episodes", "find the key", False, 10)
    assert server.last.url.path == "/v1/memories/webshop/episodes"
    assert dict(server.last.url.params) == {"task": "find the key", "done": "false", "limit": "10"}
    assert page.next_cursor == "c2"
    assert page.items[0].status == "open" and not page.items[0].done

    server.json(200, {"items": []})
    await call(client, "list_episodes", "webshop", done=True, cursor="c2")
    assert dict(server.last.url.params) == {"done": "true", "cursor": "c2"}
    server.json(200, {"items": []})
    await call(client, "list_episodes", "webshop")
    assert server.last.url.query == b""


async def test_iter_episodes_follows_cursors(client: Any, server: FakeServer) -> None:
    server.json(200, {"items": [SUMMARY_JSON], "next_cursor": "c2"})
    server.json(200, {"items": [{**SUMMARY_JSON, "episode_id": "e0"}]})
    found = await collect(client.memory("webshop").iter_episodes(done=True, page_size=1))
    assert [e.episode_id for e in found] == ["e1", "e0"]
    assert [dict(r.url.params) for r in server.requests] == [
        {"done": "true", "limit": "1"},
        {"done": "true", "limit": "1", "cursor": "c2"},
    ]


async def test_get_episode(client: Any, server: FakeServer) -> None:
    updated = {
        "record_id": 7,
        "task": "find the key",
        "observation": "hall",
        "action": "go north",
        "q": 0.5,
        "visits": 1,
    }
    transition = {
        "step": 0,
        "observation": "hall",
        "action": "go north",
        "reward": 0.5,
        "next_observation": "kitchen",
        "done": False,
        "truncated": False,
        "note": None,
        "updated": [updated],
    }
    server.json(200, {**SUMMARY_JSON, "status": "done", "transitions": [transition]})
    detail = await call(client.memory("webshop"), "get_episode", "e/1")
    assert server.last.url.raw_path == b"/v1/memories/webshop/episodes/e%2F1"
    assert isinstance(detail, rc.EpisodeDetail)
    assert isinstance(detail.transitions[0], rc.EpisodeTransition)
    assert detail.transitions[0].updated[0].q == 0.5
    assert detail.return_ == 1.5


async def test_abandon_episode_by_id(client: Any, server: FakeServer) -> None:
    server.json(200, SUMMARY_JSON)
    summary = await call(client, "abandon_episode", "webshop", "e1")
    assert summary.episode_id == "e1"
    assert (server.last.method, server.last.url.path) == (
        "POST",
        "/v1/memories/webshop/episodes/e1/abandon",
    )
