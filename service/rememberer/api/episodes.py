"""`/v1/memories/{memory}/episodes`: what agents sent, listed and read back; abandoning."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from pydantic import AfterValidator

from rememberer import schemas
from rememberer.api.common import ERRORS, Cursor, Limit, TaskFilter, v1_router
from rememberer.api.deps import MemoryDep, SessionDep
from rememberer.learning import history

router = v1_router()

EpisodeIdPath = Annotated[
    str,
    AfterValidator(schemas.reject_nul),
    Path(min_length=1, max_length=128, description="episode id"),
]
DoneFilter = Annotated[
    bool | None, Query(description="true: closed episodes (any status but open); false: open")
]


@router.get(
    "/memories/{memory}/episodes",
    response_model=schemas.Page[schemas.EpisodeSummary],
    responses=ERRORS,
)
async def list_episodes(
    memory: MemoryDep,
    session: SessionDep,
    task: TaskFilter = None,
    done: DoneFilter = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> schemas.Page[schemas.EpisodeSummary]:
    """The memory's episodes, newest first."""
    return await history.list_episodes(session, memory, task, done, limit, cursor)


@router.get(
    "/memories/{memory}/episodes/{episode_id}",
    response_model=schemas.EpisodeDetail,
    responses=ERRORS,
)
async def get_episode(
    episode_id: EpisodeIdPath, memory: MemoryDep, session: SessionDep
) -> schemas.EpisodeDetail:
    """The episode with its transitions and the values each changed."""
    return await history.get_episode(session, memory, episode_id)


@router.post(
    "/memories/{memory}/episodes/{episode_id}/abandon",
    response_model=schemas.EpisodeSummary,
    responses=ERRORS,
)
async def abandon_episode(
    episode_id: EpisodeIdPath, memory: MemoryDep, session: SessionDep
) -> schemas.EpisodeSummary:
    """Closes an open episode without updating its pending pairs (status "abandoned"); a
    closed episode is left as it is and answers the same summary."""
    return await history.abandon_episode(session, memory, episode_id)
