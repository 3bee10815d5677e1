"""Engine and sessions: async SQLAlchemy 2 over psycopg 3."""

from __future__ import annotations

from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import psycopg
from psycopg.rows import namedtuple_row
from sqlalchemy import TextClause
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DBAPIError, NoResultFound
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from rememberer.config import Settings


def sync_url(url: str) -> str:
    """Any PostgreSQL URL as the psycopg 3 dialect (which serves sync and async alike)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise ValueError(f"not a PostgreSQL URL: {parsed.render_as_string(hide_password=True)}")
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def create_engine(url: str, settings: Settings) -> AsyncEngine:
    engine = create_async_engine(
        sync_url(url),
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout,
        # No ping per checkout (a round trip per request): a connection that died with
        # the database fails its statement, which answers 503 and empties the pool.
    )
    register_vector_types(engine)
    return engine


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def register_vector_types(engine: AsyncEngine) -> None:
    """Send and receive vectors as numpy arrays in pgvector's binary format."""
    from pgvector.psycopg import register_vector_async
    from sqlalchemy import event

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.run_async(register_vector_async)


async def driver_connection(session: AsyncSession) -> psycopg.AsyncConnection[Any]:
    """The psycopg connection under the session: the same connection, in its transaction."""
    connection = await (await session.connection()).get_raw_connection()
    driver: psycopg.AsyncConnection[Any] = connection.driver_connection  # type: ignore[assignment]
    return driver


@dataclass
class Pending:
    """A sent statement; its row is read when first asked for (in a pipeline, after a sync)."""

    cursor: psycopg.AsyncCursor[Any]
    _row: Any = None

    async def one(self) -> Any:
        if self._row is None:
            with _as_dbapi_error():
                self._row = await self.cursor.fetchone()
            if self._row is None:
                raise NoResultFound("the statement returned no row")
        return self._row

    async def all(self) -> list[Any]:
        with _as_dbapi_error():
            return await self.cursor.fetchall()


Send = Callable[[TextClause, Mapping[str, Any]], Awaitable[Pending]]


@asynccontextmanager
async def statements(session: AsyncSession, pipelined: bool) -> AsyncIterator[Send]:
    """Sends statements on the session's connection, inside its transaction. Pipelined, each
    goes out without waiting for the answer to the one before (PostgreSQL still runs them
    in order), and the block's end waits for all answers: one round trip instead of one per
    statement. Inside a pipelined block nothing else may use the session."""
    driver = await driver_connection(session)
    dialect = session.get_bind().dialect

    async def send(clause: TextClause, params: Mapping[str, Any]) -> Pending:
        sql = _pyformat(clause, dialect)
        cursor = driver.cursor(row_factory=namedtuple_row)
        with _as_dbapi_error(sql, params):
            await cursor.execute(sql, params)
        return Pending(cursor)

    if not pipelined:
        yield send
        return
    with _as_dbapi_error():
        async with driver.pipeline():
            yield send


async def copy_rows(
    session: AsyncSession, statement: str, types: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """Rows into a table by binary COPY (`COPY t (...) FROM STDIN (FORMAT BINARY)`, columns
    of `types`), on the session's connection inside its transaction: one stream instead of
    a statement per row."""
    driver = await driver_connection(session)
    with _as_dbapi_error(statement):
        async with driver.cursor() as cursor, cursor.copy(statement) as copy:
            copy.set_types(types)
            for row in rows:
                await copy.write_row(row)


@lru_cache(maxsize=1024)
def _pyformat(clause: TextClause, dialect: Dialect) -> str:
    """The clause with psycopg's %(name)s placeholders (and % escaped) instead of :name."""
    return str(clause.compile(dialect=dialect))


@contextmanager
def _as_dbapi_error(sql: str = "", params: Mapping[str, Any] | None = None) -> Iterator[None]:
    """psycopg's errors as SQLAlchemy raises them, so that one handler maps them all."""
    try:
        yield
    except psycopg.Error as exc:
        raise DBAPIError.instance(sql, params, exc, psycopg.Error) from exc
