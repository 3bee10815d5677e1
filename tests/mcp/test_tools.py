"""The tools over Streamable HTTP (/mcp) and stdio (`rememberer mcp`), against one service."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
import pytest
from mcp import Client

from tests.support.agents import PATH, TASK
from tests.support.http import ServerThread
from tests.support.mcp import create_memory, http_mcp, stdio_mcp, structured, text_of

TOOLS = {
    "list_memories",
    "describe_memory",
    "retrieve_experiences",
    "record_steps",
    "add_reflection",
}

Connect = Callable[[str], AbstractAsyncContextManager[Client]]


# A fixture cannot hold the client: anyio needs it closed in the task that opened it.
CONNECTS = pytest.mark.parametrize("connect", [http_mcp, stdio_mcp], ids=["http", "stdio"])


def step(number: int, reward: float, done: bool = False) -> dict[str, Any]:
    return {
        "step": number,
        "observation": PATH[number],
        "action": "forward",
        "reward": reward,
        "next_observation": PATH[number + 1],
        "done": done,
    }


async def record(client: Client, memory: str, episode: str, *steps: dict[str, Any]) -> Any:
    arguments = {"memory": memory, "episode_id": episode, "task": TASK, "transitions": list(steps)}
    return await client.call_tool("record_steps", arguments)


@CONNECTS
async def test_an_episode_through_the_tools(
    connect: Connect, server: ServerThread, api: httpx.Client, memory_name: str
) -> None:
    async with connect(server.url) as mcp_client:
        create_memory(api, memory_name)
        tools = {tool.name for tool in (await mcp_client.list_tools()).tools}
        assert tools >= TOOLS
        listed = structured(await mcp_client.call_tool("list_memories", {}))
        assert memory_name in [m["name"] for m in listed["memories"]]
        ask = {"memory": memory_name, "task": TASK, "observation": "s0", "k": 2}
        before = await mcp_client.call_tool("retrieve_experiences", ask)
        assert structured(before)["exemplars"] == []
        for number, reward in enumerate([0.5, 0.25, 1.0]):
            answer = structured(
                await record(mcp_client, memory_name, "e1", step(number, reward, number == 2))
            )
            assert answer["updated"][0]["q"] == pytest.approx(reward)  # gamma 0, first visit
        after = await mcp_client.call_tool("retrieve_experiences", ask)
        exemplar = structured(after)["exemplars"][0]
        assert exemplar["observation"] == "s0"
        assert exemplar["actions"][0]["q"] == pytest.approx(0.5)
        assert "Encouraged:\n- forward -> Q = 0.50" in text_of(after)
        described = structured(
            await mcp_client.call_tool("describe_memory", {"memory": memory_name})
        )
        assert described["memory"]["records"] == 3
        assert [e["episode_id"] for e in described["recent_episodes"]] == ["e1"]
        assert described["recent_episodes"][0]["return"] == pytest.approx(1.75)


@CONNECTS
async def test_a_truncated_episode_closes_and_shows_as_truncated(
    connect: Connect, server: ServerThread, api: httpx.Client, memory_name: str
) -> None:
    async with connect(server.url) as mcp_client:
        create_memory(api, memory_name)
        cut = {**step(0, 0.5), "truncated": True}
        answer = structured(await record(mcp_client, memory_name, "cut", cut))
        assert answer["episode"]["done"] is True
        both = {**step(0, 0.5), "truncated": True, "done": True}
        refused = await record(mcp_client, memory_name, "both", both)
        assert refused.is_error
        described = await mcp_client.call_tool("describe_memory", {"memory": memory_name})
        assert structured(described)["recent_episodes"][0]["status"] == "truncated"
        assert "0.5 (truncated)" in text_of(described)


@CONNECTS
async def test_a_repeated_step_answers_as_before_and_a_skipped_one_is_an_error(
    connect: Connect, server: ServerThread, api: httpx.Client, memory_name: str
) -> None:
    async with connect(server.url) as mcp_client:
        create_memory(api, memory_name)
        first = structured(await record(mcp_client, memory_name, "e1", step(0, 1.0)))
        again = structured(await record(mcp_client, memory_name, "e1", step(0, 1.0)))
        assert again == first
        skipped = await record(mcp_client, memory_name, "e1", step(2, 1.0))
        assert skipped.is_error
        assert "out_of_order" in text_of(skipped)
        ask = {"memory": memory_name, "task": TASK, "observation": "s0"}
        got = structured(await mcp_client.call_tool("retrieve_experiences", ask))
        assert got["exemplars"][0]["actions"][0]["visits"] == 1  # the repeat taught nothing


@CONNECTS
async def test_errors_are_tool_errors_with_the_service_message(
    connect: Connect, server: ServerThread, api: httpx.Client, memory_name: str
) -> None:
    async with connect(server.url) as mcp_client:
        ask = {"memory": memory_name, "task": TASK, "observation": "s0"}
        missing = await mcp_client.call_tool("retrieve_experiences", ask)
        assert missing.is_error and "memory_not_found" in text_of(missing)
        create_memory(api, memory_name)
        hostile = await mcp_client.call_tool("retrieve_experiences", {**ask, "task": "a\x00b"})
        assert hostile.is_error
        still = await mcp_client.call_tool("list_memories", {})
        assert not still.is_error


@CONNECTS
async def test_reflections_come_back_with_the_experiences(
    connect: Connect, server: ServerThread, api: httpx.Client, memory_name: str
) -> None:
    async with connect(server.url) as mcp_client:
        create_memory(api, memory_name)
        structured(await record(mcp_client, memory_name, "e1", step(0, -1.0, True)))
        lesson = {"memory": memory_name, "task": TASK, "episode_id": "e1", "text": "go back first"}
        structured(await mcp_client.call_tool("add_reflection", lesson))
        ask = {
            "memory": memory_name,
            "task": TASK,
            "observation": "s0",
            "include_reflections": True,
        }
        got = await mcp_client.call_tool("retrieve_experiences", ask)
        assert [r["text"] for r in structured(got)["reflections"]] == ["go back first"]
        assert "Trial 1: go back first" in text_of(got)
