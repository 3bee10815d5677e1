"""Migrations on a database that holds learned records: down and up again loses nothing, and
after 0006 a revisited state is a heap-only update (no new entry in the HNSW graph)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import psycopg
from alembic import command
from rememberer.config import Settings
from rememberer.migrate import alembic_config

from tests.conftest import ServerThread, plain_url

BEFORE_RECORD_EMBEDDINGS = "0005_perf"
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


def _index_table(connection: psycopg.Connection[Any], memory_id: int) -> str:
    row = connection.execute(
        "SELECT tablename FROM pg_indexes WHERE indexname = %s", (f"records_hnsw_{memory_id}",)
    ).fetchone()
    assert row is not None, "the memory's HNSW index is missing"
    return str(row[0])


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

    command.upgrade(config, "head")
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
