"""Read-only queries of the memories list and a memory's overview: counts, the learning
curve (returns of finished episodes in the order they finished) and the tasks it knows."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from rememberer.memories.catalog import MemoryInfo

MAX_MEMORIES = 500
RECENT_EPISODES = 50
# The curve shows at most this many of the newest finished episodes.
MAX_CURVE_POINTS = 2000
MAX_TASKS = 100
SETTING_COLUMNS = (
    "gamma",
    "n_step",
    "update_mode",
    "learning_rate",
    "lambda_",
    "action_history_mode",
    "item_capacity",
    "action_capacity",
    "embedder",
    "dimension",
    "double_q",
    "observation_similarity",
)


@dataclass(frozen=True)
class MemorySummary:
    name: str
    created_at: datetime
    settings: dict[str, Any]
    records: int
    actions: int
    episodes: int
    episodes_open: int
    recent_mean_return: float | None


_SUMMARIES = f"""
    SELECT m.name, m.created_at, m.gamma, m.n_step, m.update_mode, m.learning_rate,
           m."lambda" AS lambda_, m.action_history_mode, m.item_capacity, m.action_capacity,
           m.embedder, m.dimension, m.double_q, m.observation_similarity,
           (SELECT count(*) FROM records r WHERE r.memory_id = m.id) AS records,
           (SELECT count(*) FROM action_values a JOIN records r ON r.id = a.record_id
              WHERE r.memory_id = m.id) AS actions,
           (SELECT count(*) FROM episodes e WHERE e.memory_id = m.id) AS episodes,
           (SELECT count(*) FROM episodes e WHERE e.memory_id = m.id AND NOT e.done)
              AS episodes_open,
           (SELECT avg(x.r) FROM (
              SELECT e."return" AS r FROM episodes e WHERE e.memory_id = m.id AND e.done
                AND e.status <> 'abandoned'
              ORDER BY e.updated_at DESC, e.episode_id DESC LIMIT {RECENT_EPISODES}) x)
              AS recent_mean_return
    FROM memories m
"""


def _summary(row: Any) -> MemorySummary:
    return MemorySummary(
        name=row.name,
        created_at=row.created_at,
        settings={name: getattr(row, name) for name in SETTING_COLUMNS},
        records=int(row.records),
        actions=int(row.actions),
        episodes=int(row.episodes),
        episodes_open=int(row.episodes_open),
        recent_mean_return=row.recent_mean_return,
    )


async def memory_summaries(
    session: AsyncSession, only: Collection[str] | None
) -> list[MemorySummary]:
    """Every memory the viewer may see (`only`: a scoped key's names), by name."""
    where = "" if only is None else "WHERE m.name = ANY(:names)"
    statement = text(f"{_SUMMARIES} {where} ORDER BY m.name LIMIT {MAX_MEMORIES}")
    rows = await session.execute(statement, {"names": sorted(only or ())})
    return [_summary(row) for row in rows]


async def memory_summary(session: AsyncSession, memory: MemoryInfo) -> MemorySummary:
    row = (await session.execute(text(f"{_SUMMARIES} WHERE m.id = :m"), {"m": memory.id})).one()
    return _summary(row)


_CURVE = text(f"""
    SELECT x.r FROM (
      SELECT e."return" AS r, e.updated_at, e.episode_id FROM episodes e
      WHERE e.memory_id = :m AND e.done AND e.status <> 'abandoned'
        AND (CAST(:task AS text) IS NULL OR e.task = :task)
      ORDER BY e.updated_at DESC, e.episode_id DESC LIMIT {MAX_CURVE_POINTS}
    ) x ORDER BY x.updated_at, x.episode_id
""")


async def learning_curve(
    session: AsyncSession, memory: MemoryInfo, task: str | None
) -> list[float]:
    """Returns of the episodes that ended (done or truncated, not abandoned: an abandoned
    episode's return is of a part of it) of `task`, if given, oldest first."""
    rows = await session.execute(_CURVE, {"m": memory.id, "task": task})
    return [float(row.r) for row in rows]


@dataclass(frozen=True)
class TaskSummary:
    task: str
    records: int
    episodes: int
    finished: int
    mean_return: float | None
    best_return: float | None


# An episode that ended with a return worth plotting: done or truncated, not abandoned.
ENDED = "done AND status <> 'abandoned'"

# Tasks from both sides: a memory filled by import has records but no episodes.
_TASKS = text(f"""
    WITH by_records AS (
      SELECT task, count(*) AS records FROM records WHERE memory_id = :m GROUP BY task
    ), by_episodes AS (
      SELECT task, count(*) AS episodes, count(*) FILTER (WHERE {ENDED}) AS finished,
             avg("return") FILTER (WHERE {ENDED}) AS mean_return,
             max("return") FILTER (WHERE {ENDED}) AS best_return
      FROM episodes WHERE memory_id = :m GROUP BY task
    )
    SELECT COALESCE(r.task, e.task) AS task, COALESCE(r.records, 0) AS records,
           COALESCE(e.episodes, 0) AS episodes, COALESCE(e.finished, 0) AS finished,
           e.mean_return, e.best_return
    FROM by_records r FULL JOIN by_episodes e ON e.task = r.task
    ORDER BY COALESCE(e.episodes, 0) DESC, COALESCE(r.records, 0) DESC, 1
    LIMIT {MAX_TASKS}
""")


async def known_tasks(session: AsyncSession, memory: MemoryInfo) -> list[TaskSummary]:
    rows = await session.execute(_TASKS, {"m": memory.id})
    return [
        TaskSummary(
            task=row.task,
            records=int(row.records),
            episodes=int(row.episodes),
            finished=int(row.finished),
            mean_return=row.mean_return,
            best_return=row.best_return,
        )
        for row in rows
    ]
