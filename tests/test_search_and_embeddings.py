"""Retrieval through the memory's HNSW index agrees with the exact scan; server-side
embeddings come from the bundled all-MiniLM-L6-v2 and are cached in the database."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Mapping

import httpx
import numpy as np
import psycopg
import pytest
from rememberer.config import Settings
from rememberer.memories.catalog import MemoryInfo, find_memory
from rememberer.search.indexing import IndexBuilder
from rememberer.search.query import SearchQuery, search_binds
from rememberer.search.retrieval import (
    NEAR_TASK_CANDIDATES,
    NEAR_TASKS,
    OWN_TASK_EXACT_MAX,
    Scans,
    SearchParams,
    candidates_sql,
    rescored_candidates,
    uses_index,
)
from rememberer.storage.db import create_engine
from sqlalchemy import text as sql_text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.support.database import index_valid, plain_url
from tests.support.http import ServerThread
from tests.support.memories import client_memory, put_records, step

DIM = 8
# Deleted nearest neighbours: more than the ef_search of `hnsw_api` (200).
DEAD = 250
FIRST_QUERY = {"task": "task", "observation": "obs 0"}


@pytest.fixture(scope="module")
def hnsw_api(database_url: str) -> Iterator[httpx.Client]:
    """A second service on the same database that never scans exactly."""
    settings = Settings(exact_search_max_records=0, hnsw_ef_search=200)
    with (
        ServerThread(settings, database_url) as server,
        httpx.Client(base_url=server.url, timeout=60) as client,
    ):
        yield client


def index_scans(database_url: str, index: str) -> int:
    with psycopg.connect(plain_url(database_url)) as connection:
        connection.execute("SELECT pg_stat_force_next_flush()")
        row = connection.execute(
            "SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = %s", (index,)
        ).fetchone()
    return int(row[0]) if row else -1


def test_hnsw_path_uses_the_index_and_matches_exact(
    api: httpx.Client, hnsw_api: httpx.Client, memory_name: str, database_url: str
) -> None:
    rng = np.random.default_rng(7)
    texts = {"task": rng.normal(size=DIM).tolist()}
    texts |= {f"obs {i}": rng.normal(size=DIM).tolist() for i in range(300)}
    client_memory(api, memory_name, texts)
    transitions = [
        {
            "step": i,
            "observation": f"obs {i}",
            "action": f"act {i % 3}",
            "reward": float(i % 2),
            "next_observation": f"obs {i + 1}",
            "done": i == 298,
        }
        for i in range(299)
    ]
    response = api.post(
        f"/v1/memories/{memory_name}/update",
        json={"episode_id": "long", "task": "task", "transitions": transitions},
    )
    assert response.status_code == 200, response.text
    memory = _memory(database_url, memory_name)
    index = memory.index_name_of("whole")
    # The service that scans up to 2,000 records exactly never built a graph for this one.
    assert index_valid(database_url, index) is None
    # The other finds it past its exact scan: it answers by scanning, and builds the index.
    wait_for_index(hnsw_api, database_url, memory_name)
    observation_index = memory.index_name_of("observation")
    before = index_scans(database_url, index), index_scans(database_url, observation_index)
    # λ = 0 asks the observation index alone, the others all scans. (Not λ = 1, where all
    # records of the one task tie, past the candidates any search rescores.)
    asked = [{"task": "task", "observation": f"obs {i}"} for i in range(0, 300, 37)]
    _assert_index_matches_exact(api, hnsw_api, memory_name, asked, (0.0, 0.3, 0.9))
    # Backends report index use when idle for a while; wait for the report.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (
        index_scans(database_url, index) < before[0] + 18
        or index_scans(database_url, observation_index) < before[1] + 18
    ):
        time.sleep(0.5)
    assert index_scans(database_url, index) >= before[0] + 18, "the whole index was not used"
    assert index_scans(database_url, observation_index) >= before[1] + 18, "nor the other"


def wait_for_index(
    hnsw_api: httpx.Client,
    database_url: str,
    memory_name: str,
    first: Mapping[str, object] = FIRST_QUERY,
) -> None:
    """A retrieve (`first`) through the service that never scans exactly starts the build
    of the memory's indexes; waits until both are usable."""
    indexes = _memory(database_url, memory_name).index_names
    answer = hnsw_api.post(f"/v1/memories/{memory_name}/retrieve", json={**first, "k": 5})
    assert answer.status_code == 200, answer.text
    deadline = time.monotonic() + 60
    while not all(index_valid(database_url, i) for i in indexes) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert all(index_valid(database_url, i) for i in indexes), "the indexes were not built"


