"""REMEMBERER pools through `rememberer import`/`export` against the running service: the
shipped pools round-trip exactly, hostile YAML is refused, and the bulk records endpoint
stores records as given or refuses them whole."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import yaml
from rememberer.cli import main
from rememberer.interop import bulk, pools
from rememberer.schemas import MAX_IMPORTED_VISITS
from rememberer.storage.db import copy_rows

from tests.support.http import ServerThread
from tests.support.memories import client_memory
from tests.support.paths import FIXTURES_DIR

POOLS = sorted((FIXTURES_DIR / "rememberer-pools").glob("*.yaml"))


def test_pools_are_present() -> None:
    names = {p.name for p in POOLS}
    assert {"annotated_pool-auto.q.yaml", "init_pool.wq.yaml"} <= names


def cli(*args: str) -> int:
    return main([*args, "--quiet"])


def load(path: Path) -> Any:
    return pools.load_pool(path.read_text(encoding="utf-8"), path.name)


def memory_with_vectors(api: httpx.Client, name: str, path: Path) -> None:
    """A client-embedder memory with a vector for each text of the pool (no model to run)."""
    texts = {
        t for item in pools.pool_items(load(path)) for t in (item["task"], item["observation"])
    }
    rng = np.random.default_rng(3)
    vectors = {t: rng.normal(size=8).tolist() for t in sorted(texts)}
    api.post("/v1/memories", json={"name": name, "embedder": "client", "dimension": 8})
    assert api.put(f"/v1/memories/{name}/embeddings", json={"embeddings": vectors}).is_success


@pytest.mark.parametrize("path", POOLS, ids=lambda p: p.name)
def test_pool_round_trips_exactly(
    server: ServerThread, api: httpx.Client, memory_name: str, path: Path, tmp_path: Path
) -> None:
    original = load(path)
    memory_with_vectors(api, memory_name, path)
    assert cli("import", str(path), "--memory", memory_name, "--url", server.url) == 0
    records = api.get(f"/v1/memories/{memory_name}/records", params={"limit": 1000}).json()
    assert len(records["items"]) == len(original)
    first_key, first = next(iter(original.items()))
    stored = next(r for r in records["items"] if r["observation"] == first_key[0])
    assert stored["task"] == first_key[1] and stored["extra"]["key"] == first_key[2]
    assert stored["visits"] == first["other_info"]["number"]

    exported = tmp_path / "pool.yaml"
    args = ("--memory", memory_name, "--url", server.url)
    assert cli("export", "--format", "rememberer-yaml", *args, "-o", str(exported)) == 0
    assert load(exported) == original
    # The paper's code reads pools with PyYAML's full loader.
    assert yaml.load(exported.read_text(encoding="utf-8"), Loader=yaml.FullLoader) == original

    # JSON Lines: export, import into another memory, and both exports come back the same.
    lines, again = tmp_path / "pool.jsonl", tmp_path / "again.jsonl"
    assert cli("export", "--format", "jsonl", *args, "-o", str(lines)) == 0
    copy = f"{memory_name}-copy"
    memory_with_vectors(api, copy, path)
    assert cli("import", str(lines), "--memory", copy, "--url", server.url) == 0
    copy_args = ("--memory", copy, "--url", server.url)
    assert cli("export", "--format", "jsonl", *copy_args, "-o", str(again)) == 0
    assert again.read_text(encoding="utf-8") == lines.read_text(encoding="utf-8")


def test_import_creates_the_memory_and_is_idempotent(
    server: ServerThread, api: httpx.Client, memory_name: str
) -> None:
    """With the memory's own embedder (all-MiniLM-L6-v2), as a user would run it."""
    path = next(p for p in POOLS if p.name == "init_pool.wq.yaml")
    for _ in range(2):
        assert cli("import", str(path), "--memory", memory_name, "--url", server.url) == 0
    described = api.get(f"/v1/memories/{memory_name}").json()
    assert described["records"] == len(load(path)) and described["embedder"] == "all-MiniLM-L6-v2"


HOSTILE = """\
? !!python/tuple
- page
- task
- extra
: action_dict: {}
  other_info:
    action_history: []
    last_reward: !!python/object/apply:os.system ["touch MARKER"]
    number: 1
    total_reward: 0.0
  id: 0
"""


