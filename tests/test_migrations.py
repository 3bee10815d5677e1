"""Migrations on a database that holds learned records: down and up again loses nothing,
after 0006 a revisited state is a heap-only update (no new entry in the HNSW graph), and
after 0007 a small memory has no HNSW index."""

from __future__ import annotations

import time
from typing import Any

import httpx
import psycopg
from alembic import command
from rememberer.config import Settings
from rememberer.storage.migrate import alembic_config

from tests.support.database import plain_url
from tests.support.http import ServerThread

BEFORE_RECORD_EMBEDDINGS = "0005_perf"
RECORD_EMBEDDINGS = "0006_record_embeddings"
PAGES = [f"page {i}" for i in range(6)]


def _learn(api: httpx.Client, memory: str, episode_id: str) -> None:
    transitions = [
        {
            "step": s,
            "observation": PAGES[s],
            "action": f"click[{s}]",
            "reward": 1.0 if s == len(PAGES) - 2 else 0.0,
            "next_observation": PAGES[s + 1],
            "done": s == len(PAGES) - 2,
        }
        for s in range(len(PAGES) - 1)
    ]
    body = {"episode_id": episode_id, "task": "find the page", "transitions": transitions}
    response = api.post(f"/v1/memories/{memory}/update", json=body)
    assert response.status_code == 200, response.text


def _exemplars(api: httpx.Client, memory: str) -> list[Any]:
    body = {"task": "find the page", "observation": "page 2", "k": 4}
    response = api.post(f"/v1/memories/{memory}/retrieve", json=body)
    assert response.status_code == 200, response.text
    return [
        (e["record_id"], round(e["score"], 6), e["actions"]) for e in response.json()["exemplars"]
    ]


def _index_table(connection: psycopg.Connection[Any], memory_id: int) -> str | None:
    row = connection.execute(
        "SELECT tablename FROM pg_indexes WHERE indexname = %s", (f"records_hnsw_{memory_id}",)
    ).fetchone()
    return None if row is None else str(row[0])


def _hot_updates(url: str) -> int:
    with psycopg.connect(plain_url(url)) as connection:
        row = connection.execute(
            "SELECT n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'records'"
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_down_and_up_again_keeps_vectors_and_index(
    own_database: tuple[str, str], settings: Settings
) -> None:
    url = own_database[1]
    vectors = {text: [1.0, float(i), 0.5] for i, text in enumerate(["find the page", *PAGES])}
    with (
        ServerThread(settings, url) as server,
        httpx.Client(base_url=server.url, timeout=60) as api,
    ):
        created = api.post("/v1/memories", json={"name": "m", "embedder": "client", "dimension": 3})
        assert created.status_code == 201, created.text
        stored = api.put("/v1/memories/m/embeddings", json={"embeddings": vectors})
        assert stored.json() == {"stored": len(vectors)}
        _learn(api, "m", "first")
        before = _exemplars(api, "m")
    assert before

    config = alembic_config(url)
    command.downgrade(config, BEFORE_RECORD_EMBEDDINGS)
    with psycopg.connect(plain_url(url)) as connection:
        row = connection.execute("SELECT id FROM memories WHERE name = 'm'").fetchone()
        assert row is not None
        memory_id = int(row[0])
        missing = connection.execute("SELECT count(*) FROM records WHERE embedding IS NULL")
        assert missing.fetchone() == (0,)
        assert _index_table(connection, memory_id) == "records"

    command.upgrade(config, RECORD_EMBEDDINGS)
    with psycopg.connect(plain_url(url)) as connection:
        counts = connection.execute(
            "SELECT (SELECT count(*) FROM records), (SELECT count(*) FROM record_embeddings)"
        ).fetchone()
        assert counts is not None and counts[0] == counts[1] == len(PAGES) - 1
        assert _index_table(connection, memory_id) == "record_embeddings"
        options = connection.execute(
            "SELECT reloptions FROM pg_class WHERE relname = 'records'"
        ).fetchone()
        assert options == (["fillfactor=85"],)

    command.upgrade(config, "head")
    with psycopg.connect(plain_url(url)) as connection:
        # Five records: scanned exactly, so 0007 dropped the index nothing searched.
        assert _index_table(connection, memory_id) is None
    command.downgrade(config, RECORD_EMBEDDINGS)
    with psycopg.connect(plain_url(url)) as connection:
        assert _index_table(connection, memory_id) == "record_embeddings"
    command.upgrade(config, "head")

    with (
        ServerThread(settings, url) as server,
        httpx.Client(base_url=server.url, timeout=60) as api,
    ):
        assert _exemplars(api, "m") == before
        hot_before = _hot_updates(url)
        # The rows written before the migration may be moved once, without the old column;
        # from then on a revisit keeps the row on its page.
        _learn(api, "m", "second")
        _learn(api, "m", "third")
        expected = hot_before + len(PAGES) - 1
        # Backends report their counts when idle for a while; wait for the report.
        deadline = time.monotonic() + 20
        while _hot_updates(url) < expected and time.monotonic() < deadline:
            time.sleep(0.5)
        assert _hot_updates(url) >= expected


def test_0007_drops_only_the_indexes_of_memories_scanned_exactly(
    own_database: tuple[str, str], settings: Settings
) -> None:
    url = own_database[1]
    with (
        ServerThread(settings, url) as server,
        httpx.Client(base_url=server.url, timeout=60) as api,
    ):
        for name in ("small", "large"):
            body = {"name": name, "embedder": "client", "dimension": 2}
            assert api.post("/v1/memories", json=body).status_code == 201
    with psycopg.connect(plain_url(url)) as connection:
        large = connection.execute("SELECT id FROM memories WHERE name = 'large'").fetchone()
        assert large is not None
        connection.execute(
            "WITH r AS (INSERT INTO records (memory_id, key, task, observation, visits, "
            "last_reward, total_reward, action_history) "
            "SELECT %s, int4send(i), 't', 'o' || i, 1, 0, 0, '[]' "
            "FROM generate_series(1, 2001) i RETURNING id, memory_id) "
            "INSERT INTO record_embeddings (record_id, memory_id, embedding) "
            "SELECT id, memory_id, '[1, 0, 0, 1]' FROM r",
            (large[0],),
        )
    config = alembic_config(url)
    command.downgrade(config, RECORD_EMBEDDINGS)  # every memory has its index again
    command.upgrade(config, "head")
    with psycopg.connect(plain_url(url)) as connection:
        ids: dict[str, int] = dict(connection.execute("SELECT name, id FROM memories").fetchall())
        assert _index_table(connection, ids["small"]) is None
        assert _index_table(connection, ids["large"]) == "record_embeddings"
