"""rememberer.db.statements on a real server: pipelined statements run in order inside the
session's transaction, and their errors arrive as SQLAlchemy's, as the rest of the service
expects them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from rememberer.config import Settings
from rememberer.db import create_engine, create_sessionmaker, statements
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

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