def test_hostile_pool_is_refused_naming_the_line(
    server: ServerThread, api: httpx.Client, memory_name: str, tmp_path: Path, caplog: Any
) -> None:
    marker = tmp_path / "executed"
    path = tmp_path / "hostile.yaml"
    path.write_text(HOSTILE.replace("MARKER", str(marker)))
    assert cli("import", str(path), "--memory", memory_name, "--url", server.url) == 1
    assert not marker.exists()
    assert "line 8" in caplog.text and "!!python/object/apply:os.system" in caplog.text
    assert api.get(f"/v1/memories/{memory_name}").status_code == 404  # nothing was created


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("a: !!python/name:os.system\n", "line 1"),
        ("a: 1\nb: !custom 3\n", "line 2"),
        ("when: 2001-12-14\n", "!!timestamp"),
        ("? !!python/tuple {a: 1}\n: 2\n", "must tag a sequence"),
        ("- [1\n", "line 2"),
    ],
)
def test_safe_loader_refuses_anything_but_tuples(text: str, where: str) -> None:
    with pytest.raises(pools.PoolFormatError, match=where):
        pools.load_pool(text, "bad.yaml")


@pytest.mark.parametrize(
    ("pool", "problem"),
    [
        ({("o", "t"): {}}, "3 strings"),
        ({("o", "t", "x"): {"action_dict": {}, "other_info": {}}}, "exactly the fields"),
        (["not", "a", "mapping"], "maps key tuples"),
    ],
)
def test_malformed_pools_name_the_record(pool: Any, problem: str) -> None:
    with pytest.raises(pools.PoolFormatError, match=problem):
        pools.pool_items(pool, "bad.yaml")


def test_records_of_the_service_export_as_a_pool() -> None:
    """Records learned by the service (no pool `extra`) get key[2] "", notes "", fresh ids."""
    learned = {
        "task": "t",
        "observation": "o",
        "visits": 2,
        "last_reward": 0.5,
        "total_reward": 1.5,
        "action_history": ["a"],
        "actions": [{"action": "b", "note": None, "q": 1.0, "reward": 0.0, "visits": 2}],
        "extra": None,
    }
    imported = {
        **learned,
        "observation": "p",
        "extra": {"key": "k", "history_notes": ["n"], "id": 0},
    }
    stream = io.StringIO()
    pools.dump_pool([imported, learned], stream)
    pool = pools.load_pool(stream.getvalue())

    def entry(history_note: str, pool_id: int) -> dict[str, Any]:
        info = {"last_reward": 0.5, "number": 2, "total_reward": 1.5}
        return {
            "action_dict": {("b", ""): {"number": 2, "qvalue": 1.0, "reward": 0.0}},
            "other_info": {"action_history": [("a", history_note)], **info},
            "id": pool_id,
        }

    assert pool == {("p", "t", "k"): entry("n", 0), ("o", "t", ""): entry("", 1)}
    assert [json.loads(line)["extra"] for line in pools.jsonl_lines([learned])] == [None]


# --- the bulk endpoint -------------------------------------------------------------------

VECTORS = {"t": [1.0, 0.0, 0.0], "o": [0.0, 1.0, 0.0], "p": [0.0, 0.0, 1.0]}


def item(observation: str, *actions: tuple[str, float], **fields: Any) -> dict[str, Any]:
    return {
        "task": "t",
        "observation": observation,
        "visits": 3,
        "last_reward": 0.25,
        "total_reward": 1.25,
        "action_history": ["x", "y"],
        "actions": [
            {"action": a, "note": f"why {a}", "q": q, "reward": q / 2, "visits": 2}
            for a, q in actions
        ],
        **fields,
    }


# A memory without capacities takes a batch as a bulk load (COPY), one with capacities item
# by item (admissions in order); both must store the same. These capacities never drop.
PATHS = {"bulk-load": {}, "item-by-item": {"item_capacity": 100, "action_capacity": 100}}


@pytest.mark.parametrize("capacities", PATHS.values(), ids=PATHS.keys())
def test_bulk_upsert_stores_as_given_and_replaces(
    api: httpx.Client, memory_name: str, capacities: dict[str, int]
) -> None:
    client_memory(api, memory_name, VECTORS, **capacities)
    url = f"/v1/memories/{memory_name}/records"
    first = api.post(
        url, json={"items": [item("o", ("a", 1.0), ("b", -1.0), extra={"k": [1, "z"]})]}
    )
    assert first.status_code == 200, first.text
    assert first.json()["created"] == 1 and first.json()["items"][0]["status"] == "created"
    record_id = first.json()["items"][0]["record_id"]
    stored = api.get(f"{url}/{record_id}").json()
    assert stored == {
        "record_id": record_id,
        **item("o", ("a", 1.0), ("b", -1.0), extra={"k": [1, "z"]}),
    }

    second = api.post(url, json={"items": [item("o", ("c", 2.0)), item("p")]}).json()
    assert [i["status"] for i in second["items"]] == ["replaced", "created"]
    replaced = api.get(f"{url}/{record_id}").json()
    assert [a["action"] for a in replaced["actions"]] == ["c"] and replaced["extra"] is None
    exemplar = api.post(
        f"/v1/memories/{memory_name}/retrieve", json={"task": "t", "observation": "o", "k": 1}
    ).json()["exemplars"][0]
    assert exemplar["record_id"] == record_id and exemplar["actions"][0]["q"] == 2.0


