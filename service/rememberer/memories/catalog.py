"""Memories: create (with the memory's own HNSW index), look up, list, count, delete."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, fields
from typing import Any, Literal

from sqlalchemy import delete, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from rememberer import schemas
from rememberer.errors import MemoryExists, MemoryNotFound, Unprocessable
from rememberer.storage.models import MemoryRow
from rememberer.storage.pagination import BAD_CURSOR, decode_cursor, encode_cursor

MODEL_DIMENSIONS = {schemas.DEFAULT_EMBEDDER: 384}


# What an HNSW index of a memory is built on: the whole [task; observation] vector, which
# serves every λ but least well the lopsided ones, or the observation half alone, which
# serves the queries that weigh the observation most (retrieval.py).
IndexPart = Literal["whole", "observation"]
INDEX_PARTS: tuple[IndexPart, ...] = ("whole", "observation")


@dataclass(frozen=True)
class IndexShape:
    """How a memory's HNSW indexes are built. Records keep full-precision vectors, and every
    candidate an index returns is rescored from them, so the indexes only have to find the
    right candidates; the values below were chosen by measurement (docs/PERFORMANCE.md)."""

    precision: Literal["vector", "halfvec"] = "halfvec"
    m: int = 12
    ef_construction: int = 256

    def expression(self, dimension: int, part: IndexPart = "whole") -> str:
        if part == "observation":
            half = f"subvector(embedding, {dimension + 1}, {dimension})"
            return f"({half}::{self.precision}({dimension}))"
        return f"(embedding::{self.precision}({2 * dimension}))"

    def order_by(self, dimension: int, query: str, part: IndexPart = "whole") -> str:
        width = dimension if part == "observation" else 2 * dimension
        cast = f"CAST({query} AS {self.precision}({width}))"
        return f"{self.expression(dimension, part)} <#> {cast}"


INDEX_SHAPE = IndexShape()


@dataclass(frozen=True)
class MemoryInfo:
    """A memory's identity and learning settings, as the update and retrieval code needs them."""

    id: int
    name: str
    gamma: float
    n_step: int | None
    update_mode: schemas.UpdateMode
    learning_rate: float
    lambda_: float
    action_history_mode: schemas.ActionHistoryMode
    item_capacity: int | None
    action_capacity: int | None
    embedder: schemas.EmbedderName
    dimension: int
    double_q: bool = False
    observation_similarity: schemas.ObservationSimilarity = "embedding"
    # The least score a nearest record needs to serve as a bootstrap (None: any).
    bootstrap_min_score: float | None = None

    @classmethod
    def from_row(cls, row: MemoryRow) -> MemoryInfo:
        return cls(**{field.name: getattr(row, field.name) for field in fields(cls)})

    @property
    def index_name(self) -> str:
        """The name of the memory's index on whole vectors."""
        return self.index_name_of("whole")

    @property
    def index_names(self) -> tuple[str, ...]:
        return tuple(self.index_name_of(part) for part in INDEX_PARTS)

    def index_name_of(self, part: IndexPart) -> str:
        return f"records_hnsw_{self.id}" if part == "whole" else f"records_hnsw_obs_{self.id}"

    def index_order(self, query: str, part: IndexPart = "whole") -> str:
        """ORDER BY key that the memory's index on `part` serves, for the bind `query`."""
        return INDEX_SHAPE.order_by(self.dimension, query, part)


def hnsw_index_ddl(
    memory: MemoryInfo,
    shape: IndexShape | None = None,
    concurrently: bool = False,
    part: IndexPart = "whole",
) -> str:
    """One of the memory's own HNSW indexes: partial, so that its graph holds only this
    memory's records and a nearest-neighbour search never loses results to a memory_id
    filter."""
    shape = shape or INDEX_SHAPE
    how = "CONCURRENTLY IF NOT EXISTS " if concurrently else ""
    return (
        f"CREATE INDEX {how}{memory.index_name_of(part)} ON record_embeddings "
        f"USING hnsw ({shape.expression(memory.dimension, part)} {shape.precision}_ip_ops) "
        f"WITH (m = {int(shape.m)}, ef_construction = {int(shape.ef_construction)}) "
        f"WHERE memory_id = {int(memory.id)}"
    )


def _settings_of(row: MemoryRow) -> dict[str, Any]:
    # The wire model's fields are all columns of the row, under the same names.
    return {name: getattr(row, name) for name in schemas.Memory.model_fields}


def _memory_out(row: MemoryRow) -> schemas.Memory:
    return schemas.Memory(**_settings_of(row))


def _memory_detail(row: MemoryRow, counts: dict[str, int]) -> schemas.MemoryDetail:
    return schemas.MemoryDetail(**{**_settings_of(row), **counts})


