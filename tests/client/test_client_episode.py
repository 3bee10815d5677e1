"""Episode helper: step numbering, ids, refusal after done, failures, concurrency."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import httpx
import pytest
import rememberer_client as rc

from tests.support.client import FakeServer, call, error_json


def echo_update(request: httpx.Request) -> httpx.Response:
    """Answers an update the way the server would for in-order transitions."""
    sent = json.loads(request.content)
    last = sent["transitions"][-1]
    episode = {
        "episode_id": sent["episode_id"],
        "next_step": last["step"] + 1,
        "done": last["done"],
    }
    return httpx.Response(200, json={"updated": [], "episode": episode})


def sent_transitions(server: FakeServer) -> list[dict[str, Any]]:
    return [t for r in server.requests for t in json.loads(r.content)["transitions"]]


async def enter(episode: Any) -> Any:
    return await episode.__aenter__() if hasattr(episode, "__aenter__") else episode.__enter__()


async def leave(episode: Any, exc: BaseException | None = None) -> None:
    exc_type = type(exc) if exc is not None else None
    if hasattr(episode, "__aexit__"):
        await episode.__aexit__(exc_type, exc, None)
    else:
        episode.__exit__(exc_type, exc, None)


async def test_steps_are_numbered_and_sent_one_per_update(client: Any, server: FakeServer) -> None:
    server.default = echo_update
    episode = client.memory("webshop").episode("buy a mug")
    ep = await enter(episode)
    assert ep is episode
    assert ep.next_step == 0 and not ep.done and ep.task == "buy a mug"
    result = await call(ep, "step", "home", "search[mug]", 0.0, "results")
    assert isinstance(result, rc.UpdateResult)
    assert result.episode.next_step == 1
    assert ep.next_step == 1
    await call(ep, "step", "results", "click[1]", 0.5, "item", note="looks right")
    await call(ep, "step", "item", "buy", 1.0, "bought", done=True)
    await leave(ep)
    assert ep.done and ep.next_step == 3

    assert len(server.requests) == 3
    assert all(r.url.path == "/v1/memories/webshop/update" for r in server.requests)
    bodies = [json.loads(r.content) for r in server.requests]
    assert {b["episode_id"] for b in bodies} == {ep.episode_id}
    assert {b["task"] for b in bodies} == {"buy a mug"}
    assert sent_transitions(server) == [
        {
            "step": 0,
            "observation": "home",
            "action": "search[mug]",
            "reward": 0.0,
            "next_observation": "results",
            "done": False,
        },
        {
            "step": 1,
            "observation": "results",
            "action": "click[1]",
            "reward": 0.5,
            "next_observation": "item",
            "done": False,
            "note": "looks right",
        },
        {
            "step": 2,
            "observation": "item",
            "action": "buy",
            "reward": 1.0,
            "next_observation": "bought",
            "done": True,
        },
    ]


async def test_episode_id_is_generated_or_given(client: Any) -> None:
    memory = client.memory("webshop")
    first, second = memory.episode("t"), memory.episode("t")
    assert len(first.episode_id) == 32 and int(first.episode_id, 16) >= 0
    assert first.episode_id != second.episode_id
    assert memory.episode("t", episode_id="agent-7/run-3").episode_id == "agent-7/run-3"
    with pytest.raises(ValueError):
        memory.episode("t", episode_id="")


async def test_step_after_done_is_refused_without_request(client: Any, server: FakeServer) -> None:
    server.default = echo_update
    ep = client.memory("webshop").episode("t")
    await call(ep, "step", "o0", "a0", 1.0, "o1", done=True)
    with pytest.raises(rc.EpisodeFinishedError, match="done"):
        await call(ep, "step", "o1", "a1", 0.0, "o2")
    assert len(server.requests) == 1
    assert ep.next_step == 1


async def test_server_reporting_done_also_finishes(client: Any, server: FakeServer) -> None:
    server.json(200, {"updated": [], "episode": {"episode_id": "e", "next_step": 1, "done": True}})
    ep = client.memory("webshop").episode("t", episode_id="e")
    await call(ep, "step", "o0", "a0", 1.0, "o1")
    assert ep.done
    with pytest.raises(rc.EpisodeFinishedError):
        await call(ep, "step", "o1", "a1", 0.0, "o2")


async def test_failed_step_keeps_its_number(
    client: Any, server: FakeServer, sleeps: list[float]
) -> None:
    server.json(422, error_json("invalid_request", "action too long"))
    server.default = echo_update
    ep = client.memory("webshop").episode("t")
    with pytest.raises(rc.UnprocessableEntityError):
        await call(ep, "step", "o0", "x" * 5000, 0.0, "o1")
    assert ep.next_step == 0 and not ep.done
    await call(ep, "step", "o0", "a0", 0.0, "o1")
    assert [t["step"] for t in sent_transitions(server)] == [0, 0]
    assert ep.next_step == 1


async def test_step_passes_per_call_options(
    client: Any, server: FakeServer, sleeps: list[float]
) -> None:
    server.json(503, error_json("internal_error"))
    ep = client.memory("webshop").episode("t")
    with pytest.raises(rc.InternalServerError):
        await call(ep, "step", "o0", "a0", 0.0, "o1", timeout=1.0, max_retries=0)
    assert len(server.requests) == 1
    assert server.last.extensions["timeout"]["read"] == 1.0


async def test_leaving_open_episode_warns(
    client: Any, server: FakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.default = echo_update
    ep = await enter(client.memory("webshop").episode("t"))
    await call(ep, "step", "o0", "a0", 0.0, "o1")
    with caplog.at_level(logging.WARNING, logger="rememberer_client"):
        await leave(ep)
    assert "without done=True" in caplog.text

    caplog.clear()
    ep = await enter(client.memory("webshop").episode("t"))
    with caplog.at_level(logging.WARNING, logger="rememberer_client"):
        await leave(ep)  # nothing sent: nothing to warn about
        ep2 = await enter(client.memory("webshop").episode("t"))
        await call(ep2, "step", "o0", "a0", 0.0, "o1")
        await leave(ep2, RuntimeError("agent crashed"))  # the crash is the news
    assert caplog.text == ""


def test_sync_with_statement(server: FakeServer) -> None:
    server.default = echo_update
    http = httpx.Client(transport=httpx.MockTransport(server.handler))
    with rc.MemoryClient("http://t", http_client=http) as client:
        with client.memory("m").episode("t") as ep:
            ep.step("o0", "a0", 0.0, "o1")
            ep.step("o1", "a1", 1.0, "o2", done=True)
        assert ep.done and ep.next_step == 2
    http.close()


async def test_async_with_statement_and_concurrent_steps(server: FakeServer) -> None:
    server.default = echo_update
    http = httpx.AsyncClient(transport=httpx.MockTransport(server.handler))
    async with rc.AsyncMemoryClient("http://t", http_client=http) as client:
        async with client.memory("m").episode("t") as ep:
            # Steps gathered together still get distinct, ordered numbers.
            await asyncio.gather(
                ep.step("o0", "a0", 0.0, "o1"),
                ep.step("o1", "a1", 0.0, "o2"),
                ep.step("o2", "a2", 1.0, "o3", done=True),
            )
        assert ep.done and ep.next_step == 3
    assert [t["step"] for t in sent_transitions(server)] == [0, 1, 2]
    assert [t["action"] for t in sent_transitions(server)] == ["a0", "a1", "a2"]
    await http.aclose()
