"""A memory's HNSW indexes, built once the memory outgrows the exact scan.

Memories up to `exact_search_max_records` are ranked by an exact scan, so an HNSW graph
would only cost them: every new state would pay its insertion into the graph, which at 1k
records is more database time than the rest of the update together (docs/BENCHMARKS.md).
So a memory has no index until a search finds it larger than that. Its indexes (one on the
whole vectors, one on the observation halves: catalog.INDEX_PARTS) are then built
`CONCURRENTLY` in the background, which never blocks the memory's writers, and searched once
PostgreSQL marks them all valid; until then the search scans exactly, as before. A memory
indexed by an older version (whole vectors only) gets its missing index the same way.

One process builds a memory's indexes at a time (an advisory lock); a build that was
interrupted leaves an invalid index, which the next request drops and builds again. A
deleted memory's indexes are dropped `CONCURRENTLY` too, after the deletion commits: a plain
DROP INDEX would lock the whole table, and wait, with every writer queued behind it, for
any index build in progress on it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from rememberer.memories.catalog import INDEX_PARTS, IndexPart, MemoryInfo, hnsw_index_ddl

logger = logging.getLogger(__name__)

# First key of the advisory lock held while a memory's index is built.
_BUILD_LOCK = 0x52454D32
# Whether all the indexes named in :indexes (text[]) are there and usable.
INDEXES_USABLE = (
    "(SELECT count(*) = cardinality(CAST(:indexes AS text[])) AND coalesce(bool_and(indisvalid), "
    "false) FROM pg_index WHERE indexrelid IN "
    "(SELECT to_regclass(name) FROM unnest(CAST(:indexes AS text[])) name))"
)
# The state of the index named :index: NULL (no index), false (being built, or a build
# failed), true (usable).
_INDEX_STATE = text("SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(:index)")
_TRY_LOCK = text("SELECT pg_try_advisory_lock(:lock, CAST(:memory_id % 2147483647 AS integer))")
_UNLOCK = text("SELECT pg_advisory_unlock(:lock, CAST(:memory_id % 2147483647 AS integer))")


def _drop_sql(index_name: str) -> TextClause:
    return text(f"DROP INDEX CONCURRENTLY IF EXISTS {index_name}")


class IndexBuilder:
    """Builds (and drops) memories' indexes in background tasks of this process."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._building: dict[int, asyncio.Task[None]] = {}

    def request(self, memory: MemoryInfo) -> None:
        """Start building the memory's indexes unless this process is already at it."""
        running = self._building.get(memory.id)
        if running is not None and not running.done():
            return
        self._start(memory, "building", self.build)

    def drop(self, memory: MemoryInfo) -> None:
        """Drop the (deleted) memory's indexes in the background, any build cancelled."""
        running = self._building.get(memory.id)
        if running is not None:
            running.cancel()
        self._start(memory, "dropping", self._drop)

    def _start(
        self, memory: MemoryInfo, doing: str, work: Callable[[MemoryInfo], Awaitable[object]]
    ) -> None:
        async def logged() -> None:
            # Nothing awaits these tasks. A failed build: searches go on scanning exactly,
            # and the next one asks again; a failed drop leaves an index over no rows.
            try:
                await work(memory)
            except Exception:
                logger.exception("%s the HNSW indexes of memory %r failed", doing, memory.name)

        self._building[memory.id] = asyncio.create_task(logged(), name=f"{doing} {memory.id}")

    @asynccontextmanager
    async def _autocommit(self) -> AsyncIterator[AsyncConnection]:
        # CREATE and DROP INDEX CONCURRENTLY cannot run inside a transaction.
        async with self._engine.connect() as connection:
            yield await connection.execution_options(isolation_level="AUTOCOMMIT")

    async def build(self, memory: MemoryInfo) -> bool:
        """Build the memory's missing indexes now; False if another process holds the build."""
        async with self._autocommit() as connection:
            keys = {"lock": _BUILD_LOCK, "memory_id": memory.id}
            if not await connection.scalar(_TRY_LOCK, keys):
                return False
            try:
                for part in INDEX_PARTS:
                    await self._build_locked(connection, memory, part)
            finally:
                await connection.execute(_UNLOCK, keys)
        return True

    @staticmethod
    async def _build_locked(
        connection: AsyncConnection, memory: MemoryInfo, part: IndexPart
    ) -> None:
        name = memory.index_name_of(part)
        valid = await connection.scalar(_INDEX_STATE, {"index": name})
        if valid:
            return
        if valid is False:  # left by an interrupted build (we hold the build lock)
            await connection.execute(_drop_sql(name))
        logger.info("building the HNSW index %s of memory %r", name, memory.name)
        await connection.execute(text(hnsw_index_ddl(memory, concurrently=True, part=part)))
        logger.info("the HNSW index %s of memory %r is ready", name, memory.name)

    async def _drop(self, memory: MemoryInfo) -> None:
        async with self._autocommit() as connection:
            for name in memory.index_names:
                await connection.execute(_drop_sql(name))

    async def aclose(self) -> None:
        for task in self._building.values():
            task.cancel()
        await asyncio.gather(*self._building.values(), return_exceptions=True)
        self._building.clear()
