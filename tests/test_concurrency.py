"""16 agents updating the same (state, action) at once lose no update and apply none twice,
and leave every record's stored best q exact."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.support.agents import (
    HttpAgents,
    Workload,
    assert_exact,
    create_path_memory,
    run_agents,
)
from tests.support.database import stale_best_q
from tests.support.http import ServerThread
from tests.support.memories import client_memory


@pytest.mark.parametrize("update_mode", ["mean", "const"])
def test_sixteen_agents_on_one_state_action(
    server: ServerThread,
    api: httpx.Client,
    database_url: str,
    memory_name: str,
    update_mode: str,
) -> None:
    """Every agent's one-step episodes hit (s0, forward): visits = 16·4, q = the mean."""
    create_path_memory(api, memory_name, update_mode)
    workload = Workload(agents=16, episodes=4, length=1)
    with HttpAgents([server.url], memory_name) as agents:
        answers = run_agents(workload, agents)
    assert len(answers) == 64
    # Each answer saw its own visit: the 64 counts are exactly 1..64, none shared or skipped.
    assert sorted(a["updated"][0]["visits"] for a in answers) == list(range(1, 65))
    assert_exact(api, memory_name, workload, mean_q=update_mode == "mean")
    assert stale_best_q(database_url, memory_name) == []


def test_sixteen_agents_walking_one_path_with_retries(
    server: ServerThread, api: httpx.Client, database_url: str, memory_name: str
) -> None:
    """Three-step episodes over shared states (records created concurrently, bootstrap
    look-ups racing with updates), each call sent twice: still exact."""
    create_path_memory(api, memory_name)
    workload = Workload(agents=16, episodes=1, length=3)
    with HttpAgents([server.url], memory_name) as agents:
        run_agents(workload, agents, resend=True)
    assert_exact(api, memory_name, workload)
    assert stale_best_q(database_url, memory_name) == []
    memory = api.get(f"/v1/memories/{memory_name}").json()
    assert (memory["records"], memory["actions"], memory["episodes_open"]) == (3, 3, 0)


# --- writers of overlapping states in opposite orders -------------------------------------
# Each case deadlocked in PostgreSQL (40P01) before writers took their locks in one order:
# updates answered 503 once their retries ran out, the other endpoints at once.

CALLS = 16

Call = Callable[[httpx.Client, int], httpx.Response]


def all_at_once(url: str, call: Call) -> list[int]:
    """`call(client, number)` for CALLS numbers, from as many threads released together;
    their status codes."""
    start = threading.Barrier(CALLS)

    def one(number: int) -> int:
        with httpx.Client(base_url=url, timeout=120) as client:
            client.get("/healthz")  # connected before the start, so the calls overlap
            start.wait()
            return call(client, number).status_code

    with ThreadPoolExecutor(CALLS) as pool:
        return list(pool.map(one, range(CALLS)))


def reversed_if_odd(number: int, items: list[str]) -> list[str]:
    return items[::-1] if number % 2 else items


def vectors_of(texts: list[str]) -> dict[str, list[float]]:
    """3-dimensional client vectors, one for each text."""
    return {text: [1.0, float(i), 1.0] for i, text in enumerate(texts)}


def test_episodes_over_the_same_states_in_opposite_orders(
    server: ServerThread, api: httpx.Client, memory_name: str
) -> None:
    """One call per five-step episode over the same five states, half of them backwards."""
    states = [f"w{i}" for i in range(1, 6)]
    client_memory(api, memory_name, vectors_of(["t", "w0", *states]))

    def episode(client: httpx.Client, number: int) -> httpx.Response:
        path = [*reversed_if_odd(number, states), "w0"]
        steps = [
            {
                "step": s,
                "observation": path[s],
                "action": "a",
                "reward": 1.0,
                "next_observation": path[s + 1],
                "done": s == len(states) - 1,
            }
            for s in range(len(states))
        ]
        update = {"episode_id": f"e{number}", "task": "t", "transitions": steps}
        return client.post(f"/v1/memories/{memory_name}/update", json=update)

    assert all_at_once(server.url, episode) == [200] * CALLS
    records = api.get(f"/v1/memories/{memory_name}/records").json()["items"]
    visits = {r["observation"]: r["actions"][0]["visits"] for r in records}
    assert visits == dict.fromkeys(states, CALLS)


def test_embeddings_of_the_same_texts_in_opposite_orders(
    server: ServerThread, api: httpx.Client, memory_name: str
) -> None:
    texts = [f"text {i}" for i in range(50)]
    client_memory(api, memory_name, vectors_of(["a text of no call"]))

    def put(client: httpx.Client, number: int) -> httpx.Response:
        vectors = {text: [1.0, float(number), 1.0] for text in reversed_if_odd(number, texts)}
        return client.put(f"/v1/memories/{memory_name}/embeddings", json={"embeddings": vectors})

    # First the texts are new to the memory, then they are all there.
    assert all_at_once(server.url, put) == [200] * CALLS
    assert all_at_once(server.url, put) == [200] * CALLS


def test_bulk_upserts_of_the_same_states_in_opposite_orders(
    server: ServerThread, api: httpx.Client, memory_name: str
) -> None:
    observations = [f"o{i}" for i in range(50)]
    client_memory(api, memory_name, vectors_of(["t", *observations]))

    def upsert(client: httpx.Client, number: int) -> httpx.Response:
        items = [
            {"task": "t", "observation": o, "visits": number + 1, "actions": [{"action": "a"}]}
            for o in reversed_if_odd(number, observations)
        ]
        return client.post(f"/v1/memories/{memory_name}/records", json={"items": items})

    assert all_at_once(server.url, upsert) == [200] * CALLS
    memory = api.get(f"/v1/memories/{memory_name}").json()
    assert (memory["records"], memory["actions"]) == (50, 50)
