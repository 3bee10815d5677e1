"""Memories the inspector's tests (and `make screenshots`) look at, written through the API."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

import httpx

from tests.support.memories import client_memory, put_records

HOSTILE = [
    "<script>window.__xss = 'script'</script>",
    '"><img src=x onerror="window.__xss = \'img\'">',
    "javascript:window.__xss = 'link'",
    '{{ "tem" ~ "plated" }} {% raw %}',
]
ADMIN_KEY = "ui-admin-key-0123456789"
QUERY_TASK = "query task"
QUERY_OBSERVATION = "query observation"


def vector_of(text: str) -> list[float]:
    """A deterministic 2-d vector for a text: the tests need no embedder."""
    digest = hashlib.sha256(text.encode()).digest()
    return [digest[0] / 255 + 0.1, digest[1] / 255 + 0.1]


def seed_ranking(api: httpx.Client, name: str) -> None:
    """Two records whose order flips with λ: A matches the query's task, B its observation."""
    vectors = {
        "find the red key": [1.0, 0.0],
        "a hallway": [0.0, 1.0],
        "open the blue door": [0.0, 1.0],
        "a kitchen": [1.0, 0.0],
        QUERY_TASK: [1.0, 0.0],
        QUERY_OBSERVATION: [1.0, 0.0],
    }
    client_memory(api, name, vectors)
    put_records(
        api,
        name,
        [
            {
                "task": "find the red key",
                "observation": "a hallway",
                "actions": [{"action": "go north", "q": 0.7, "visits": 3}],
            },
            {
                "task": "open the blue door",
                "observation": "a kitchen",
                "actions": [{"action": "open door", "q": 0.4, "visits": 1}],
            },
        ],
    )


def seed_learning(api: httpx.Client, name: str, episodes: int = 30) -> None:
    """Episodes of two steps whose returns rise, and a reflection on the first one."""
    task = "stack the blocks"
    texts = [task, "start", "middle", "end"]
    client_memory(api, name, {t: vector_of(t) for t in texts})
    for number in range(episodes):
        final = round(number / episodes + (0.15 if number % 3 == 0 else 0.0), 3)
        steps = [
            {
                "step": 0,
                "observation": "start",
                "action": "pick",
                "reward": 0.0,
                "next_observation": "middle",
            },
            {
                "step": 1,
                "observation": "middle",
                "action": "place",
                "reward": final,
                "next_observation": "end",
                "done": True,
                "note": "placed",
            },
        ]
        body = {"episode_id": f"episode-{number:03d}", "task": task, "transitions": steps}
        answer = api.post(f"/v1/memories/{name}/update", json=body)
        assert answer.status_code == 200, answer.text
    open_step = {
        "step": 0,
        "observation": "start",
        "action": "pick",
        "reward": 0.0,
        "next_observation": "middle",
    }
    body = {"episode_id": "episode-open", "task": task, "transitions": [open_step]}
    assert api.post(f"/v1/memories/{name}/update", json=body).status_code == 200
    reflection = {"task": task, "episode_id": "episode-000", "text": "Place the big block first."}
    assert api.post(f"/v1/memories/{name}/reflections", json=reflection).status_code == 201


def seed_hostile(api: httpx.Client, name: str) -> None:
    """Records, actions, notes, an episode and a reflection made of hostile text."""
    texts = [*HOSTILE, "next"]
    client_memory(api, name, {t: vector_of(t) for t in texts})
    put_records(
        api,
        name,
        [
            {
                "task": text,
                "observation": other,
                "action_history": [text],
                "actions": [{"action": text, "note": text, "q": 1.0, "visits": 1}],
            }
            for text, other in zip(HOSTILE, [*HOSTILE[1:], HOSTILE[0]], strict=True)
        ],
    )
    for number, text in enumerate(HOSTILE):
        step = {
            "step": 0,
            "observation": text,
            "action": text,
            "reward": 1.0,
            "next_observation": "next",
            "done": True,
            "note": text,
        }
        body = {"episode_id": f"{text}-{number}", "task": text, "transitions": [step]}
        answer = api.post(f"/v1/memories/{name}/update", json=body)
        assert answer.status_code == 200, answer.text
        reflection = {"task": text, "episode_id": f"{text}-{number}", "text": text}
        assert api.post(f"/v1/memories/{name}/reflections", json=reflection).status_code == 201


@dataclass(frozen=True)
class Seeded:
    ranking: str
    learning: str
    hostile: str
    empty: str


def seed_all(api: httpx.Client) -> Seeded:
    suffix = uuid.uuid4().hex[:8]
    seeded = Seeded(
        ranking=f"ui-ranking-{suffix}",
        learning=f"ui-learning-{suffix}",
        hostile=f"ui-hostile-{suffix}",
        empty=f"ui-empty-{suffix}",
    )
    seed_ranking(api, seeded.ranking)
    seed_learning(api, seeded.learning)
    seed_hostile(api, seeded.hostile)
    assert api.post("/v1/memories", json={"name": seeded.empty}).status_code == 201
    return seeded
