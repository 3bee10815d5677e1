"""Episodes as agents look back at them: listed newest first, one with its transitions, and
an open one abandoned (closed without updating its pending pairs)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from rememberer import schemas
from rememberer.errors import EpisodeNotFound, Unprocessable
from rememberer.learning.episodes import STEP_COLUMNS, stored_answers
from rememberer.memories.catalog import MemoryInfo
from rememberer.storage.pagination import BAD_CURSOR, decode_cursor, encode_cursor

_SUMMARY = 'episode_id, task, next_step, "return", status, created_at, updated_at'
_ONE = text(f"SELECT {_SUMMARY} FROM episodes WHERE memory_id = :m AND episode_id = :e")
_STEPS = text(
    f"SELECT {STEP_COLUMNS} FROM episode_steps WHERE memory_id = :m AND episode_id = :e "
    "ORDER BY step"
)
# Waits for an update of the episode in flight (its row lock), then closes it if still open.
_ABANDON = text(
    "UPDATE episodes SET status = 'abandoned', done = true, updated_at = now() "
    "WHERE memory_id = :m AND episode_id = :e AND status = 'open'"
)


def _summary(row: Any) -> dict[str, Any]:
    return dict(
        episode_id=row.episode_id,
        task=row.task,
        steps=row.next_step,
        return_=row[3],
        done=row.status != "open",
        status=row.status,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _after(cursor: str | None) -> tuple[datetime, str] | None:
    """The (created_at, episode_id) a cursor names: the last episode its page showed."""
    if cursor is None:
        return None
    value = decode_cursor(cursor)
    if not isinstance(value, str):
        raise Unprocessable(BAD_CURSOR)
    at, _, episode_id = value.partition("|")
    try:
        return datetime.fromisoformat(at), episode_id
    except ValueError as exc:
        raise Unprocessable(BAD_CURSOR) from exc


async def list_episodes(
    session: AsyncSession,
    memory: MemoryInfo,
    task: str | None,
    done: bool | None,
    limit: int,
    cursor: str | None,
) -> schemas.Page[schemas.EpisodeSummary]:
    """Newest first (created_at, then episode_id, descending)."""
    after = _after(cursor)
    where = ["memory_id = :m"]
    if task is not None:
        where.append("task = :task")
    if done is not None:
        where.append("status <> 'open'" if done else "status = 'open'")
    if after is not None:
        where.append("(created_at, episode_id) < (:at, :after_id)")
    sql = (
        f"SELECT {_SUMMARY} FROM episodes WHERE {' AND '.join(where)} "
        "ORDER BY created_at DESC, episode_id DESC LIMIT :limit"
    )
    binds: dict[str, object] = {"m": memory.id, "task": task, "limit": limit + 1}
    if after is not None:
        binds |= {"at": after[0], "after_id": after[1]}
    rows = (await session.execute(text(sql), binds)).all()
    page = rows[:limit]
    last = page[-1] if page else None
    more = len(rows) > limit and last is not None
    return schemas.Page(
        items=[schemas.EpisodeSummary(**_summary(row)) for row in page],
        next_cursor=encode_cursor(f"{last.created_at.isoformat()}|{last.episode_id}")
        if more and last is not None
        else None,
    )


async def get_episode(
    session: AsyncSession, memory: MemoryInfo, episode_id: str
) -> schemas.EpisodeDetail:
    key = {"m": memory.id, "e": episode_id}
    row = (await session.execute(_ONE, key)).one_or_none()
    if row is None:
        raise EpisodeNotFound(episode_id)
    transitions = [
        schemas.EpisodeTransition(
            step=s.step,
            observation=s.observation,
            action=s.action,
            reward=s.reward,
            next_observation=s.next_observation,
            done=s.done,
            truncated=s.truncated,
            note=s.note,
            updated=stored_answers(s),
        )
        for s in await session.execute(_STEPS, key)
    ]
    return schemas.EpisodeDetail(**_summary(row), transitions=transitions)


async def abandon_episode(
    session: AsyncSession, memory: MemoryInfo, episode_id: str
) -> schemas.EpisodeSummary:
    """Closes an open episode without learning from its pending pairs; a closed one stays
    as it is (the same summary answers a retried call)."""
    key = {"m": memory.id, "e": episode_id}
    await session.execute(_ABANDON, key)
    row = (await session.execute(_ONE, key)).one_or_none()
    if row is None:
        raise EpisodeNotFound(episode_id)
    await session.commit()
    return schemas.EpisodeSummary(**_summary(row))