@pytest.mark.parametrize("capacities", PATHS.values(), ids=PATHS.keys())
def test_bulk_upsert_goes_through_copy_only_without_capacities(
    api: httpx.Client,
    memory_name: str,
    capacities: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A batch for a memory without capacities is two COPY streams, records then action
    values, whatever its size; a replaced state keeps exactly the item's actions."""
    copied: list[tuple[str, int]] = []

    async def counting_copy(
        session: Any, statement: str, types: Sequence[str], rows: Iterable[Sequence[Any]]
    ) -> None:
        listed = list(rows)
        copied.append((statement.split()[1], len(listed)))
        await copy_rows(session, statement, types, listed)

    monkeypatch.setattr(bulk, "copy_rows", counting_copy)
    client_memory(api, memory_name, VECTORS, **capacities)
    url = f"/v1/memories/{memory_name}/records"
    api.post(url, json={"items": [item("o", ("a", 1.0), ("b", 2.0))]}).raise_for_status()
    batch = [item("o", ("b", 3.0), ("c", 4.0)), item("p", ("a", 5.0)), item("t")]
    answer = api.post(url, json={"items": batch}).json()

    assert [i["status"] for i in answer["items"]] == ["replaced", "created", "created"]
    stored = {
        r["observation"]: {a["action"]: a["q"] for a in r["actions"]}
        for r in api.get(url).json()["items"]
    }
    assert stored == {"o": {"b": 3.0, "c": 4.0}, "p": {"a": 5.0}, "t": {}}
    if capacities:
        assert copied == []
    else:
        expected = [("staged_records", 1), ("staged_actions", 2)]
        assert copied == [*expected, ("staged_records", 3), ("staged_actions", 3)]

    # New records are created in the order sent: their ids (ages, for ties) follow it.
    more = {f"n{i}": [0.5, float(i), 1.0] for i in range(12)}
    api.put(f"/v1/memories/{memory_name}/embeddings", json={"embeddings": more})
    created = api.post(url, json={"items": [item(o) for o in more]}).json()["items"]
    ids = [i["record_id"] for i in created]
    assert ids == sorted(ids)


@pytest.mark.parametrize(
    "items",
    [
        [item("o", ("a", 1.0), ("a", 2.0))],
        [item("o"), item("o")],
        [item("o", extra={"k": "nul\x00"})],
        [item("o", extra=json.loads("[" * 40 + "]" * 40))],
        [item("o", record_id=1)],
        [item("o", visits=-1)],
        [item("o", visits=2**31)],
        [item("o", visits=2**31 - 1)],
        [item("unembedded")],
    ],
    ids=[
        "same-action-twice",
        "same-state-twice",
        "nul-in-extra",
        "extra-too-deep",
        "unknown-field",
        "negative-visits",
        "visits-overflow",
        "visits-at-the-column-limit",
        "missing-vector",
    ],
)
def test_bulk_upsert_refuses_bad_items_whole(
    api: httpx.Client, memory_name: str, items: list[dict[str, Any]]
) -> None:
    client_memory(api, memory_name, VECTORS)
    response = api.post(f"/v1/memories/{memory_name}/records", json={"items": [item("p"), *items]})
    assert 400 <= response.status_code < 500, response.text
    assert set(response.json()) == {"error"}
    assert api.get(f"/v1/memories/{memory_name}").json()["records"] == 0


def test_imported_counts_leave_room_for_updates(api: httpx.Client, memory_name: str) -> None:
    """The largest count an import takes still lets the state be updated (a count at the
    int4 limit would fail every later update of its state)."""
    client_memory(api, memory_name, VECTORS)
    most = item("o", ("a", 1.0), visits=MAX_IMPORTED_VISITS)
    most["actions"][0]["visits"] = MAX_IMPORTED_VISITS
    imported = api.post(f"/v1/memories/{memory_name}/records", json={"items": [most]})
    assert imported.status_code == 200, imported.text
    transition = {"step": 0, "observation": "o", "action": "a", "reward": 1.0}
    body = {
        "episode_id": "e",
        "task": "t",
        "transitions": [{**transition, "next_observation": "p", "done": True}],
    }
    updated = api.post(f"/v1/memories/{memory_name}/update", json=body)
    assert updated.status_code == 200, updated.text
    assert updated.json()["updated"][0]["visits"] == MAX_IMPORTED_VISITS + 1
