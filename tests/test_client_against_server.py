"""The client SDK against the real service: the README's agent loop, typed errors, the
episode helper, pagination, and the async client doing the same."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rememberer_client import (
    AsyncMemoryClient,
    ConflictError,
    MemoryClient,
    NotFoundError,
    UnprocessableEntityError,
    format_exemplars,
)

from tests.support.http import ServerThread

VECTORS = {
    "find the key": [1.0, 0.0, 0.0],
    "hall": [0.0, 1.0, 0.0],
    "kitchen": [0.0, 0.6, 0.8],
    "garden": [0.0, 0.0, 1.0],
}


class ToyHouse:
    """Two rooms: going to the kitchen from the hall finds the key."""

    def reset(self) -> str:
        return "hall"

    def step(self, observation: str, action: str) -> tuple[str, float, bool]:
        if observation == "hall" and action == "go kitchen":
            return "kitchen", 1.0, True
        return "garden", 0.0, True


def test_readme_agent_loop_learns(server: ServerThread, memory_name: str) -> None:
    env, task = ToyHouse(), "find the key"
    with MemoryClient(server.url) as client:
        memory = client.memory(memory_name)
        memory.create(embedder="client", dimension=3, gamma=0.9)
        memory.put_embeddings(VECTORS)
        for action in ["go garden", "go kitchen", "go garden"]:
            with memory.episode(task) as ep:
                observation, done = env.reset(), False
                while not done:
                    next_observation, reward, done = env.step(observation, action)
                    ep.step(observation, action, reward, next_observation, done)
                    observation = next_observation
                assert ep.done and ep.next_step == 1
        exemplars = memory.retrieve(task, "hall", k=1)
        assert exemplars[0].observation == "hall"
        assert [a.action for a in exemplars[0].actions] == ["go kitchen", "go garden"]
        text = format_exemplars(exemplars)
        assert "go kitchen" in text and "hall" in text and task in text
        assert text.index("go kitchen") < text.index("go garden")


def test_typed_errors_carry_the_contract_code(server: ServerThread, memory_name: str) -> None:
    with MemoryClient(server.url) as client:
        with pytest.raises(NotFoundError) as missing:
            client.get_memory(memory_name)
        assert missing.value.code == "memory_not_found"
        client.create_memory(memory_name, embedder="client", dimension=3)
        with pytest.raises(ConflictError) as exists:
            client.create_memory(memory_name, embedder="client", dimension=3)
        assert exists.value.code == "memory_exists"
        with pytest.raises(UnprocessableEntityError) as unembedded:
            client.retrieve(memory_name, "no vector", "none either")
        assert unembedded.value.code == "missing_embedding"
        step: dict[str, Any] = {
            "step": 3,
            "observation": "hall",
            "action": "wait",
            "reward": 0.0,
            "next_observation": "hall",
        }
        client.put_embeddings(memory_name, VECTORS)
        with pytest.raises(ConflictError) as gap:
            client.update(memory_name, "e", "find the key", [step])
        assert gap.value.code == "out_of_order"


def test_iter_records_follows_cursors(server: ServerThread, memory_name: str) -> None:
    with MemoryClient(server.url) as client:
        memory = client.memory(memory_name)
        memory.create(embedder="client", dimension=3)
        memory.put_embeddings(VECTORS)
        rooms = ["hall", "kitchen", "garden"]
        with memory.episode("find the key") as ep:
            for i, room in enumerate(rooms):
                ep.step(room, "walk", 0.0, rooms[(i + 1) % 3], done=i == 2)
        seen = list(client.iter_records(memory_name))
        assert sorted(r.observation for r in seen) == sorted(rooms)
        page = memory.list_records(limit=2)
        assert len(page.items) == 2 and page.next_cursor is not None


def test_async_client_has_the_same_behaviour(server: ServerThread, memory_name: str) -> None:
    async def scenario() -> list[str]:
        async with AsyncMemoryClient(server.url) as client:
            memory = client.memory(memory_name)
            await memory.create(embedder="client", dimension=3)
            await memory.put_embeddings(VECTORS)
            async with memory.episode("find the key") as ep:
                await ep.step("hall", "go kitchen", 1.0, "kitchen", done=True)
            exemplars = await memory.retrieve("find the key", "hall", k=2)
            return [a.action for e in exemplars for a in e.actions]

    assert asyncio.run(scenario()) == ["go kitchen"]
