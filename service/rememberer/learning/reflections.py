"""Retroformer reflections (Yao et al., 2023), rated from the episodes the memory already sees.

A reflection is text written about a finished episode; `return_before` is that episode's
return. An agent that puts reflections in the prompt of a later episode names them in
`update` (`reflection_ids`); when that episode ends, each such use is rated
`return_after − return_before`, with `return_after` the later episode's return. Every use
keeps its own rating; a reflection reports their mean.

The rated uses are Retroformer's replay buffer, exported as JSON Lines; reflections written
for the same prompt with different mean ratings also export as (chosen, rejected) pairs for
reward-model or DPO training.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any, Literal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from rememberer import schemas
from rememberer.errors import (
    EpisodeNotFinished,
    EpisodeNotFound,
    ReflectionNotFound,
    ReflectionSelfUse,
    TaskMismatch,
    UnknownReflection,
    Unprocessable,
)
from rememberer.memories.catalog import MemoryInfo
from rememberer.storage.keys import sha256
from rememberer.storage.pagination import BAD_CURSOR, decode_cursor, encode_cursor

ExportFormat = Literal["jsonl", "pairs"]

# Mean ratings closer than this are equal: neither reflection is preferred over the other.
RATING_TOLERANCE = 1e-9
EXPORT_BATCH_ROWS = 500
# A reflection's detail lists at most this many of its uses (newest first); `uses` counts all.
MAX_USES_SHOWN = 1000

_EPISODE = text(
    "SELECT task, done, return AS episode_return FROM episodes "
    "WHERE memory_id = :m AND episode_id = :e"
)
_INSERT = text(
    """
    INSERT INTO reflections (memory_id, episode_id, task, task_key, text, text_key,
                             prompt, prompt_key, return_before)
    VALUES (:m, :e, :task, :task_key, :text, :text_key, :prompt, :prompt_key, :return_before)
    ON CONFLICT (memory_id, episode_id, text_key, prompt_key) DO NOTHING
    RETURNING id
    """
)
_SAME = text(
    "SELECT id FROM reflections WHERE memory_id = :m AND episode_id = :e "
    "AND text_key = :text_key AND prompt_key IS NOT DISTINCT FROM :prompt_key"
)
_KNOWN = text("SELECT id, episode_id FROM reflections WHERE memory_id = :m AND id = ANY(:ids)")
_INSERT_USES = text(
    "INSERT INTO reflection_uses (memory_id, episode_id, reflection_id) "
    "SELECT :m, :e, unnest(CAST(:ids AS bigint[])) ON CONFLICT DO NOTHING"
)
_RATE_USES = text(
    """
    UPDATE reflection_uses u
    SET return_after = :return, rating = :return - r.return_before, rated_at = now()
    FROM reflections r
    WHERE u.memory_id = :m AND u.episode_id = :e AND u.rating IS NULL AND r.id = u.reflection_id
    """
)
_USES = text(
    "SELECT episode_id, return_after, rating, created_at AS used_at, rated_at "
    "FROM reflection_uses WHERE reflection_id = :id "
    f"ORDER BY created_at DESC, episode_id LIMIT {MAX_USES_SHOWN}"
)


def _summaries_sql(where: str) -> Any:
    """Reflections matching `where`, newest first, each with the summary of its uses."""
    return text(
        f"""
        SELECT r.id AS reflection_id, r.task, r.episode_id, r.text, r.prompt, r.return_before,
               r.created_at, s.uses, s.rated_uses, s.return_after, s.rating
        FROM (
          SELECT id, task, episode_id, text, prompt, return_before, created_at
          FROM reflections WHERE memory_id = :m AND {where}
          ORDER BY id DESC LIMIT :limit
        ) r
        CROSS JOIN LATERAL (
          SELECT count(*) AS uses, count(u.rating) AS rated_uses,
                 avg(u.return_after) AS return_after, avg(u.rating) AS rating
          FROM reflection_uses u WHERE u.reflection_id = r.id
        ) s
        ORDER BY r.id DESC
        """
    )


def _reflection_out(row: Any) -> schemas.Reflection:
    return schemas.Reflection.model_validate(row._asdict())


def _optional_key(value: str | None) -> bytes | None:
    return None if value is None else sha256(value)


# --- writing and reading reflections -------------------------------------------------------


async def create_reflection(
    session: AsyncSession, memory: MemoryInfo, body: schemas.ReflectionCreate
) -> tuple[schemas.Reflection, bool]:
    """The reflection, and whether it is new: the same text and prompt on the same episode
    is the reflection already stored, so that a retried POST adds nothing."""
    return_before = await _finished_return(session, memory, body.episode_id, body.task)
    identity = {
        "m": memory.id,
        "e": body.episode_id,
        "text_key": sha256(body.text),
        "prompt_key": _optional_key(body.prompt),
    }
    new_id = await session.scalar(
        _INSERT,
        {
            **identity,
            "task": body.task,
            "task_key": sha256(body.task),
            "text": body.text,
            "prompt": body.prompt,
            "return_before": return_before,
        },
    )
    reflection_id = new_id if new_id is not None else await session.scalar(_SAME, identity)
    assert reflection_id is not None  # inserted, or the conflicting row exists
    await session.commit()
    return await _summary(session, memory, int(reflection_id)), new_id is not None


async def _finished_return(
    session: AsyncSession, memory: MemoryInfo, episode_id: str, task: str
) -> float:
    episode = (await session.execute(_EPISODE, {"m": memory.id, "e": episode_id})).one_or_none()
    if episode is None:
        raise EpisodeNotFound(episode_id)
    if not episode.done:
        raise EpisodeNotFinished(episode_id)
    if episode.task != task:
        raise TaskMismatch(
            f"episode {episode_id!r} belongs to task {episode.task[:200]!r}, "
            f"not {task[:200]!r}; a reflection is about its episode's task"
        )
    return float(episode.episode_return)


async def _summary(
    session: AsyncSession, memory: MemoryInfo, reflection_id: int
) -> schemas.Reflection:
    row = (
        await session.execute(
            _summaries_sql("id = :id"), {"m": memory.id, "id": reflection_id, "limit": 1}
        )
    ).one_or_none()
    if row is None:
        raise ReflectionNotFound(reflection_id)
    return _reflection_out(row)


async def get_reflection(
    session: AsyncSession, memory: MemoryInfo, reflection_id: int
) -> schemas.ReflectionDetail:
    summary = await _summary(session, memory, reflection_id)
    uses = await session.execute(_USES, {"id": reflection_id})
    return schemas.ReflectionDetail(
        **summary.model_dump(),
        used_by=[schemas.ReflectionUse.model_validate(u._asdict()) for u in uses],
    )


async def list_reflections(
    session: AsyncSession, memory: MemoryInfo, task: str | None, limit: int, cursor: str | None
) -> schemas.Page[schemas.Reflection]:
    """Newest first, optionally only those of `task`."""
    before = decode_cursor(cursor) if cursor is not None else 2**63 - 1
    if not isinstance(before, int):
        raise Unprocessable(BAD_CURSOR)
    where = "id < :before" + (" AND task_key = :task_key" if task is not None else "")
    rows = (
        await session.execute(
            _summaries_sql(where),
            {
                "m": memory.id,
                "before": before,
                "task_key": _optional_key(task),
                "limit": limit + 1,
            },
        )
    ).all()
    page = [_reflection_out(row) for row in rows[:limit]]
    more = len(rows) > limit
    return schemas.Page(
        items=page, next_cursor=encode_cursor(page[-1].reflection_id) if more else None
    )


async def newest_for_task(
    session: AsyncSession, memory: MemoryInfo, task: str, k: int
) -> list[schemas.Reflection]:
    return (await list_reflections(session, memory, task, k, None)).items


# --- the hook into `update` ----------------------------------------------------------------


async def note_uses(
    session: AsyncSession,
    memory_id: int,
    episode_id: str,
    reflection_ids: Sequence[int],
    *,
    ended: bool,
    episode_return: float,
) -> None:
    """Record that the episode used these reflections (again: a no-op), and once it has
    ended, rate every use not yet rated. Runs in the update's transaction."""
    if reflection_ids:
        await _check_usable(session, memory_id, episode_id, set(reflection_ids))
        await session.execute(
            _INSERT_USES, {"m": memory_id, "e": episode_id, "ids": sorted(set(reflection_ids))}
        )
    if ended:
        rated = {"m": memory_id, "e": episode_id, "return": episode_return}
        await session.execute(_RATE_USES, rated)


