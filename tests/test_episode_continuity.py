"""Open episodes live in the database: another service instance continues them."""

from __future__ import annotations

import httpx
from rememberer.config import Settings

from tests.support.http import ServerThread
from tests.support.memories import client_memory, step, update


def test_a_second_service_continues_an_open_episode(
    api: httpx.Client, memory_name: str, database_url: str
) -> None:
    client_memory(api, memory_name, n_step=2)
    first = update(api, memory_name, "e", step(0, "a", "go", 0.0, "b"))
    assert first.json()["updated"] == []  # n = 2: (a, go) waits for o_2
    with (
        ServerThread(Settings(), database_url) as other,
        httpx.Client(base_url=other.url, timeout=60) as second,
    ):
        answer = update(second, memory_name, "e", step(1, "b", "go", 1.0, "c"))
        assert answer.status_code == 200, answer.text
        # The pending (a, go) from the first instance is bootstrapped here: r_1 + r_2 + max Q(c).
        assert [(u["observation"], u["q"]) for u in answer.json()["updated"]] == [("a", 1.0)]
        assert answer.json()["episode"]["next_step"] == 2
    done = update(api, memory_name, "e", step(2, "c", "stop", 0.0, "a", done=True))
    assert [u["observation"] for u in done.json()["updated"]] == ["b", "c"]