def test_hnsw_search_finds_k_records_past_deleted_neighbours(
    api: httpx.Client, hnsw_api: httpx.Client, memory_name: str, database_url: str
) -> None:
    """Deleted records stay in the graph until VACUUM, and the scan skips them after the
    index has proposed its ef_search candidates: with more dead neighbours than that, the
    search must go on (pgvector's iterative scan) to answer k records, the exact ones."""
    rng = np.random.default_rng(11)
    texts = {"task": rng.normal(size=DIM).tolist()}
    texts |= {f"obs {i}": rng.normal(size=DIM).tolist() for i in range(600)}
    client_memory(api, memory_name, texts)
    items = [{"task": "task", "observation": f"obs {i}"} for i in range(600)]
    put_records(api, memory_name, items)
    wait_for_index(hnsw_api, database_url, memory_name)
    records = api.get(f"/v1/memories/{memory_name}/records", params={"limit": 1000}).json()
    ids = {r["observation"]: r["record_id"] for r in records["items"]}
    # Every record has the query's task, so the exact order is the observations' cosine.
    observations = [f"obs {i}" for i in range(600)]
    vectors = np.array([texts[o] for o in observations])
    cosines = vectors @ vectors[0] / np.linalg.norm(vectors, axis=1)
    nearest = [ids[observations[i]] for i in np.argsort(-cosines)]
    query = {"task": "task", "observation": "obs 0", "k": 5}
    with psycopg.connect(plain_url(database_url), autocommit=True) as connection:
        # No VACUUM may clear the dead entries during the test.
        connection.execute("ALTER TABLE record_embeddings SET (autovacuum_enabled = off)")
        try:
            for record_id in nearest[:DEAD]:
                deleted = api.delete(f"/v1/memories/{memory_name}/records/{record_id}")
                assert deleted.status_code == 204
            url = f"/v1/memories/{memory_name}/retrieve"
            approximate = hnsw_api.post(url, json=query).json()["exemplars"]
            exact = api.post(url, json=query).json()["exemplars"]
        finally:
            connection.execute("ALTER TABLE record_embeddings RESET (autovacuum_enabled)")
    assert [e["record_id"] for e in exact] == nearest[DEAD : DEAD + 5]
    assert [e["record_id"] for e in approximate] == [e["record_id"] for e in exact]


def test_hnsw_path_matches_exact_for_a_task_past_its_exact_scan(
    api: httpx.Client, hnsw_api: httpx.Client, memory_name: str, database_url: str
) -> None:
    """A task with more records than the search ranks exactly is searched through the
    observation index with the task as a filter: the answers are still the exact ones."""
    rng = np.random.default_rng(13)
    sizes = {"big": OWN_TASK_EXACT_MAX + 50, "small": 200}
    texts = {task: rng.normal(size=DIM).tolist() for task in sizes}
    items = [
        {"task": task, "observation": f"{task} obs {i}"}
        for task, size in sizes.items()
        for i in range(size)
    ]
    texts |= {item["observation"]: rng.normal(size=DIM).tolist() for item in items}
    client_memory(api, memory_name, texts)
    put_records(api, memory_name, items)
    wait_for_index(hnsw_api, database_url, memory_name, items[0])
    _assert_index_matches_exact(api, hnsw_api, memory_name, items[::97], (0.3, 0.9))
    # The own-task search alone: exact for "small", by the filtered index for "big".
    for task, observation in (("small", "big obs 5"), ("big", "small obs 5")):
        found = asyncio.run(
            _proposed(database_url, memory_name, texts, (task, observation), OWN_TASK_ONLY)
        )
        own = [item["observation"] for item in items if item["task"] == task]
        vectors = np.array([texts[o] for o in own])
        cosines = vectors @ texts[observation] / np.linalg.norm(vectors, axis=1)
        nearest = {own[i] for i in np.argsort(-cosines)[: len(found)]}
        assert len(found) == rescored_candidates(5)
        assert len(nearest & set(found)) >= 0.95 * len(found), task