async def _check_usable(
    session: AsyncSession, memory_id: int, episode_id: str, wanted: set[int]
) -> None:
    found = {
        row.id: row.episode_id
        for row in await session.execute(_KNOWN, {"m": memory_id, "ids": sorted(wanted)})
    }
    missing = sorted(wanted - set(found))
    if missing:
        raise UnknownReflection(
            f"reflection_ids {_ids(missing)} do not exist in this memory; "
            "create reflections with POST /v1/memories/{memory}/reflections"
        )
    own = sorted(i for i, reflected in found.items() if reflected == episode_id)
    if own:
        raise ReflectionSelfUse(
            f"reflection_ids {_ids(own)} reflect on episode {episode_id!r} itself; "
            "a reflection can only be used by a later episode"
        )


def _ids(ids: Iterable[int]) -> str:
    return ", ".join(str(i) for i in ids)


# --- export --------------------------------------------------------------------------------

_RATED_USES = """
    SELECT r.id AS reflection_id, u.episode_id AS used_in, r.task, r.prompt,
           r.text AS reflection, r.return_before, u.return_after, u.rating
    FROM reflection_uses u JOIN reflections r ON r.id = u.reflection_id
    WHERE u.memory_id = :m AND u.rating IS NOT NULL {task_filter}
    ORDER BY u.rated_at, u.reflection_id, u.episode_id
"""
_PAIRS = f"""
    WITH rated AS (
      SELECT r.id, r.prompt, r.prompt_key, r.text, r.text_key, avg(u.rating) AS rating
      FROM reflections r JOIN reflection_uses u ON u.reflection_id = r.id
      WHERE r.memory_id = :m AND r.prompt_key IS NOT NULL AND u.rating IS NOT NULL
            {{task_filter}}
      GROUP BY r.id
    )
    SELECT c.prompt, c.text AS chosen, j.text AS rejected,
           c.rating AS chosen_rating, j.rating AS rejected_rating
    FROM rated c JOIN rated j
      ON j.prompt_key = c.prompt_key AND c.rating > j.rating + {RATING_TOLERANCE!r}
         AND c.text_key <> j.text_key
    ORDER BY c.prompt_key, c.id, j.id
"""


def export_sql(export_format: ExportFormat, by_task: bool) -> Any:
    """`jsonl`: one row per rated use (Retroformer's replay buffer). `pairs`: for every two
    reflections on the same prompt whose mean ratings differ, the better one as `chosen`."""
    template = _RATED_USES if export_format == "jsonl" else _PAIRS
    return text(template.format(task_filter="AND r.task_key = :task_key" if by_task else ""))


async def export_lines(
    sessions: async_sessionmaker[AsyncSession],
    memory: MemoryInfo,
    export_format: ExportFormat,
    task: str | None,
) -> AsyncIterator[bytes]:
    """JSON Lines from one server-side cursor, sent in batches as they are read. The stream
    has its own session: it outlives the request's."""
    params = {"m": memory.id, "task_key": _optional_key(task)}
    async with sessions() as session:
        result = await session.stream(export_sql(export_format, task is not None), params)
        async for rows in result.partitions(EXPORT_BATCH_ROWS):
            yield b"".join(_json_line(row._asdict()) for row in rows)


def _json_line(row: dict[str, Any]) -> bytes:
    return json.dumps(row, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
