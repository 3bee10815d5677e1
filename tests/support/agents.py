"""Agents that hit one memory at the same time, and the exact outcome they must leave.

Every agent has its own rewards, so a lost update, or one applied twice, shows in the mean
and in the visit counts. With γ = 0 the target of every pair is its immediate reward, so the
result does not depend on the order in which concurrent updates land.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Self

import httpx

TASK = "reach the end"
OTHER_TASK = "come back later"
PATH = ["s0", "s1", "s2", "s3"]
ACTION = "forward"
VECTORS = {
    TASK: [1.0, 0.0, 0.0, 0.0, 0.0],
    OTHER_TASK: [0.6, 0.8, 0.0, 0.0, 0.0],
    "s0": [0.0, 1.0, 0.0, 0.0, 0.0],
    "s1": [0.0, 0.0, 1.0, 0.0, 0.0],
    "s2": [0.0, 0.0, 0.0, 1.0, 0.0],
    "s3": [0.0, 0.0, 0.0, 0.0, 1.0],
}


def create_path_memory(api: httpx.Client, name: str, update_mode: str = "mean") -> None:
    body = {
        "name": name,
        "embedder": "client",
        "dimension": 5,
        "gamma": 0.0,
        "n_step": 1,
        "update_mode": update_mode,
    }
    assert api.post("/v1/memories", json=body).status_code == 201, name
    assert api.put(f"/v1/memories/{name}/embeddings", json={"embeddings": VECTORS}).is_success


def reward_of(agent: int, episode: int, step: int) -> float:
    # Distinct per (agent, episode, step) and not dyadic, so no two updates can cancel out.
    return round(0.1 + 0.37 * agent + 0.011 * episode - 0.23 * step, 6)


def transition(agent: int, episode: int, step: int, length: int) -> dict[str, Any]:
    """Step `step` of an episode of `length` steps along PATH."""
    return {
        "step": step,
        "observation": PATH[step],
        "action": ACTION,
        "reward": reward_of(agent, episode, step),
        "next_observation": PATH[step + 1],
        "done": step == length - 1,
    }


def episode_id(agent: int, episode: int) -> str:
    return f"agent{agent}-episode{episode}"


@dataclass(frozen=True)
class Workload:
    agents: int
    episodes: int
    length: int  # transitions per episode, 1..len(PATH) - 1

    def expected(self) -> dict[str, tuple[int, float]]:
        """(visits, q) of (observation, ACTION) once every transition is applied once."""
        targets: dict[str, list[float]] = defaultdict(list)
        for agent in range(self.agents):
            for episode in range(self.episodes):
                for step in range(self.length):
                    targets[PATH[step]].append(reward_of(agent, episode, step))
        return {obs: (len(values), sum(values) / len(values)) for obs, values in targets.items()}


Send = Callable[[int, str, dict[str, Any]], dict[str, Any]]


class HttpAgents:
    """Agents over plain HTTP. With several service URLs, each agent sends its calls to
    them in turn, so consecutive steps (and a retry) of one episode meet different
    processes."""

    def __init__(self, urls: Sequence[str], memory: str) -> None:
        self.memory = memory
        self._clients = [httpx.Client(base_url=url, timeout=120) for url in urls]
        self._calls: dict[int, int] = defaultdict(int)

    def __call__(self, agent: int, route: str, body: dict[str, Any]) -> dict[str, Any]:
        # Only agent `agent`'s own thread touches its counter.
        client = self._clients[(agent + self._calls[agent]) % len(self._clients)]
        self._calls[agent] += 1
        response = client.post(f"/v1/memories/{self.memory}/{route}", json=body)
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        for client in self._clients:
            client.close()


def run_agents(workload: Workload, send: Send, *, resend: bool = False) -> list[dict[str, Any]]:
    """Each agent in its own thread, all released together; every acknowledged answer is
    returned. `resend` sends each call twice, as a client retrying a lost answer would."""
    start = threading.Barrier(workload.agents)

    def agent(number: int) -> list[dict[str, Any]]:
        start.wait()
        answers = []
        for episode in range(workload.episodes):
            for step in range(workload.length):
                body = {
                    "episode_id": episode_id(number, episode),
                    "task": TASK,
                    "transitions": [transition(number, episode, step, workload.length)],
                }
                first = send(number, "update", body)
                if resend:
                    assert send(number, "update", body) == first, "a retry answered differently"
                answers.append(first)
        return answers

    with ThreadPoolExecutor(workload.agents) as pool:
        results = list(pool.map(agent, range(workload.agents)))
    return [answer for answers in results for answer in answers]


def learned(api: httpx.Client, name: str) -> dict[str, tuple[int, float, int]]:
    """(action visits, q, record visits) per observation of TASK."""
    items: Sequence[dict[str, Any]] = api.get(
        f"/v1/memories/{name}/records", params={"limit": 1000, "task": TASK}
    ).json()["items"]
    out = {}
    for record in items:
        (value,) = [a for a in record["actions"] if a["action"] == ACTION]
        out[record["observation"]] = (value["visits"], value["q"], record["visits"])
    return out


def assert_exact(api: httpx.Client, name: str, workload: Workload, *, mean_q: bool = True) -> None:
    """Visits count every transition once; in mean mode q is the mean of the targets (in
    const mode q depends on the order of arrival, so only the visits are exact)."""
    got = learned(api, name)
    expected = workload.expected()
    assert set(got) == set(expected)
    for observation, (visits, q) in expected.items():
        action_visits, got_q, record_visits = got[observation]
        assert (action_visits, record_visits) == (visits, visits), observation
        if mean_q:
            assert abs(got_q - q) < 1e-9, (observation, got_q, q)
