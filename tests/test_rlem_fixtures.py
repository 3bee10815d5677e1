"""Every case in tests/fixtures/rlem, replayed over HTTP against the running service and
database: one transition per call ("streamed") and a whole episode per call ("batched")."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.paths import FIXTURES_DIR

FIXTURES = sorted((FIXTURES_DIR / "rlem").glob("*.json"))
TOLERANCE = 1e-5
SCORE_TOLERANCE = 1e-4


def test_fixtures_are_present() -> None:
    assert len(FIXTURES) == 12, f"expected 12 fixtures under {FIXTURES_DIR}"


def transitions_of(episode: dict[str, Any]) -> list[dict[str, Any]]:
    observation = episode["first_observation"]
    steps = []
    for step, transition in enumerate(episode["transitions"]):
        steps.append(
            {
                "step": step,
                "observation": observation,
                "action": transition["action"],
                "reward": transition["reward"],
                "next_observation": transition["observation"],
                "done": step == len(episode["transitions"]) - 1,
            }
        )
        observation = transition["observation"]
    return steps


def replay(api: httpx.Client, name: str, case: dict[str, Any], batched: bool) -> None:
    created = api.post(
        "/v1/memories",
        json={
            "name": name,
            **case["config"],
            "embedder": "client",
            "dimension": len(next(iter(case["embeddings"].values()))),
        },
    )
    assert created.status_code == 201, created.text
    stored = api.put(f"/v1/memories/{name}/embeddings", json={"embeddings": case["embeddings"]})
    assert stored.json() == {"stored": len(case["embeddings"])}
    for number, episode in enumerate(case["episodes"]):
        steps = transitions_of(episode)
        calls = [steps] if batched else [[step] for step in steps]
        for transitions in calls:
            answer = api.post(
                f"/v1/memories/{name}/update",
                json={
                    "episode_id": f"ep-{number}",
                    "task": episode["task"],
                    "transitions": transitions,
                },
            )
            assert answer.status_code == 200, answer.text
            assert answer.json()["episode"]["next_step"] == transitions[-1]["step"] + 1


def all_records(api: httpx.Client, name: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"limit": 7, **({"cursor": cursor} if cursor else {})}
        page = api.get(f"/v1/memories/{name}/records", params=params).json()
        records.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return records


def assert_records_match(actual: list[dict[str, Any]], expected: list[dict[str, Any]]) -> None:
    by_state = {(r["task"], r["observation"]): r for r in actual}
    assert len(by_state) == len(actual)
    assert set(by_state) == {(r["task"], r["observation"]) for r in expected}
    for want in expected:
        got = by_state[(want["task"], want["observation"])]
        where = f"{want['task']} / {want['observation']}"
        assert got["visits"] == want["visits"], where
        assert got["last_reward"] == pytest.approx(want["last_reward"], abs=TOLERANCE), where
        assert got["total_reward"] == pytest.approx(want["total_reward"], abs=TOLERANCE), where
        assert got["action_history"] == want["action_history"], where
        got_actions = {a["action"]: a for a in got["actions"]}
        assert set(got_actions) == {a["action"] for a in want["actions"]}, where
        for action in want["actions"]:
            value = got_actions[action["action"]]
            assert value["visits"] == action["visits"], (where, action)
            assert value["q"] == pytest.approx(action["q"], abs=TOLERANCE), (where, action)
            assert value["reward"] == pytest.approx(action["reward"], abs=TOLERANCE), (
                where,
                action,
            )


def assert_queries_match(api: httpx.Client, name: str, queries: list[dict[str, Any]]) -> None:
    for query in queries:
        body = {"task": query["task"], "observation": query["observation"], "k": query["k"]}
        if "lambda" in query:
            body["lambda"] = query["lambda"]
        answer = api.post(f"/v1/memories/{name}/retrieve", json=body)
        assert answer.status_code == 200, answer.text
        exemplars = answer.json()["exemplars"]
        got = [(e["task"], e["observation"]) for e in exemplars]
        assert got == [(e["task"], e["observation"]) for e in query["expected"]], query
        for exemplar, want in zip(exemplars, query["expected"], strict=True):
            assert exemplar["score"] == pytest.approx(want["score"], abs=SCORE_TOLERANCE)
            qs = [a["q"] for a in exemplar["actions"]]
            assert qs == sorted(qs, reverse=True)


@pytest.mark.parametrize("batched", [False, True], ids=["streamed", "batched"])
@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: Path(p).stem)
def test_fixture_replay(api: httpx.Client, memory_name: str, path: Path, batched: bool) -> None:
    case = json.loads(path.read_text())
    replay(api, memory_name, case, batched)
    assert_records_match(all_records(api, memory_name), case["expected_records"])
    assert_queries_match(api, memory_name, case["queries"])
