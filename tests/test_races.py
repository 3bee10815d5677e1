"""A request that loses a race, with a memory's deletion or for the last pooled connection,
gets the contract's error body (404, 503 with Retry-After), never a 500 or a misleading 503."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import psycopg
from rememberer.config import Settings

from tests.support.database import plain_url, wait_for_a_lock_wait
from tests.support.http import ServerThread, assert_error
from tests.support.memories import client_memory


def test_a_write_racing_the_memory_deletion_and_a_request_without_a_connection(
    database_url: str,
) -> None:
    """The memory's deletion (uncommitted) holds its row: a PUT of embeddings that needs it
    waits, holding the pool's only connection. Meanwhile another request finds no free
    connection (503); once the deletion commits, the PUT's memory is gone (404)."""
    settings = Settings(database_url=None, db_pool_size=1, db_max_overflow=0, db_pool_timeout=0.5)
    name = f"m-{uuid.uuid4().hex[:16]}"
    with (
        ServerThread(settings, database_url) as server,
        httpx.Client(base_url=server.url, timeout=30) as api,
        psycopg.connect(plain_url(database_url)) as deleting,
        psycopg.connect(plain_url(database_url), autocommit=True) as watching,
        ThreadPoolExecutor(1) as background,
    ):
        client_memory(api, name)
        deleting.execute("DELETE FROM memories WHERE name = %s", (name,))
        vectors = {"embeddings": {"new text": [1.0, 0, 0, 0]}}
        put = background.submit(api.put, f"/v1/memories/{name}/embeddings", json=vectors)
        wait_for_a_lock_wait(watching)
        busy = api.get(f"/v1/memories/{name}/records")
        assert_error(busy, 503, "unavailable")
        assert busy.headers["retry-after"] == "1"
        deleting.commit()
        assert_error(put.result(timeout=30), 404, "memory_not_found")
        assert_error(api.get(f"/v1/memories/{name}"), 404, "memory_not_found")
