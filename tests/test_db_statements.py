"""rememberer.db.statements on a real server: pipelined statements run in order inside the
session's transaction, and their errors arrive as SQLAlchemy's, as the rest of the service
expects them."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
import psycopg
import pytest
from rememberer import schemas
from rememberer.config import Settings
from rememberer.learning import sql as learning_sql
from rememberer.learning.targets import written_states
from rememberer.memories.catalog import MemoryInfo
from rememberer.storage import state_locks
from rememberer.storage.db import create_engine, create_sessionmaker, statements
from rememberer.storage.keys import record_key
from sqlalchemy import TextClause, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tests.support.database import plain_url

_CREATE = text("CREATE TEMPORARY TABLE counters (name text PRIMARY KEY, n int NOT NULL)")
_BUMP = text(
    "INSERT INTO counters VALUES (:name, 1) "
    "ON CONFLICT (name) DO UPDATE SET n = counters.n + 1 RETURNING n"
)
# A literal % must reach PostgreSQL as the modulo operator, not as a placeholder.
_READ = text("SELECT n, n % 2 AS odd FROM counters WHERE name = :name")
_INSERT = text("INSERT INTO counters VALUES (:name, :n)")


@pytest.fixture
async def session(database_url: str) -> AsyncIterator[AsyncSession]:
    engine = create_engine(database_url, Settings(database_url=None, db_pool_size=1))
    async with create_sessionmaker(engine)() as session:
        await session.execute(_CREATE)
        yield session
    await engine.dispose()


@pytest.mark.parametrize("pipelined", [True, False])
async def test_statements_run_in_order_and_answer_after_the_block(
    session: AsyncSession, pipelined: bool
) -> None:
    async with statements(session, pipelined) as send:
        bumps = [await send(_BUMP, {"name": "a"}) for _ in range(3)]
        read = await send(_READ, {"name": "a"})
    assert [(await b.one()).n for b in bumps] == [1, 2, 3]
    row = await read.one()
    assert (row.n, row.odd) == (3, 1)
    assert await read.one() is row, "a row is read once and kept"
    # The session goes on in the same transaction.
    assert (await session.execute(_READ, {"name": "a"})).one().n == 3


async def test_an_error_in_a_pipeline_is_sqlalchemys_and_the_session_recovers(
    session: AsyncSession,
) -> None:
    await session.commit()
    with pytest.raises(DBAPIError) as raised:
        async with statements(session, pipelined=True) as send:
            await send(_INSERT, {"name": "b", "n": 1})
            await send(_INSERT, {"name": "b", "n": 2})
    assert isinstance(raised.value, IntegrityError)
    assert getattr(raised.value.orig, "sqlstate", None) == "23505"
    await session.rollback()
    async with statements(session, pipelined=True) as send:
        inserted = await send(_BUMP, {"name": "b"})
    assert (await inserted.one()).n == 1, "the failed transaction left nothing behind"


async def test_state_locks_are_held_by_the_transaction_until_it_ends(
    session: AsyncSession, database_url: str
) -> None:
    keys = [record_key("task", o) for o in ("a", "b", "c", "b")]
    async with statements(session, pipelined=True) as send:
        await state_locks.lock_states(send, 7, keys)
        bumped = await send(_BUMP, {"name": "after the locks"})
    assert (await bumped.one()).n == 1
    # Single-bigint advisory locks are the ones with objsubid 1 (two int4 keys: 2).
    held = (
        "SELECT (classid::bigint << 32) | objid::bigint FROM pg_locks "
        "WHERE locktype = 'advisory' AND objsubid = 1 AND granted "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    )
    expected = {state_locks.lock_key(7, key) for key in keys}
    with psycopg.connect(plain_url(database_url), autocommit=True) as other:
        assert {row[0] for row in other.execute(held)} == expected
        await session.commit()
        assert other.execute(held).fetchall() == []
        async with statements(session, pipelined=True) as send:
            await state_locks.lock_states(send, 7, keys[:1])  # one state: nothing to order
        assert other.execute(held).fetchall() == []
        await session.commit()


def test_written_states_are_the_due_pairs_of_the_new_steps() -> None:
    def transition(step: int, done: bool = False) -> schemas.Transition:
        return schemas.Transition(
            step=step,
            observation=f"o{step}",
            action="a",
            reward=0.0,
            next_observation=f"o{step + 1}",
            done=done,
        )

    stored = [transition(0), transition(1)]
    # Step 1 is replayed; with n = 2, step 2 updates pair 1, and step 3 ends the episode.
    new = [transition(1), transition(2), transition(3, done=True)]
    written = written_states("task", stored, new, n_step=2)
    assert written == {record_key("task", f"o{t}") for t in (1, 2, 3)}
    assert written_states("task", stored, [transition(1)], n_step=2) == set()


def test_a_serialization_failure_in_the_pipeline_retries_the_whole_update(
    api: httpx.Client,
    memory_name: str,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The first attempt's pipeline fails as PostgreSQL fails one of two colliding
    transactions (40001); the update runs again from the start and applies once."""
    with psycopg.connect(plain_url(database_url), autocommit=True) as connection:
        connection.execute(
            "CREATE OR REPLACE FUNCTION test_collide() RETURNS void LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'collided' USING ERRCODE = '40001'; END $$"
        )
    real = learning_sql.touch_record_sql
    failures = iter([text("SELECT test_collide()")])

    def failing_once(memory: MemoryInfo) -> TextClause:
        failure = next(failures, None)
        return real(memory) if failure is None else failure

    monkeypatch.setattr(learning_sql, "touch_record_sql", failing_once)
    assert api.post("/v1/memories", json={"name": memory_name}).status_code == 201
    step = {
        "step": 0,
        "observation": "page",
        "action": "click",
        "reward": 1.0,
        "next_observation": "end",
        "done": True,
    }
    body = {"episode_id": "e", "task": "task", "transitions": [step]}
    with caplog.at_level(logging.INFO, logger="rememberer.storage.transactions"):
        response = api.post(f"/v1/memories/{memory_name}/update", json=body)
    assert response.status_code == 200, response.text
    assert [(u["q"], u["visits"]) for u in response.json()["updated"]] == [(1.0, 1)]
    assert any("retried" in record.getMessage() for record in caplog.records)
