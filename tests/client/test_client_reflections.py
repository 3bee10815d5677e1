"""SDK side of reflections: requests, the episode helper, streamed exports, rendering."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import rememberer_client as rc

from tests.support.client import RECORD_JSON, FakeServer, call, collect, error_json, update_json

REFLECTION_JSON: dict[str, Any] = {
    "reflection_id": 3,
    "task": "buy a mug",
    "episode_id": "e1",
    "text": "I bought the wrong colour; check it before buying.",
    "prompt": "You failed. Why?",
    "return_before": 0.0,
    "return_after": 1.0,
    "rating": 1.0,
    "uses": 1,
    "rated_uses": 1,
    "created_at": "2026-01-02T03:04:05Z",
}


def sent(request: httpx.Request) -> Any:
    return json.loads(request.content)


def reflection(reflection_id: int, text: str, created_at: str) -> rc.Reflection:
    return rc.Reflection.model_validate(
        {**REFLECTION_JSON, "reflection_id": reflection_id, "text": text, "created_at": created_at}
    )


async def test_reflection_requests(client: Any, server: FakeServer) -> None:
    memory = client.memory("webshop")
    server.json(201, REFLECTION_JSON)
    made = await call(memory, "create_reflection", "buy a mug", "e1", "check the colour")
    assert isinstance(made, rc.Reflection) and made.rating == 1.0
    assert (server.last.method, server.last.url.path) == (
        "POST",
        "/v1/memories/webshop/reflections",
    )
    assert sent(server.last) == {
        "task": "buy a mug",
        "episode_id": "e1",
        "text": "check the colour",
    }

    server.json(200, REFLECTION_JSON)
    await call(memory, "create_reflection", "buy a mug", "e1", "check the colour", prompt="Why?")
    assert sent(server.last)["prompt"] == "Why?"

    use = {
        "episode_id": "e2",
        "return_after": 1.0,
        "rating": 1.0,
        "used_at": "2026-01-03T00:00:00Z",
    }
    server.json(200, {**REFLECTION_JSON, "used_by": [use]})
    detail = await call(memory, "get_reflection", 3)
    assert detail.used_by[0].episode_id == "e2" and detail.used_by[0].rated_at is None
    assert server.last.url.path == "/v1/memories/webshop/reflections/3"

    server.json(200, {"items": [REFLECTION_JSON], "next_cursor": "c"})
    page = await call(memory, "list_reflections", task="buy a mug", limit=3)
    assert page.next_cursor == "c" and page.items[0].reflection_id == 3
    assert dict(server.last.url.params) == {"task": "buy a mug", "limit": "3"}

    server.json(
        200,
        {
            "exemplars": [
                {**RECORD_JSON, "score": 1.0, "task_score": 1.0, "observation_score": 1.0}
            ],
            "reflections": [REFLECTION_JSON],
        },
    )
    found = await call(memory, "retrieve_with_reflections", "buy a mug", "home", k=1)
    assert isinstance(found, rc.Retrieval)
    assert found.exemplars[0].record_id == 7 and found.reflections[0].reflection_id == 3
    assert sent(server.last) == {
        "task": "buy a mug",
        "observation": "home",
        "k": 1,
        "reflections": 3,
    }


async def test_update_sends_reflection_ids_only_when_given(client: Any, server: FakeServer) -> None:
    transition = {
        "step": 0,
        "observation": "o",
        "action": "a",
        "reward": 0.0,
        "next_observation": "p",
    }
    server.json(200, update_json("e", 1))
    server.json(200, update_json("e", 1))
    await call(client, "update", "m", "e", "t", [transition])
    assert "reflection_ids" not in sent(server.last)
    await call(client, "update", "m", "e", "t", [transition], reflection_ids=[4, 5])
    assert sent(server.last)["reflection_ids"] == [4, 5]


async def test_episode_names_its_reflections_on_its_first_step_until_it_is_applied(
    client: Any, server: FakeServer
) -> None:
    episode = client.memory("webshop").episode("buy a mug", "e2", reflection_ids=[3])
    assert episode.reflection_ids == (3,)
    server.json(409, error_json("out_of_order"))
    with pytest.raises(rc.ConflictError):
        await call(episode, "step", "home", "search", 0.0, "results")
    server.json(200, update_json("e2", 1))
    server.json(200, update_json("e2", 2, done=True))
    await call(episode, "step", "home", "search", 0.0, "results")
    await call(episode, "step", "results", "buy", 1.0, "bought", done=True)
    ids = [sent(r).get("reflection_ids") for r in server.requests]
    assert ids == [[3], [3], None]


class BreakingStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """Sends `lines`, then fails as a dropped connection does."""

    def __init__(self, *lines: bytes) -> None:
        self.lines = lines

    def __iter__(self) -> Iterator[bytes]:
        yield from self.lines
        raise httpx.ReadError("connection reset")

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for line in self.lines:
            yield line
        raise httpx.ReadError("connection reset")


async def test_export_streams_rows_and_retries_only_before_the_first(
    client: Any, server: FakeServer, sleeps: list[float]
) -> None:
    rows = [{"prompt": "P", "chosen": "a", "rejected": "b"}, {"prompt": "Q", "chosen": "c"}]
    body = b"".join(json.dumps(row).encode() + b"\n" for row in rows) + b"\n"
    server.json(503, error_json("unavailable"))
    server.reply(httpx.Response(200, content=body))
    exported = client.memory("webshop").export_reflections("pairs", task="buy a mug")
    assert server.requests == []  # nothing is sent before the rows are wanted
    assert await collect(exported) == rows
    assert len(sleeps) == 1
    assert server.last.url.path == "/v1/memories/webshop/reflections/export"
    assert dict(server.last.url.params) == {"format": "pairs", "task": "buy a mug"}

    server.reply(httpx.Response(200, stream=BreakingStream(b'{"n": 1}\n')))
    seen: list[Any] = []
    with pytest.raises(rc.APIConnectionError, match="broke off"):
        await collect_into(client.export_reflections("webshop"), seen)
    assert seen == [{"n": 1}] and len(sleeps) == 1

    server.json(404, error_json("memory_not_found"))
    with pytest.raises(rc.NotFoundError) as missing:
        await collect(client.export_reflections("nope"))
    assert missing.value.code == "memory_not_found"
    server.reply(httpx.Response(200, content=b"not json\n"))
    with pytest.raises(rc.APIResponseValidationError):
        await collect(client.export_reflections("webshop"))


async def collect_into(rows: Iterator[Any] | AsyncIterator[Any], seen: list[Any]) -> None:
    if isinstance(rows, AsyncIterator):
        async for row in rows:
            seen.append(row)
    else:
        seen.extend(rows)


def test_format_renders_reflections_as_trials_oldest_first() -> None:
    newest_first = [
        reflection(9, "Buy the red one.\nNot the blue one.", "2026-01-03T00:00:00Z"),
        reflection(4, "Search by colour.", "2026-01-02T00:00:00Z"),
    ]
    exemplar = rc.Exemplar.model_validate(
        {**RECORD_JSON, "score": 1.0, "task_score": 1.0, "observation_score": 1.0}
    )
    text = rc.format_exemplars([exemplar], max_actions=0, reflections=newest_first)
    examples, memory = text.split("\n\n")
    assert examples.startswith("Example 1:\nTask: buy a mug")
    assert memory == (
        "Your memory for this task:\n"
        "Trial 1: Search by colour.\n"
        "Trial 2: Buy the red one.\n"
        "  Not the blue one."
    )
    assert rc.format_exemplars([], reflections=["b", "a"], max_text_chars=5) == (
        "Your memory for this task:\nTrial 1: b\nTrial 2: a"
    )
    assert rc.format_exemplars([], reflections=["abcdefgh"], max_text_chars=5).endswith(
        "Trial 1: abcd…"
    )
    assert rc.format_exemplars([], reflections=[]) == ""
