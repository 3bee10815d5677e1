"""The episodes API: listing newest first with filters and cursors, one episode with its
transitions and the values each changed, abandoning, 404s, and scoping by key."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from rememberer.config import Settings

from tests.support.http import ServerThread

ADMIN_KEY = "admin-key-for-episode-tests-0123456789"


def step(n: int, reward: float = 0.0, **ending: bool) -> dict[str, Any]:
    return {
        "step": n,
        "observation": f"room {n}",
        "action": "north",
        "reward": reward,
        "next_observation": f"room {n + 1}",
        **ending,
    }


def update(api: httpx.Client, memory: str, episode: str, task: str, *steps: dict[str, Any]) -> None:
    body = {"episode_id": episode, "task": task, "transitions": list(steps)}
    response = api.post(f"/v1/memories/{memory}/update", json=body)
    assert response.status_code == 200, response.text


def episodes(api: httpx.Client, memory: str, **params: Any) -> dict[str, Any]:
    response = api.get(f"/v1/memories/{memory}/episodes", params=params)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


@pytest.fixture
def played(api: httpx.Client, memory_name: str) -> str:
    """e0 done (task a), e1 open (task b), e2 truncated (task a), e3 abandoned (task b)."""
    assert api.post("/v1/memories", json={"name": memory_name}).status_code == 201
    update(api, memory_name, "e0", "a", step(0, 1.0), step(1, 2.0, done=True))
    update(api, memory_name, "e1", "b", step(0))
    update(api, memory_name, "e2", "a", step(0, 0.5, truncated=True))
    update(api, memory_name, "e3", "b", step(0))
    abandoned = api.post(f"/v1/memories/{memory_name}/episodes/e3/abandon")
    assert abandoned.status_code == 200, abandoned.text
    return memory_name


def test_episodes_are_listed_newest_first_with_their_summary(
    api: httpx.Client, played: str
) -> None:
    items = episodes(api, played)["items"]
    assert [e["episode_id"] for e in items] == ["e3", "e2", "e1", "e0"]
    summary = {e["episode_id"]: (e["status"], e["done"], e["steps"], e["return"]) for e in items}
    assert summary == {
        "e0": ("done", True, 2, 3.0),
        "e1": ("open", False, 1, 0.0),
        "e2": ("truncated", True, 1, 0.5),
        "e3": ("abandoned", True, 1, 0.0),
    }
    assert all(e["created_at"] <= e["updated_at"] for e in items)


def test_episodes_filter_by_task_and_done(api: httpx.Client, played: str) -> None:
    def ids(**params: Any) -> list[str]:
        return [e["episode_id"] for e in episodes(api, played, **params)["items"]]

    assert ids(task="a") == ["e2", "e0"]
    assert ids(done="false") == ["e1"]
    assert ids(done="true") == ["e3", "e2", "e0"]
    assert ids(task="b", done="true") == ["e3"]
    assert ids(task="nobody") == []


def test_episodes_are_paged_by_cursor(api: httpx.Client, played: str) -> None:
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor is not None:
            params["cursor"] = cursor
        page = episodes(api, played, **params)
        seen.extend(e["episode_id"] for e in page["items"])
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert (seen, pages) == (["e3", "e2", "e1", "e0"], 2)
    bad = api.get(f"/v1/memories/{played}/episodes", params={"cursor": "not-a-cursor"})
    assert bad.status_code == 422


def test_an_episode_shows_its_transitions_and_the_values_each_changed(
    api: httpx.Client, played: str
) -> None:
    response = api.get(f"/v1/memories/{played}/episodes/e0")
    assert response.status_code == 200, response.text
    detail = response.json()
    assert (detail["status"], detail["task"], detail["return"]) == ("done", "a", 3.0)
    transitions = detail["transitions"]
    assert [(t["step"], t["reward"], t["done"], t["truncated"]) for t in transitions] == [
        (0, 1.0, False, False),
        (1, 2.0, True, False),
    ]
    # n_step 1: step 0 updated pair 0 (bootstrap from room 1, not yet known: q 1), step 1
    # ended the episode, updating pair 1 with its reward.
    assert [[(u["observation"], u["q"]) for u in t["updated"]] for t in transitions] == [
        [("room 0", 1.0)],
        [("room 1", 2.0)],
    ]


def test_abandoning_closes_without_learning_and_is_idempotent(
    api: httpx.Client, memory_name: str
) -> None:
    assert api.post("/v1/memories", json={"name": memory_name, "n_step": 3}).status_code == 201
    update(api, memory_name, "e", "task", step(0, 1.0), step(1, 1.0))
    first = api.post(f"/v1/memories/{memory_name}/episodes/e/abandon")
    again = api.post(f"/v1/memories/{memory_name}/episodes/e/abandon")
    assert first.status_code == again.status_code == 200
    assert first.json()["status"] == "abandoned" and again.json() == first.json()
    # With n = 3 nothing was due yet, and abandoning updated nothing: no records.
    assert api.get(f"/v1/memories/{memory_name}/records").json()["items"] == []
    late = api.post(
        f"/v1/memories/{memory_name}/update",
        json={"episode_id": "e", "task": "task", "transitions": [step(2, done=True)]},
    )
    assert late.status_code == 409 and late.json()["error"]["code"] == "out_of_order"
    # A closed episode is left as it was.
    update(api, memory_name, "d", "task", step(0, done=True))
    closed = api.post(f"/v1/memories/{memory_name}/episodes/d/abandon")
    assert closed.status_code == 200 and closed.json()["status"] == "done"


def test_unknown_episodes_and_memories_are_404(api: httpx.Client, played: str) -> None:
    for response, code in (
        (api.get(f"/v1/memories/{played}/episodes/nope"), "episode_not_found"),
        (api.post(f"/v1/memories/{played}/episodes/nope/abandon"), "episode_not_found"),
        (api.get("/v1/memories/no-such-memory/episodes"), "memory_not_found"),
        (api.get("/v1/memories/no-such-memory/episodes/e0"), "memory_not_found"),
    ):
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == code


@pytest.fixture(scope="module")
def secured(database_url: str) -> Iterator[ServerThread]:
    settings = Settings(database_url=None, admin_key=ADMIN_KEY, db_pool_size=4)
    with ServerThread(settings, database_url) as running:
        yield running


def as_key(server: ServerThread, key: str) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=60)


def test_a_scoped_key_sees_only_its_memories_episodes(
    secured: ServerThread, memory_name: str
) -> None:
    mine, theirs = f"{memory_name}-mine", f"{memory_name}-theirs"
    with as_key(secured, ADMIN_KEY) as admin:
        for name in (mine, theirs):
            assert admin.post("/v1/memories", json={"name": name}).status_code == 201
            update(admin, name, "e", "task", step(0))
        minted = admin.post("/v1/keys", json={"name": "agent", "memories": [mine]})
        assert minted.status_code == 201, minted.text
    with as_key(secured, minted.json()["key"]) as scoped:
        assert [e["episode_id"] for e in episodes(scoped, mine)["items"]] == ["e"]
        for response in (
            scoped.get(f"/v1/memories/{theirs}/episodes"),
            scoped.get(f"/v1/memories/{theirs}/episodes/e"),
            scoped.post(f"/v1/memories/{theirs}/episodes/e/abandon"),
        ):
            assert response.status_code == 404, response.text
    with as_key(secured, ADMIN_KEY) as admin:
        still_open = admin.get(f"/v1/memories/{theirs}/episodes/e").json()
        assert still_open["status"] == "open"