def test_a_task_sharing_its_hash_with_another_changes_no_answer(
    api: httpx.Client, hnsw_api: httpx.Client, memory_name: str, database_url: str
) -> None:
    """The search finds the query's own task's records by the task's hash: another task of
    the same hash only adds candidates, scored like any, and the task filter stays exact."""
    first, second = _tasks_of_one_hash(database_url)
    rng = np.random.default_rng(17)
    tasks = (first, second)
    items = [{"task": t, "observation": f"{t} obs {i}"} for t in tasks for i in range(150)]
    texts = {t: rng.normal(size=DIM).tolist() for t in tasks}
    texts |= {item["observation"]: rng.normal(size=DIM).tolist() for item in items}
    client_memory(api, memory_name, texts)
    put_records(api, memory_name, items)
    wait_for_index(hnsw_api, database_url, memory_name, items[0])
    _assert_index_matches_exact(api, hnsw_api, memory_name, items[::23], (0.5, 0.9))
    body = {"task": first, "observation": f"{second} obs 3", "k": 10, "task_filter": "same"}
    url = f"/v1/memories/{memory_name}/retrieve"
    answer = hnsw_api.post(url, json=body).json()["exemplars"]
    assert len(answer) == 10
    assert {e["task"] for e in answer} == {first}


def _near_tasks_memory(
    api: httpx.Client, hnsw_api: httpx.Client, memory_name: str, database_url: str
) -> tuple[dict[str, list[float]], list[dict[str, str]], np.ndarray]:
    """Seven tasks of 60 records: three near a direction, three far from it, and "own"
    on it, with four more records whose observations have the vector of "own obs 0";
    returns the texts' vectors, the records and that direction."""
    rng = np.random.default_rng(23)
    direction = rng.normal(size=DIM)
    direction /= np.linalg.norm(direction)
    tasks = {"own": direction.tolist()}
    for i in range(3):
        tasks[f"near {i}"] = (direction + 0.3 * rng.normal(size=DIM) / np.sqrt(DIM)).tolist()
        tasks[f"far {i}"] = rng.normal(size=DIM).tolist()
    items = [{"task": t, "observation": f"{t} obs {i}"} for t in tasks for i in range(60)]
    texts = tasks | {item["observation"]: rng.normal(size=DIM).tolist() for item in items}
    for i in range(1, 5):
        texts[f"own copy {i}"] = texts["own obs 0"]
        items.append({"task": "own", "observation": f"own copy {i}"})
    client_memory(api, memory_name, texts)
    put_records(api, memory_name, items)
    wait_for_index(hnsw_api, database_url, memory_name, items[0])
    return texts, items, direction


def test_a_memory_knows_the_tasks_every_writer_adds(
    api: httpx.Client, memory_name: str, database_url: str
) -> None:
    """memory_tasks holds one row per task, whether learning or the bulk import added its
    records; a revisit adds none."""
    rng = np.random.default_rng(29)
    names = ["a", "b", "c", "obs 0", "obs 1", "obs 2"]
    client_memory(api, memory_name, {n: rng.normal(size=DIM).tolist() for n in names})
    episode = [step(0, "obs 0", "go", 0.0, "obs 1"), step(1, "obs 1", "go", 1.0, "obs 2", True)]
    url = f"/v1/memories/{memory_name}/update"
    for task, episode_id in (("a", "e1"), ("b", "e2"), ("a", "e3")):
        body = {"episode_id": episode_id, "task": task, "transitions": episode}
        assert api.post(url, json=body).status_code == 200
    put_records(api, memory_name, [{"task": "c", "observation": "obs 2"}])
    with psycopg.connect(plain_url(database_url)) as connection:
        rows = connection.execute(
            "SELECT t.task_hash, t.embedding::text FROM memory_tasks t "
            "JOIN memories m ON m.id = t.memory_id WHERE m.name = %s ORDER BY 1",
            (memory_name,),
        ).fetchall()
        hashes = connection.execute(
            "SELECT hashtext(t) FROM unnest(ARRAY['a', 'b', 'c']) t ORDER BY 1"
        ).fetchall()
    assert [row[0] for row in rows] == [h[0] for h in hashes]
    assert all(len(row[1].split(",")) == DIM for row in rows)


