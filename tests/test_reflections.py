"""Retroformer reflections over HTTP against the real service and database: creation on
finished episodes, ratings from later episodes, listing, retrieval and the exports."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.support.http import assert_error
from tests.support.memories import client_memory, step, update

Reflection = dict[str, Any]


def reflect(
    api: httpx.Client, name: str, episode: str, text: str, prompt: str | None = None, **extra: Any
) -> httpx.Response:
    body = {"task": "task", "episode_id": episode, "text": text, **extra}
    if prompt is not None:
        body["prompt"] = prompt
    return api.post(f"/v1/memories/{name}/reflections", json=body)


def episode(
    api: httpx.Client, name: str, episode_id: str, rewards: list[float], **extra: Any
) -> httpx.Response:
    """One whole episode in one call; its return is sum(rewards)."""
    steps = [
        step(n, "a", "go", reward, "b", done=n == len(rewards) - 1)
        for n, reward in enumerate(rewards)
    ]
    return api.post(
        f"/v1/memories/{name}/update",
        json={"episode_id": episode_id, "task": "task", "transitions": steps, **extra},
    )


def using(
    api: httpx.Client, name: str, episode_id: str, transition: dict[str, Any], ids: list[int]
) -> httpx.Response:
    """One transition of an episode, naming the reflections in its prompt."""
    return api.post(
        f"/v1/memories/{name}/update",
        json={
            "episode_id": episode_id,
            "task": "task",
            "transitions": [transition],
            "reflection_ids": ids,
        },
    )


def created(response: httpx.Response) -> Reflection:
    assert response.status_code == 201, response.text
    body: Reflection = response.json()
    return body


def fetch(api: httpx.Client, name: str, reflection_id: int) -> Reflection:
    response = api.get(f"/v1/memories/{name}/reflections/{reflection_id}")
    assert response.status_code == 200, response.text
    body: Reflection = response.json()
    return body


def export(api: httpx.Client, name: str, **params: str) -> list[dict[str, Any]]:
    response = api.get(f"/v1/memories/{name}/reflections/export", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    return [json.loads(line) for line in response.text.splitlines()]


def test_a_reflection_is_rated_by_each_later_episode_that_used_it(
    api: httpx.Client, memory_name: str
) -> None:
    client_memory(api, memory_name)
    assert episode(api, memory_name, "failed", [0.0, 0.25]).status_code == 200
    reflection = created(reflect(api, memory_name, "failed", "read the page first", "P"))
    assert reflection["return_before"] == 0.25
    assert reflection["prompt"] == "P" and reflection["episode_id"] == "failed"
    assert (reflection["uses"], reflection["rated_uses"]) == (0, 0)
    assert reflection["return_after"] is None and reflection["rating"] is None
    rid = reflection["reflection_id"]

    # Named on the first call of an open episode: a use, unrated until the episode ends.
    first = update(api, memory_name, "better", step(0, "a", "go", 0.0, "b"))
    assert first.status_code == 200
    named = using(api, memory_name, "better", step(1, "b", "go", 0.0, "c"), [rid])
    assert named.status_code == 200, named.text
    pending = fetch(api, memory_name, rid)
    assert (pending["uses"], pending["rated_uses"], pending["rating"]) == (1, 0, None)
    ending = step(2, "c", "stop", 1.0, "c", done=True)
    update(api, memory_name, "better", ending)
    assert fetch(api, memory_name, rid)["rating"] == pytest.approx(0.75)

    # A second user, naming it only on its last (done) call, and twice: one use.
    worse = episode(api, memory_name, "worse", [0.0], reflection_ids=[rid, rid])
    assert worse.status_code == 200, worse.text
    done = fetch(api, memory_name, rid)
    assert (done["uses"], done["rated_uses"]) == (2, 2)
    assert done["rating"] == pytest.approx((0.75 - 0.25) / 2)
    assert done["return_after"] == pytest.approx((1.0 + 0.0) / 2)
    ratings = {u["episode_id"]: (u["return_after"], u["rating"]) for u in done["used_by"]}
    assert ratings == {"better": (1.0, 0.75), "worse": (0.0, -0.25)}

    # Retried calls, with the ids again, record and rate nothing twice.
    again = episode(api, memory_name, "worse", [0.0], reflection_ids=[rid])
    assert again.status_code == 200
    update(api, memory_name, "better", ending)
    assert fetch(api, memory_name, rid) == done
    # The same reflection posted again is the stored one, not a second.
    same = reflect(api, memory_name, "failed", "read the page first", "P")
    assert same.status_code == 200 and same.json()["reflection_id"] == rid
    assert created(reflect(api, memory_name, "failed", "read the page first"))["prompt"] is None
    assert api.delete(f"/v1/memories/{memory_name}").status_code == 204


def test_reflection_errors_name_the_problem_and_apply_nothing(
    api: httpx.Client, memory_name: str
) -> None:
    client_memory(api, memory_name)
    update(api, memory_name, "open", step(0, "a", "go", 0.0, "b"))
    episode(api, memory_name, "over", [1.0])
    assert_error(reflect(api, memory_name, "nope", "x"), 404, "episode_not_found")
    assert_error(reflect(api, memory_name, "open", "x"), 409, "episode_not_finished")
    assert_error(reflect(api, memory_name, "over", "x", task="other task"), 409, "task_mismatch")
    assert_error(reflect(api, "no-such-memory", "over", "x"), 404, "memory_not_found")
    valid = {"task": "task", "episode_id": "over", "text": "x"}
    for bad in ({"text": ""}, {"text": "a\x00b"}, {"prompt": "a\x00b"}, {"unknown": 1}):
        response = api.post(f"/v1/memories/{memory_name}/reflections", json={**valid, **bad})
        assert_error(response, 422, "invalid_request")
    rid = created(reflect(api, memory_name, "over", "x"))["reflection_id"]

    records = f"/v1/memories/{memory_name}/records"
    before = (api.get(records).json(), api.get(f"/v1/memories/{memory_name}").json())
    unknown = episode(api, memory_name, "next", [0.0], reflection_ids=[rid, 999_999_999])
    assert_error(unknown, 422, "unknown_reflection")
    assert "999999999" in unknown.json()["error"]["message"]
    assert str(rid) not in unknown.json()["error"]["message"]
    # Nothing of the rejected call was applied.
    assert (api.get(records).json(), api.get(f"/v1/memories/{memory_name}").json()) == before
    own = update(api, memory_name, "over", step(0, "a", "go", 1.0, "b", True))
    assert own.status_code == 200
    self_use = using(api, memory_name, "over", step(0, "a", "go", 1.0, "b", True), [rid])
    assert_error(self_use, 422, "reflection_self_use")
    for ids in ([0], ["x"], list(range(1, 102))):
        assert_error(
            episode(api, memory_name, "later", [0.0], reflection_ids=ids), 422, "invalid_request"
        )

    other = f"{memory_name}-other"
    client_memory(api, other)
    foreign = episode(api, other, "e", [0.0], reflection_ids=[rid])
    assert_error(foreign, 422, "unknown_reflection")
    assert_error(api.get(f"/v1/memories/{other}/reflections/{rid}"), 404, "reflection_not_found")
    assert_error(api.get(f"/v1/memories/{other}/reflections/0"), 422, "invalid_request")


def test_newest_reflections_per_task_in_lists_and_retrieval(
    api: httpx.Client, memory_name: str
) -> None:
    client_memory(api, memory_name)
    episode(api, memory_name, "e", [0.0])
    api.post(
        f"/v1/memories/{memory_name}/update",
        json={
            "episode_id": "o",
            "task": "other task",
            "transitions": [step(0, "a", "go", 0.0, "b", True)],
        },
    )
    ids = [created(reflect(api, memory_name, "e", f"trial {n}"))["reflection_id"] for n in range(4)]
    created(reflect(api, memory_name, "o", "elsewhere", task="other task"))

    listed = api.get(
        f"/v1/memories/{memory_name}/reflections", params={"task": "task", "limit": 3}
    ).json()
    assert [r["reflection_id"] for r in listed["items"]] == ids[::-1][:3]
    assert {"text", "prompt", "return_before", "return_after", "rating", "created_at"} <= set(
        listed["items"][0]
    )
    rest = api.get(
        f"/v1/memories/{memory_name}/reflections",
        params={"task": "task", "cursor": listed["next_cursor"]},
    ).json()
    assert [r["reflection_id"] for r in rest["items"]] == ids[:1] and rest["next_cursor"] is None
    everything = api.get(f"/v1/memories/{memory_name}/reflections").json()["items"]
    assert [r["text"] for r in everything][:2] == ["elsewhere", "trial 3"]
    bad_cursor = api.get(f"/v1/memories/{memory_name}/reflections", params={"cursor": "x"})
    assert_error(bad_cursor, 422, "invalid_request")
    for path in ("reflections", "reflections/export"):
        nul = api.get(f"/v1/memories/{memory_name}/{path}", params={"task": "a\x00b"})
        assert_error(nul, 422, "invalid_request")

    url = f"/v1/memories/{memory_name}/retrieve"
    with_reflections = api.post(
        url, json={"task": "task", "observation": "a", "k": 1, "reflections": 2}
    ).json()
    assert [r["text"] for r in with_reflections["reflections"]] == ["trial 3", "trial 2"]
    assert len(with_reflections["exemplars"]) == 1
    plain = api.post(url, json={"task": "task", "observation": "a", "k": 1}).json()
    assert set(plain) == {"exemplars"}
    assert plain["exemplars"] == with_reflections["exemplars"]
    assert_error(
        api.post(url, json={"task": "task", "observation": "a", "reflections": -1}),
        422,
        "invalid_request",
    )


def test_export_streams_rated_uses_and_preference_pairs(
    api: httpx.Client, memory_name: str
) -> None:
    client_memory(api, memory_name)
    episode(api, memory_name, "failed", [0.0, 0.5])
    good = created(reflect(api, memory_name, "failed", "good idea", "P"))["reflection_id"]
    bad = created(reflect(api, memory_name, "failed", "bad idea", "P"))["reflection_id"]
    tie = created(reflect(api, memory_name, "failed", "another bad idea", "P"))["reflection_id"]
    alone = created(reflect(api, memory_name, "failed", "no prompt"))["reflection_id"]
    unused = created(reflect(api, memory_name, "failed", "never used", "P"))["reflection_id"]
    assert unused  # never rated: in neither export
    episode(api, memory_name, "g1", [1.0], reflection_ids=[good])
    episode(api, memory_name, "g2", [0.0, 1.0], reflection_ids=[good])
    episode(api, memory_name, "b1", [0.0], reflection_ids=[bad, alone])
    episode(api, memory_name, "t1", [0.0], reflection_ids=[tie])
    update(api, memory_name, "pending", step(0, "a", "go", 0.0, "b"))
    pending = using(api, memory_name, "pending", step(1, "b", "go", 0.0, "c"), [bad])
    assert pending.status_code == 200

    rows = export(api, memory_name, format="jsonl")
    used = {"g1": "good idea", "g2": "good idea", "b1": "bad idea", "t1": "another bad idea"}
    expected = [
        {
            "task": "task",
            "prompt": "P",
            "reflection": text,
            "return_before": 0.5,
            "return_after": 1.0 if text == "good idea" else 0.0,
            "rating": 0.5 if text == "good idea" else -0.5,
            "used_in": used_in,
        }
        for used_in, text in used.items()
    ] + [
        {
            "task": "task",
            "prompt": None,
            "reflection": "no prompt",
            "return_before": 0.5,
            "return_after": 0.0,
            "rating": -0.5,
            "used_in": "b1",
        }
    ]

    def without_ids(row: dict[str, Any]) -> dict[str, Any]:
        assert isinstance(row.pop("reflection_id"), int)
        return row

    def canonical(row: dict[str, Any]) -> str:
        return json.dumps(row, sort_keys=True)

    assert sorted(map(without_ids, rows), key=canonical) == sorted(expected, key=canonical)
    assert export(api, memory_name) == export(api, memory_name, format="jsonl")
    assert export(api, memory_name, task="other task") == []

    pairs = export(api, memory_name, format="pairs")
    assert sorted((p["chosen"], p["rejected"]) for p in pairs) == [
        ("good idea", "another bad idea"),
        ("good idea", "bad idea"),
    ]
    assert all(p["prompt"] == "P" for p in pairs)
    assert all((p["chosen_rating"], p["rejected_rating"]) == (0.5, -0.5) for p in pairs)

    assert_error(
        api.get(f"/v1/memories/{memory_name}/reflections/export", params={"format": "csv"}),
        422,
        "invalid_request",
    )
    assert_error(api.get("/v1/memories/no-such-memory/reflections/export"), 404, "memory_not_found")
