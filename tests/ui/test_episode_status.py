"""How an episode ended shows on the episodes pages; an abandoned episode's partial return
stays out of the learning curve and the per-task means."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx

from tests.support import ui_seeding as seeding
from tests.support.memories import client_memory


def transition(step: int, reward: float, **ending: bool) -> dict[str, Any]:
    return {
        "step": step,
        "observation": f"o{step}",
        "action": "go",
        "reward": reward,
        "next_observation": f"o{step + 1}",
        **ending,
    }


def send(api: httpx.Client, name: str, episode: str, *steps: dict[str, Any]) -> None:
    body = {"episode_id": episode, "task": "walk", "transitions": list(steps)}
    answer = api.post(f"/v1/memories/{name}/update", json=body)
    assert answer.status_code == 200, answer.text


def test_statuses_show_and_an_abandoned_return_is_not_plotted(api: httpx.Client) -> None:
    name = f"ui-status-{uuid.uuid4().hex[:6]}"
    client_memory(api, name, {t: seeding.vector_of(t) for t in ["walk", "o0", "o1"]})
    send(api, name, "finished", transition(0, 1.0, done=True))
    send(api, name, "cut", transition(0, 2.0, truncated=True))
    send(api, name, "left", transition(0, 40.0))
    assert api.post(f"/v1/memories/{name}/episodes/left/abandon").status_code == 200
    send(api, name, "going", transition(0, 0.5))

    listing = api.get(f"/ui/memories/{name}/episodes").text
    for episode, status in [
        ("finished", "finished"),
        ("cut", "truncated"),
        ("left", "abandoned"),
        ("going", "open"),
    ]:
        row = listing.split(f">{episode}</a>")[1].split("</tr>")[0]
        assert re.search(rf'class="tag \w+">{status}</span>', row), (episode, row)
    detail = api.get(f"/ui/memories/{name}/episode", params={"id": "cut"}).text
    assert 'class="tag truncated">truncated</span>' in detail

    overview = api.get(f"/ui/memories/{name}").text
    # The chart alone: the page beside it shows times, which may hold a "40" of their own.
    chart = overview.split('id="learning-curve"')[1].split("</svg>")[0]
    assert "40" not in re.sub(r"<[^>]+>", " ", chart)
