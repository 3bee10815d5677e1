"""State records as the API shows them: one record with its action values, and lists."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from rememberer import schemas
from rememberer.errors import RecordNotFound, Unprocessable
from rememberer.memories.catalog import MemoryInfo
from rememberer.storage.pagination import BAD_CURSOR, decode_cursor, encode_cursor

RECORD_COLUMNS = (
    "id, task, observation, visits, last_reward, total_reward, action_history, created_at, extra"
)

# How a record's actions are listed everywhere: best first, then most tried, then oldest.
ACTION_ORDER = "q DESC, visits DESC, created_at, action"

_ACTIONS = text(
    f"""
    SELECT record_id, action, note, q, reward, visits FROM action_values
    WHERE record_id = ANY(:ids)
    ORDER BY record_id, {ACTION_ORDER}
    """
)


async def load_actions(
    session: AsyncSession, record_ids: Sequence[int]
) -> dict[int, list[schemas.ActionValue]]:
    """Action values of the records, each list sorted by q descending."""
    by_record: dict[int, list[schemas.ActionValue]] = defaultdict(list)
    if record_ids:
        for row in await session.execute(_ACTIONS, {"ids": list(record_ids)}):
            by_record[row.record_id].append(
                schemas.ActionValue(
                    action=row.action, note=row.note, q=row.q, reward=row.reward, visits=row.visits
                )
            )
    return by_record


def record_fields(row: Any) -> dict[str, Any]:
    """A record row's fields as the API names them, its actions aside."""
    return dict(
        record_id=row.id,
        task=row.task,
        observation=row.observation,
        visits=row.visits,
        last_reward=row.last_reward,
        total_reward=row.total_reward,
        action_history=row.action_history,
        extra=row.extra,
    )


def record_out(row: Any, actions: list[schemas.ActionValue]) -> schemas.Record:
    return schemas.Record(**record_fields(row), actions=actions)


async def get_record(session: AsyncSession, memory: MemoryInfo, record_id: int) -> schemas.Record:
    row = (
        await session.execute(
            text(
                f"SELECT {RECORD_COLUMNS} FROM records "
                "WHERE memory_id = :memory_id AND id = :record_id"
            ),
            {"memory_id": memory.id, "record_id": record_id},
        )
    ).one_or_none()
    if row is None:
        raise RecordNotFound(record_id)
    actions = await load_actions(session, [row.id])
    return record_out(row, actions[row.id])


async def list_records(
    session: AsyncSession, memory: MemoryInfo, task: str | None, limit: int, cursor: str | None
) -> schemas.Page[schemas.Record]:
    after = decode_cursor(cursor) if cursor is not None else 0
    if not isinstance(after, int):
        raise Unprocessable(BAD_CURSOR)
    task_filter = "AND task = :task" if task is not None else ""
    rows = (
        await session.execute(
            text(
                f"SELECT {RECORD_COLUMNS} FROM records "
                f"WHERE memory_id = :memory_id AND id > :after {task_filter} "
                "ORDER BY id LIMIT :limit"
            ),
            {"memory_id": memory.id, "after": after, "task": task, "limit": limit + 1},
        )
    ).all()
    page = rows[:limit]
    actions = await load_actions(session, [row.id for row in page])
    return schemas.Page(
        items=[record_out(row, actions[row.id]) for row in page],
        next_cursor=encode_cursor(page[-1].id) if len(rows) > limit else None,
    )


async def delete_record(session: AsyncSession, memory: MemoryInfo, record_id: int) -> None:
    result = await session.execute(
        text("DELETE FROM records WHERE memory_id = :memory_id AND id = :record_id RETURNING id"),
        {"memory_id": memory.id, "record_id": record_id},
    )
    if result.first() is None:
        raise RecordNotFound(record_id)
    await session.commit()
