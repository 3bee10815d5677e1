"""`records.best_q`, which the inspector sorts by, is kept by triggers on action_values
(migration 0009): exact after every kind of writer, and when two transactions change
values of one record at once."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import psycopg

from tests.support.database import plain_url, stale_best_q, wait_for_a_lock_wait
from tests.support.memories import VECTORS, answered, client_memory, records, step, update


def _item(observation: str, actions: dict[str, float]) -> dict[str, Any]:
    return {
        "task": "task",
        "observation": observation,
        "actions": [{"action": a, "q": q, "visits": 1} for a, q in actions.items()],
    }


def _best_q(database_url: str, memory: str) -> dict[str, float]:
    query = (
        "SELECT r.observation, r.best_q FROM records r JOIN memories m ON m.id = r.memory_id "
        "WHERE m.name = %s"
    )
    with psycopg.connect(plain_url(database_url)) as connection:
        return {str(o): float(q) for o, q in connection.execute(query, (memory,))}


def test_learning_and_action_capacity_keep_best_q(
    api: httpx.Client, database_url: str, memory_name: str
) -> None:
    client_memory(api, memory_name, VECTORS, action_capacity=2)
    for action, reward in (("good", 1.0), ("bad", -1.0), ("fair", 0.5), ("worse", -2.0)):
        answered(update(api, memory_name, action, step(0, "a", action, reward, "b", True)))
    # Unlearning the best action lowers the best q to the next one's.
    for episode in range(3):
        answered(update(api, memory_name, f"sour {episode}", step(0, "a", "good", -3.0, "b", True)))
    stored = records(api, memory_name)["a"]["actions"]
    assert _best_q(database_url, memory_name)["a"] == max(a["q"] for a in stored) == 0.5
    assert stale_best_q(database_url, memory_name) == []


def test_double_q_keeps_best_q(api: httpx.Client, database_url: str, memory_name: str) -> None:
    client_memory(api, memory_name, VECTORS, double_q=True)
    for episode in range(4):
        answered(
            update(
                api,
                memory_name,
                f"e{episode}",
                step(0, "a", "go", 0.0, "b"),
                step(1, "b", "stop", 1.0, "c", True),
            )
        )
    assert _best_q(database_url, memory_name)["a"] > 0
    assert stale_best_q(database_url, memory_name) == []


def test_bulk_writes_keep_best_q(api: httpx.Client, database_url: str, memory_name: str) -> None:
    client_memory(api, memory_name, VECTORS)
    route = f"/v1/memories/{memory_name}/records"
    first = [_item("a", {"x": 0.25, "y": 0.75}), _item("b", {"x": -1.0}), _item("c", {})]
    answered(api.post(route, json={"items": first}))
    assert _best_q(database_url, memory_name) == {"a": 0.75, "b": -1.0, "c": float("-inf")}
    # Replacing a state keeps exactly the item's actions: the best can fall or vanish.
    again = [_item("a", {"x": 0.5}), _item("b", {}), _item("c", {"z": 2.0})]
    answered(api.post(route, json={"items": again}))
    assert _best_q(database_url, memory_name) == {"a": 0.5, "b": float("-inf"), "c": 2.0}
    assert stale_best_q(database_url, memory_name) == []


def test_concurrent_writers_of_one_record_leave_its_best_q_exact(
    api: httpx.Client, database_url: str, memory_name: str
) -> None:
    """One transaction lowers the best action while another raises a second action of the
    same record: the one that commits last must count the other's committed value, which
    its own snapshot (taken before that commit) does not hold."""
    client_memory(api, memory_name, VECTORS)
    route = f"/v1/memories/{memory_name}/records"
    answered(api.post(route, json={"items": [_item("a", {"high": 5.0, "low": 1.0})]}))
    change = "UPDATE action_values SET q = %s WHERE action = %s AND record_id = %s"
    url = plain_url(database_url)
    with psycopg.connect(url) as first, psycopg.connect(url) as observer:
        row = observer.execute(
            "SELECT r.id FROM records r JOIN memories m ON m.id = r.memory_id WHERE m.name = %s",
            (memory_name,),
        ).fetchone()
        assert row is not None
        record_id = int(row[0])
        observer.commit()
        first.execute(change, (0.0, "high", record_id))  # not committed yet

        def second_writer() -> None:
            with psycopg.connect(url) as second:
                second.execute(change, (2.0, "low", record_id))

        thread = threading.Thread(target=second_writer)
        thread.start()
        wait_for_a_lock_wait(observer)  # the second waits for the record's lock
        first.commit()
        thread.join(timeout=30)
        assert not thread.is_alive()
    assert _best_q(database_url, memory_name) == {"a": 2.0}
    assert stale_best_q(database_url, memory_name) == []
