"""Read-only queries of the records pages: a keyset-paginated, searchable, sortable table
that stays fast on a 100k-record memory, and a record's nearest neighbours.

Pages never count or offset: each page asks for the rows after the last one shown (its sort
value and id, in an opaque cursor), so page 1000 costs what page 1 does. A text search is
a bounded scan: it stops at a page of matches, and a statement timeout ends a search that
would read too much, which the page then reports instead of slowing the service.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import numpy as np
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from rememberer import schemas
from rememberer.memories.catalog import MemoryInfo
from rememberer.search import retrieval
from rememberer.search.query import SearchQuery
from rememberer.ui.security import PageError

Sort = Literal["newest", "oldest", "visits", "best_q"]
SORTS: tuple[Sort, ...] = ("newest", "oldest", "visits", "best_q")
PAGE_SIZE = 50
PREVIEW_CHARS = 160
MAX_SEARCH_CHARS = 200
SEARCH_TIMEOUT_MS = 3000
QUERY_CANCELED = "57014"
NEIGHBOURS = 5

# Sort key expression, direction. Every order ends with the id, so keys are unique.
_ORDERS: dict[Sort, tuple[str, str]] = {
    "newest": ("r.id", "DESC"),
    "oldest": ("r.id", "ASC"),
    "visits": ("r.visits", "DESC"),
    # Stored by triggers on action_values (migration 0009) and indexed with the memory.
    "best_q": ("r.best_q", "DESC"),
}


@dataclass(frozen=True)
class RecordRow:
    id: int
    task: str
    observation: str
    visits: int
    actions: int
    best_q: float | None
    created_at: datetime


@dataclass(frozen=True)
class RecordPage:
    rows: list[RecordRow]
    next_cursor: str | None
    timed_out: bool = False


def like_pattern(search: str) -> str:
    """`search` as a literal ILIKE substring: its wildcards and escapes escaped."""
    escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def encode_key(value: float | int, record_id: int) -> str:
    raw = json.dumps([value, record_id], allow_nan=True).encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_key(cursor: str) -> tuple[float, int]:
    try:
        value, record_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError, binascii.Error) as exc:
        raise PageError(400, "this page link is broken; start from the first page") from exc
    valid = isinstance(value, int | float) and isinstance(record_id, int)
    if not valid or isinstance(value, bool) or not -(2**63) <= record_id < 2**63:
        raise PageError(400, "this page link is broken; start from the first page")
    if isinstance(value, int) and not -(2**63) <= value < 2**63:
        raise PageError(400, "this page link is broken; start from the first page")
    return float(value), record_id


def _records_sql(sort: Sort, searching: bool, after: bool) -> str:
    key, direction = _ORDERS[sort]
    compare = "<" if direction == "DESC" else ">"
    where = ["r.memory_id = :m"]
    if searching:
        where.append("(r.task ILIKE :pattern OR r.observation ILIKE :pattern)")
    if after and sort in ("newest", "oldest"):
        where.append(f"r.id {compare} :after_id")
    elif after:
        where.append(f"({key}, r.id) {compare} (:after_value, :after_id)")
    # The page's keys first, from narrow rows; its texts and actions only for those.
    return f"""
        WITH page AS (
          SELECT r.id, {key} AS sort_value FROM records r
          WHERE {" AND ".join(where)}
          ORDER BY {key} {direction}, r.id {direction} LIMIT :n
        )
        SELECT r.id, left(r.task, {PREVIEW_CHARS}) AS task,
               left(r.observation, {PREVIEW_CHARS}) AS observation, r.visits, r.created_at,
               r.best_q,
               (SELECT count(*) FROM action_values a WHERE a.record_id = r.id) AS actions,
               page.sort_value
        FROM page JOIN records r ON r.id = page.id
        ORDER BY page.sort_value {direction}, r.id {direction}
    """


def _row(row: Any) -> RecordRow:
    best = row.best_q if row.best_q is not None and math.isfinite(row.best_q) else None
    return RecordRow(
        id=row.id,
        task=row.task,
        observation=row.observation,
        visits=row.visits,
        actions=int(row.actions),
        best_q=best,
        created_at=row.created_at,
    )


async def list_records(
    session: AsyncSession, memory: MemoryInfo, search: str, sort: Sort, cursor: str | None
) -> RecordPage:
    binds: dict[str, Any] = {"m": memory.id, "n": PAGE_SIZE + 1}
    if search:
        binds["pattern"] = like_pattern(search[:MAX_SEARCH_CHARS])
    if cursor:
        binds["after_value"], binds["after_id"] = decode_key(cursor)
    statement = text(_records_sql(sort, bool(search), bool(cursor)))
    try:
        async with session.begin_nested():
            if search:
                await session.execute(text(f"SET LOCAL statement_timeout = {SEARCH_TIMEOUT_MS}"))
            rows = (await session.execute(statement, binds)).all()
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) != QUERY_CANCELED:
            raise
        return RecordPage(rows=[], next_cursor=None, timed_out=True)
    page = rows[:PAGE_SIZE]
    next_cursor = None
    if len(rows) > PAGE_SIZE:
        next_cursor = encode_key(page[-1].sort_value, page[-1].id)
    return RecordPage(rows=[_row(row) for row in page], next_cursor=next_cursor)


_EMBEDDING = text("SELECT embedding FROM record_embeddings WHERE record_id = :id")
_PREVIEWS = text(
    f"SELECT id, left(task, {PREVIEW_CHARS}) AS task, "
    f"left(observation, {PREVIEW_CHARS}) AS observation FROM records WHERE id = ANY(:ids)"
)


@dataclass(frozen=True)
class Neighbour:
    id: int
    task: str
    observation: str
    score: float
    task_score: float
    observation_score: float


async def nearest_records(
    session: AsyncSession,
    memory: MemoryInfo,
    record: schemas.Record,
    params: retrieval.SearchParams,
) -> list[Neighbour]:
    """The records retrieval would rank first for this record's own state (at the memory's
    λ), the record itself left out: the same ranking `/retrieve` uses."""
    vector = await session.scalar(_EMBEDDING, {"id": record.record_id})
    if vector is None:
        return []
    values = vector.to_numpy() if hasattr(vector, "to_numpy") else vector
    whole = np.asarray(values, dtype=np.float32)
    task, observation = whole[: memory.dimension], whole[memory.dimension :]
    query = SearchQuery(
        task, observation, NEIGHBOURS + 1, memory.lambda_, observation_text=record.observation
    )
    ranked = await retrieval.rank(session, memory, query, params)
    others = [r for r in ranked if r.record_id != record.record_id][:NEIGHBOURS]
    rows = await session.execute(_PREVIEWS, {"ids": [r.record_id for r in others]})
    previews = {row.id: row for row in rows}
    return [
        Neighbour(r.record_id, p.task, p.observation, r.score, r.task_score, r.observation_score)
        for r in others
        if (p := previews.get(r.record_id)) is not None
    ]