def test_the_tasks_nearest_the_query_propose_their_records(
    api: httpx.Client, hnsw_api: httpx.Client, memory_name: str, database_url: str
) -> None:
    """The near-task search alone proposes, for a new task, the query's best records and
    each near task's record nearest the query's observation."""
    texts, items, direction = _near_tasks_memory(api, hnsw_api, memory_name, database_url)
    texts |= {"new task": direction.tolist(), "new obs": np.ones(DIM).tolist()}
    near_only = Scans(whole=False, observation=False, own_task=False, near_tasks=True)
    found = set(
        asyncio.run(_proposed(database_url, memory_name, texts, ("new task", "new obs"), near_only))
    )
    assert 0 < len(found) <= NEAR_TASKS * NEAR_TASK_CANDIDATES
    # "own" is a task like the others here: the query's task is new.
    assert set(_exact_best(texts, items, ("new task", "new obs"), 0.9, 5)) <= found
    tasks = sorted({item["task"] for item in items})
    cosines = [np.dot(texts[t], direction) / np.linalg.norm(texts[t]) for t in tasks]
    for task in [tasks[i] for i in np.argsort(cosines)[::-1][:NEAR_TASKS]]:
        own = [item for item in items if item["task"] == task]
        assert _exact_best(texts, own, ("new task", "new obs"), 0.0, 1)[0] in found, task


def _exact_best(
    vectors: Mapping[str, list[float]],
    items: list[dict[str, str]],
    query: tuple[str, str],
    lambda_: float,
    k: int,
) -> list[str]:
    """The observations of the k records of `items` with the best score for the query."""

    def unit(name: str) -> np.ndarray:
        vector = np.asarray(vectors[name], dtype=np.float64)
        return vector / np.linalg.norm(vector)

    task, observation = unit(query[0]), unit(query[1])
    scores = [
        lambda_ * float(unit(item["task"]) @ task)
        + (1 - lambda_) * float(unit(item["observation"]) @ observation)
        for item in items
    ]
    return [items[i]["observation"] for i in np.argsort(scores)[::-1][:k]]


def test_near_tasks_are_not_searched_when_they_cannot_beat_the_kth(
    api: httpx.Client, hnsw_api: httpx.Client, memory_name: str, database_url: str
) -> None:
    """When the own task already holds k records of the query's very observation, no other
    task can score as high at λ = 0.9, and the near tasks' walks do not run."""
    texts, _, _ = _near_tasks_memory(api, hnsw_api, memory_name, database_url)
    scans = Scans(whole=False, observation=False, own_task=True, near_tasks=True)
    found = asyncio.run(_proposed(database_url, memory_name, texts, ("own", "own obs 0"), scans))
    assert len(found) == rescored_candidates(5)
    assert all(o.startswith("own ") for o in found)


OWN_TASK_ONLY = Scans(whole=False, observation=False, own_task=True)


async def _proposed(
    database_url: str,
    memory_name: str,
    vectors: Mapping[str, list[float]],
    query_texts: tuple[str, str],
    scans: Scans,
) -> list[str]:
    """The observations of the candidates that `scans` propose for the query (task,
    observation) at λ = 0.9, in a transaction prepared as the service prepares one."""
    task, obs = query_texts
    engine = create_engine(database_url, Settings())
    unit = {text: np.asarray(vectors[text]) / np.linalg.norm(vectors[text]) for text in (task, obs)}
    query = SearchQuery(unit[task], unit[obs], k=5, lambda_=0.9, task=task)
    candidates = rescored_candidates(query.k)
    try:
        async with AsyncSession(engine) as session, session.begin():
            memory = await find_memory(session, memory_name)
            params = SearchParams(0, 200, IndexBuilder(engine))
            assert await uses_index(session, memory, params, candidates, query.lambda_)
            proposed = candidates_sql(memory, True, scans=scans)
            found = f"SELECT r.observation FROM ({proposed}) c JOIN records r ON r.id = c.id"
            rows = await session.execute(sql_text(found), search_binds(query, candidates))
            return [row.observation for row in rows]
    finally:
        await engine.dispose()


def _tasks_of_one_hash(database_url: str) -> tuple[str, str]:
    """Two task texts whose hashtext is equal (a 32-bit hash: among 200,000 texts, a few)."""
    with psycopg.connect(plain_url(database_url)) as connection:
        row = connection.execute(
            "SELECT min(t), max(t) FROM (SELECT 'task ' || i AS t "
            "FROM generate_series(1, 200000) i) texts "
            "GROUP BY hashtext(t) HAVING count(*) > 1 ORDER BY 1 LIMIT 1"
        ).fetchone()
    assert row is not None
    return str(row[0]), str(row[1])