async def create_memory(session: AsyncSession, body: schemas.MemoryCreate) -> schemas.MemoryDetail:
    expected = MODEL_DIMENSIONS.get(body.embedder)
    if expected is not None and body.dimension != expected:
        raise Unprocessable(
            f"embedder {body.embedder!r} makes {expected}-dimensional vectors, "
            f"not {body.dimension}; omit dimension or use embedder 'client'"
        )
    row = MemoryRow(**body.model_dump())
    session.add(row)
    try:
        await session.flush()
    except IntegrityError as exc:
        await session.rollback()
        raise MemoryExists(body.name) from exc
    # No HNSW index yet: a memory gets one once it outgrows the exact scan (indexing.py).
    await session.commit()
    await session.refresh(row)
    return _memory_detail(row, {"records": 0, "actions": 0, "episodes_open": 0})


async def find_memory_row(session: AsyncSession, name: str) -> MemoryRow:
    row = await session.scalar(select(MemoryRow).where(MemoryRow.name == name))
    if row is None:
        raise MemoryNotFound(name)
    return row


# Every request looks its memory up: a Core statement costs a fraction of an ORM load.
# `lambda` is the column, `lambda_` the field (a Python keyword otherwise).
_MEMORY_INFO = text(
    "SELECT "
    + ", ".join(
        '"lambda" AS lambda_' if field.name == "lambda_" else field.name
        for field in fields(MemoryInfo)
    )
    + " FROM memories WHERE name = :name"
)


async def find_memory(session: AsyncSession, name: str) -> MemoryInfo:
    row = (await session.execute(_MEMORY_INFO, {"name": name})).one_or_none()
    if row is None:
        raise MemoryNotFound(name)
    return MemoryInfo(**row._mapping)


# A bound on the cache, far above the memories one service holds.
MEMORY_CACHE_ENTRIES = 10_000

_COUNTS = text(
    """
    SELECT
      (SELECT count(*) FROM records WHERE memory_id = :memory_id) AS records,
      (SELECT count(*) FROM action_values a JOIN records r ON r.id = a.record_id
        WHERE r.memory_id = :memory_id) AS actions,
      (SELECT count(*) FROM episodes WHERE memory_id = :memory_id AND NOT done) AS episodes_open
    """
)


class MemoryCache:
    """Memories by name, kept for `seconds`: every request names its memory, and a memory's
    settings never change once created. A memory deleted through another service process
    can still be found here until its entry expires; one deleted here is forgotten at once."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._entries: dict[str, tuple[float, MemoryInfo]] = {}

    async def find(self, session: AsyncSession, name: str) -> MemoryInfo:
        now = self._clock()
        entry = self._entries.get(name)
        if entry is not None and entry[0] > now:
            return entry[1]
        memory = await find_memory(session, name)
        if self.seconds > 0:
            if len(self._entries) >= MEMORY_CACHE_ENTRIES:
                self._entries.clear()
            self._entries[name] = (now + self.seconds, memory)
        return memory

    def forget(self, name: str) -> None:
        self._entries.pop(name, None)


async def describe_memory(session: AsyncSession, name: str) -> schemas.MemoryDetail:
    row = await find_memory_row(session, name)
    counts = (await session.execute(_COUNTS, {"memory_id": row.id})).one()._asdict()
    return _memory_detail(row, counts)


async def list_memories(
    session: AsyncSession, limit: int, cursor: str | None, only: Collection[str] | None = None
) -> schemas.Page[schemas.Memory]:
    """A page of memories by name; `only`: just these names (a scoped key's memories)."""
    query = select(MemoryRow).order_by(MemoryRow.name).limit(limit + 1)
    if only is not None:
        query = query.where(MemoryRow.name.in_(list(only)))
    if cursor is not None:
        after = decode_cursor(cursor)
        if not isinstance(after, str):
            raise Unprocessable(BAD_CURSOR)
        query = query.where(MemoryRow.name > after)
    rows = list(await session.scalars(query))
    next_cursor = encode_cursor(rows[limit - 1].name) if len(rows) > limit else None
    return schemas.Page(items=[_memory_out(row) for row in rows[:limit]], next_cursor=next_cursor)


async def delete_memory(session: AsyncSession, name: str) -> MemoryInfo:
    """Delete the memory and all it holds; its HNSW index is the caller's to drop
    (IndexBuilder.drop), outside this transaction."""
    info = MemoryInfo.from_row(await find_memory_row(session, name))
    await session.execute(delete(MemoryRow).where(MemoryRow.id == info.id))
    await session.commit()
    return info


async def count_records_up_to(session: AsyncSession, memory: MemoryInfo, cap: int) -> int:
    """The memory's record count, counted no further than `cap` (cheap on any size)."""
    inner = (
        select(text("1"))
        .select_from(text("records"))
        .where(text("memory_id = :memory_id"))
        .limit(cap + 1)
        .subquery()
    )
    result = await session.scalar(select(func.count()).select_from(inner), {"memory_id": memory.id})
    return int(result or 0)
