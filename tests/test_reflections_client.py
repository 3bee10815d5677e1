"""The SDK's reflection methods end to end, against the real service and database: the
Retroformer loop of reflect → use in the next trial → rating → export."""

from __future__ import annotations

import pytest
import rememberer_client as rc

from tests.support.http import ServerThread
from tests.support.memories import VECTORS

TASK = "task"


def trial(memory: rc.MemoryHandle, episode_id: str, reward: float, uses: list[int]) -> None:
    with memory.episode(TASK, episode_id, reflection_ids=uses) as ep:
        ep.step("a", "look", 0.0, "b")
        ep.step("b", "act", reward, "c", done=True)


def test_sync_client_covers_the_reflection_loop(server: ServerThread, memory_name: str) -> None:
    with rc.MemoryClient(server.url) as client:
        memory = client.memory(memory_name)
        memory.create(embedder="client", dimension=4)
        memory.put_embeddings(VECTORS)
        trial(memory, "t1", 0.0, [])
        with pytest.raises(rc.NotFoundError) as unknown:
            memory.create_reflection(TASK, "t0", "x")
        assert unknown.value.code == "episode_not_found"

        prompt = "Trial t1 failed. Reflect."
        good = memory.create_reflection(TASK, "t1", "Act on b, not a.", prompt)
        bad = memory.create_reflection(TASK, "t1", "Give up early.", prompt)
        assert memory.create_reflection(TASK, "t1", "Act on b, not a.", prompt) == good

        found = memory.retrieve_with_reflections(TASK, "a", k=1, reflections=5)
        assert [r.reflection_id for r in found.reflections] == [
            bad.reflection_id,
            good.reflection_id,
        ]
        assert found.exemplars == memory.retrieve(TASK, "a", k=1)
        rendered = rc.format_exemplars(found.exemplars, reflections=found.reflections)
        assert rendered.endswith(
            "Your memory for this task:\nTrial 1: Act on b, not a.\nTrial 2: Give up early."
        )

        trial(memory, "t2", 1.0, [good.reflection_id])
        trial(memory, "t3", -1.0, [bad.reflection_id])
        with pytest.raises(rc.UnprocessableEntityError) as wrong:
            trial(memory, "t4", 0.0, [123_456_789])
        assert wrong.value.code == "unknown_reflection"

        detail = memory.get_reflection(good.reflection_id)
        assert (detail.rating, detail.return_after, detail.rated_uses) == (1.0, 1.0, 1)
        assert [u.episode_id for u in detail.used_by] == ["t2"]
        newest = memory.list_reflections(TASK, limit=1)
        assert newest.items[0].rating == -1.0 and newest.next_cursor is not None

        rows = list(memory.export_reflections())
        assert sorted((r["reflection"], r["rating"]) for r in rows) == [
            ("Act on b, not a.", 1.0),
            ("Give up early.", -1.0),
        ]
        assert list(memory.export_reflections("pairs")) == [
            {
                "prompt": prompt,
                "chosen": "Act on b, not a.",
                "rejected": "Give up early.",
                "chosen_rating": 1.0,
                "rejected_rating": -1.0,
            }
        ]
        memory.delete()


async def test_async_client_reflects_and_exports(server: ServerThread, memory_name: str) -> None:
    async with rc.AsyncMemoryClient(server.url) as client:
        memory = client.memory(memory_name)
        await memory.create(embedder="client", dimension=4)
        await memory.put_embeddings(VECTORS)
        async with memory.episode(TASK, "t1") as ep:
            await ep.step("a", "look", 0.0, "b")
            with pytest.raises(rc.ConflictError) as early:
                await memory.create_reflection(TASK, "t1", "too early")
            assert early.value.code == "episode_not_finished"
            await ep.step("b", "act", 0.5, "c", done=True)
        made = await memory.create_reflection(TASK, "t1", "Act sooner.")
        assert made.return_before == 0.5
        async with memory.episode(TASK, "t2", reflection_ids=[made.reflection_id]) as ep:
            await ep.step("a", "act", 2.0, "b", done=True)
        rows = [row async for row in memory.export_reflections(task=TASK)]
        assert [(r["used_in"], r["rating"]) for r in rows] == [("t2", 1.5)]
        page = await memory.list_reflections(TASK)
        assert page.items[0].rating == 1.5
        await memory.delete()