def test_ties_go_to_the_most_visited_then_the_oldest_record(
    api: httpx.Client, hnsw_api: httpx.Client, memory_name: str, database_url: str
) -> None:
    """Records of equal score rank by their actions' total visits, then the older first;
    only the records tied at the k-th place are compared by visits, on both paths (the
    exact scan and the index), and a minimum score that leaves fewer than k keeps them all."""
    rng = np.random.default_rng(5)
    twin = rng.normal(size=DIM).tolist()
    texts = {"task": rng.normal(size=DIM).tolist()}
    texts |= {f"twin {i}": twin for i in range(4)}
    texts |= {f"far {i}": rng.normal(size=DIM).tolist() for i in range(40)}
    client_memory(api, memory_name, texts)
    visits = {"twin 0": 1, "twin 1": 5, "twin 2": 3, "twin 3": 5}
    for observation, count in visits.items():  # one call each: ids in this order
        action = {"action": "go", "visits": count}
        put_records(
            api, memory_name, [{"task": "task", "observation": observation, "actions": [action]}]
        )
    far = [{"task": "task", "observation": f"far {i}"} for i in range(40)]
    put_records(api, memory_name, far)
    asked = {"task": "task", "observation": "twin 0", "lambda": 0.5}
    wait_for_index(hnsw_api, database_url, memory_name, asked)
    url = f"/v1/memories/{memory_name}/retrieve"
    for service in (api, hnsw_api):
        best = service.post(url, json={**asked, "k": 4}).json()["exemplars"]
        assert [e["observation"] for e in best] == ["twin 1", "twin 3", "twin 2", "twin 0"]
        top = service.post(url, json={**asked, "k": 2}).json()["exemplars"]
        assert [e["observation"] for e in top] == ["twin 1", "twin 3"]
        at_least = {**asked, "k": 10, "min_score": best[-1]["score"] - 1e-6}
        kept = service.post(url, json=at_least).json()["exemplars"]
        assert sorted(e["observation"] for e in kept) == sorted(visits)


def _assert_index_matches_exact(
    api: httpx.Client,
    hnsw_api: httpx.Client,
    memory_name: str,
    asked: list[dict[str, str]],
    lambdas: tuple[float, ...],
) -> None:
    url = f"/v1/memories/{memory_name}/retrieve"
    for lambda_ in lambdas:
        for item in asked:
            body = {**item, "k": 5, "lambda": lambda_}
            approximate = hnsw_api.post(url, json=body).json()["exemplars"]
            exact = api.post(url, json=body).json()["exemplars"]
            assert [e["record_id"] for e in approximate] == [e["record_id"] for e in exact]


def _memory(database_url: str, name: str) -> MemoryInfo:
    """The memory as the service knows it (its id, its indexes' names)."""

    async def found() -> MemoryInfo:
        engine = create_engine(database_url, Settings())
        try:
            async with AsyncSession(engine) as session:
                return await find_memory(session, name)
        finally:
            await engine.dispose()

    return asyncio.run(found())


def test_server_side_embeddings_rank_by_meaning_and_are_cached(
    api: httpx.Client, memory_name: str, database_url: str
) -> None:
    assert api.post("/v1/memories", json={"name": memory_name}).status_code == 201
    task = "buy a pair of red running shoes under 50 dollars"
    pages = {
        "shoes": "search results: red running shoes, size 10, $45",
        "kettle": "product page: stainless steel electric kettle 1.7 litres",
    }
    for episode, page in pages.items():
        step = {
            "step": 0,
            "observation": page,
            "action": f"click[{episode}]",
            "reward": 1.0,
            "next_observation": "done page",
            "done": True,
        }
        body = {"episode_id": episode, "task": task, "transitions": [step]}
        assert api.post(f"/v1/memories/{memory_name}/update", json=body).status_code == 200
    query = {"task": task, "observation": "results for red sneakers for jogging", "k": 2}
    exemplars = api.post(f"/v1/memories/{memory_name}/retrieve", json=query).json()["exemplars"]
    assert [e["actions"][0]["action"] for e in exemplars] == ["click[shoes]", "click[kettle]"]
    assert exemplars[0]["task_score"] == pytest.approx(1.0, abs=1e-4)
    assert 0.0 < exemplars[0]["observation_score"] < 1.0
    with psycopg.connect(plain_url(database_url)) as connection:
        cached = connection.execute(
            "SELECT count(*) FROM embedding_cache WHERE embedder = 'all-MiniLM-L6-v2'"
        ).fetchone()
    assert cached is not None and cached[0] >= 4
