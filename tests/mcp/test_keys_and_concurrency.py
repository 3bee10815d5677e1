"""Keys on /mcp behave as on /v1; concurrent MCP agents lose no update."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
import pytest
from mcp import Client
from rememberer.config import Settings

from tests.support.agents import TASK, Workload, assert_exact, episode_id, transition
from tests.support.http import ServerThread
from tests.support.mcp import create_memory, http_mcp, stdio_mcp, structured, text_of

ADMIN_KEY = "admin-key-for-mcp-tests-0123456789"
Connect = Callable[..., AbstractAsyncContextManager[Client]]


@pytest.fixture(scope="module")
def secured(database_url: str) -> Iterator[ServerThread]:
    settings = Settings(database_url=None, admin_key=ADMIN_KEY, db_pool_size=4)
    with ServerThread(settings, database_url) as running:
        yield running


def test_mcp_without_a_valid_key_is_401(secured: ServerThread) -> None:
    hello = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    headers = {"Accept": "application/json, text/event-stream"}
    for key in (None, "wrong-key-0123456789"):
        auth = {"Authorization": f"Bearer {key}"} if key else {}
        response = httpx.post(f"{secured.url}/mcp", json=hello, headers={**headers, **auth})
        assert response.status_code == 401, response.text
        assert response.json()["error"]["code"] == "unauthorized"


def scoped_calls(mine: str, theirs: str) -> list[tuple[str, dict[str, Any]]]:
    step = transition(0, 0, 0, 1)
    return [
        ("describe_memory", {"memory": theirs}),
        ("retrieve_experiences", {"memory": theirs, "task": TASK, "observation": "s0"}),
        (
            "record_steps",
            {"memory": theirs, "episode_id": "e", "task": TASK, "transitions": [step]},
        ),
        ("add_reflection", {"memory": theirs, "task": TASK, "episode_id": "e", "text": "x"}),
    ]


def as_admin(server: ServerThread) -> httpx.Client:
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    return httpx.Client(base_url=server.url, headers=headers, timeout=60)


def two_memories_and_a_key(server: ServerThread, mine: str, theirs: str) -> str:
    """Creates both memories; a key scoped to `mine`."""
    with as_admin(server) as admin:
        create_memory(admin, mine)
        create_memory(admin, theirs)
        made = admin.post("/v1/keys", json={"name": "agent", "memories": [mine]})
        key: str = made.json()["key"]
        return key


def counts(server: ServerThread, memory: str) -> tuple[int, int]:
    with as_admin(server) as admin:
        found = admin.get(f"/v1/memories/{memory}").json()
        return found["records"], found["episodes_open"]


@pytest.mark.parametrize("connect", [http_mcp, stdio_mcp], ids=["http", "stdio"])
async def test_a_scoped_key_reaches_only_its_memories(
    secured: ServerThread, connect: Connect, memory_name: str
) -> None:
    theirs = memory_name + "-other"
    key = two_memories_and_a_key(secured, memory_name, theirs)
    async with connect(secured.url, key) as client:
        listed = structured(await client.call_tool("list_memories", {}))
        assert [m["name"] for m in listed["memories"]] == [memory_name]
        for tool, arguments in scoped_calls(memory_name, theirs):
            refused = await client.call_tool(tool, arguments)
            assert refused.is_error, tool
            assert "memory_not_found" in text_of(refused), (tool, text_of(refused))
        mine = {"memory": memory_name, "task": TASK, "observation": "s0"}
        assert not (await client.call_tool("retrieve_experiences", mine)).is_error
    assert counts(secured, theirs) == (0, 0)


async def one_agent(url: str, memory: str, agent: int, workload: Workload) -> None:
    async with http_mcp(url) as client:
        for episode in range(workload.episodes):
            for step in range(workload.length):
                arguments = {
                    "memory": memory,
                    "episode_id": episode_id(agent, episode),
                    "task": TASK,
                    "transitions": [transition(agent, episode, step, workload.length)],
                }
                first = structured(await client.call_tool("record_steps", arguments))
                again = structured(await client.call_tool("record_steps", arguments))
                assert again == first, "a retry answered differently"


async def test_concurrent_mcp_agents_lose_nothing(
    server: ServerThread, api: httpx.Client, memory_name: str
) -> None:
    create_memory(api, memory_name)
    workload = Workload(agents=8, episodes=2, length=3)
    agents = [one_agent(server.url, memory_name, n, workload) for n in range(workload.agents)]
    await asyncio.gather(*agents)
    await asyncio.to_thread(assert_exact, api, memory_name, workload)
