"""Read-only queries of the episodes and reflections pages. Episodes are listed newest first
with a keyset cursor (created_at, episode_id); an episode's `status` says how it ended:
open, done, truncated (cut short by the agent) or abandoned."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from rememberer.memories.catalog import MemoryInfo
from rememberer.storage.keys import sha256
from rememberer.ui.security import PageError

PAGE_SIZE = 50
MAX_STEPS = 1000
MAX_REFLECTIONS = 200
TASK_PREVIEW_CHARS = 160


@dataclass(frozen=True)
class EpisodeRow:
    episode_id: str
    task: str
    steps: int
    episode_return: float
    done: bool
    status: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class EpisodePage:
    rows: list[EpisodeRow]
    next_cursor: str | None


def _encode(created_at: datetime, episode_id: str) -> str:
    return base64.urlsafe_b64encode(
        json.dumps([created_at.isoformat(), episode_id]).encode()
    ).decode()


def _decode(cursor: str) -> tuple[datetime, str]:
    try:
        stamp, episode_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if not isinstance(episode_id, str) or "\x00" in episode_id:
            raise ValueError("not an episode id")
        return datetime.fromisoformat(stamp), episode_id
    except (ValueError, TypeError, binascii.Error) as exc:
        raise PageError(400, "this page link is broken; start from the first page") from exc


def _episode(row: Any) -> EpisodeRow:
    return EpisodeRow(
        episode_id=row.episode_id,
        task=row.task,
        steps=row.next_step,
        episode_return=row.r,
        done=row.done,
        status=row.status,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


_EPISODE_COLUMNS = (
    'episode_id, task, next_step, "return" AS r, done, status, created_at, updated_at'
)


async def list_episodes(
    session: AsyncSession,
    memory: MemoryInfo,
    task: str | None,
    done: bool | None,
    cursor: str | None,
) -> EpisodePage:
    where = ["memory_id = :m"]
    binds: dict[str, Any] = {"m": memory.id, "n": PAGE_SIZE + 1, "task": task, "done": done}
    if task is not None:
        where.append("task = :task")
    if done is not None:
        where.append("done = :done")
    if cursor:
        binds["after_at"], binds["after_id"] = _decode(cursor)
        where.append("(created_at, episode_id) < (:after_at, :after_id)")
    statement = text(
        f"SELECT {_EPISODE_COLUMNS} FROM episodes WHERE {' AND '.join(where)} "
        "ORDER BY created_at DESC, episode_id DESC LIMIT :n"
    )
    rows = (await session.execute(statement, binds)).all()
    page = rows[:PAGE_SIZE]
    next_cursor = (
        _encode(page[-1].created_at, page[-1].episode_id) if len(rows) > PAGE_SIZE else None
    )
    return EpisodePage(rows=[_episode(row) for row in page], next_cursor=next_cursor)


@dataclass(frozen=True)
class StepRow:
    step: int
    observation: str
    action: str
    reward: float
    next_observation: str
    done: bool
    truncated: bool
    note: str | None
    updated: list[dict[str, Any]]


async def get_episode(
    session: AsyncSession, memory: MemoryInfo, episode_id: str
) -> tuple[EpisodeRow, list[StepRow]]:
    binds = {"m": memory.id, "e": episode_id}
    row = (
        await session.execute(
            text(
                f"SELECT {_EPISODE_COLUMNS} FROM episodes WHERE memory_id = :m AND episode_id = :e"
            ),
            binds,
        )
    ).one_or_none()
    if row is None:
        raise PageError(404, "no such episode in this memory")
    steps = await session.execute(
        text(
            "SELECT step, observation, action, reward, next_observation, done, truncated, note, "
            "updated FROM episode_steps WHERE memory_id = :m AND episode_id = :e "
            f"ORDER BY step LIMIT {MAX_STEPS}"
        ),
        binds,
    )
    return _episode(row), [
        StepRow(
            step=s.step,
            observation=s.observation,
            action=s.action,
            reward=s.reward,
            next_observation=s.next_observation,
            done=s.done,
            truncated=s.truncated,
            note=s.note,
            updated=[u for u in s.updated if isinstance(u, dict)],
        )
        for s in steps
    ]


@dataclass(frozen=True)
class ReflectionRow:
    id: int
    task: str
    episode_id: str
    text: str
    return_before: float
    created_at: datetime
    uses: int
    rated: int
    mean_rating: float | None
    mean_return_after: float | None


_REFLECTIONS = f"""
    SELECT f.id, f.task, f.episode_id, f.text, f.return_before, f.created_at,
           count(u.reflection_id) AS uses, count(u.rated_at) AS rated,
           avg(u.rating) AS mean_rating, avg(u.return_after) AS mean_return_after
    FROM reflections f LEFT JOIN reflection_uses u ON u.reflection_id = f.id
    WHERE f.memory_id = :m {{task_filter}}
    GROUP BY f.id ORDER BY f.task, f.id DESC LIMIT {MAX_REFLECTIONS}
"""


async def list_reflections(
    session: AsyncSession, memory: MemoryInfo, task: str | None
) -> list[ReflectionRow]:
    """Reflections grouped by task (newest first within one), each with its uses' ratings
    and returns; at most MAX_REFLECTIONS of them."""
    task_filter = "AND f.task_key = :task_key AND f.task = :task" if task is not None else ""
    binds: dict[str, Any] = {"m": memory.id}
    if task is not None:
        binds.update(task=task, task_key=sha256(task))
    rows = await session.execute(text(_REFLECTIONS.format(task_filter=task_filter)), binds)
    return [
        ReflectionRow(
            id=row.id,
            task=row.task,
            episode_id=row.episode_id,
            text=row.text,
            return_before=row.return_before,
            created_at=row.created_at,
            uses=int(row.uses),
            rated=int(row.rated),
            mean_rating=row.mean_rating,
            mean_return_after=row.mean_return_after,
        )
        for row in rows
    ]
