"""16 agents updating the same (state, action) at once lose no update and apply none twice."""

from __future__ import annotations

import httpx
import pytest

from tests.concurrent_agents import (
    HttpAgents,
    Workload,
    assert_exact,
    create_path_memory,
    run_agents,
)
from tests.conftest import ServerThread


@pytest.mark.parametrize("update_mode", ["mean", "const"])
def test_sixteen_agents_on_one_state_action(
    server: ServerThread, api: httpx.Client, memory_name: str, update_mode: str
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


def test_sixteen_agents_walking_one_path_with_retries(
    server: ServerThread, api: httpx.Client, memory_name: str
) -> None:
    """Three-step episodes over shared states (records created concurrently, bootstrap
    look-ups racing with updates), each call sent twice: still exact."""
    create_path_memory(api, memory_name)
    workload = Workload(agents=16, episodes=1, length=3)
    with HttpAgents([server.url], memory_name) as agents:
        run_agents(workload, agents, resend=True)
    assert_exact(api, memory_name, workload)
    memory = api.get(f"/v1/memories/{memory_name}").json()
    assert (memory["records"], memory["actions"], memory["episodes_open"]) == (3, 3, 0)
