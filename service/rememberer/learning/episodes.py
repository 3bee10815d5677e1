"""An episode's persistence: lock (or create) it with its stored steps and answers, save the
steps a call applied, close it without learning (abandon).

The episode row is locked for the update call, so one episode's steps apply in order; each
stored step keeps the values it changed (`updated`), so that a retried step answers the same
and the episodes API can show them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from rememberer import schemas
from rememberer.errors import Conflict
from rememberer.storage.db import statements

Status = Literal["open", "done", "truncated", "abandoned"]
OPEN: Status = "open"


@dataclass
class Episode:
    """An episode's received transitions; `rewards[t]` is r_t (r_0 = 0)."""

    episode_id: str
    task: str
    steps: list[schemas.Transition] = field(default_factory=list)
    # What each applied step answered, so that a retried step answers the same.
    answers: dict[int, list[schemas.UpdatedValue]] = field(default_factory=dict)
    status: Status = OPEN

    @property
    def rewards(self) -> list[float]:
        return [0.0] + [s.reward for s in self.steps]

    @property
    def closed(self) -> bool:
        return self.status != OPEN

    @property
    def total_return(self) -> float:
        return sum(s.reward for s in self.steps)

    def observation(self, t: int) -> str:
        """o_t: the observation transition t was taken in, or the last one arrived at."""
        return self.steps[t].observation if t < len(self.steps) else self.steps[-1].next_observation


def status_after(transition: schemas.Transition) -> Status:
    """The episode's status once `transition` is its last step."""
    if transition.done:
        return "done"
    if transition.truncated:
        return "truncated"
    return OPEN


# Creates the episode or locks it: DO UPDATE takes the row lock that DO NOTHING would not,
# and returns the row as the previous holder of the lock left it.
_LOCK_EPISODE = text(
    """
    INSERT INTO episodes (memory_id, episode_id, task, next_step, done, return, status)
    VALUES (:m, :e, :task, 0, false, 0, 'open')
    ON CONFLICT (memory_id, episode_id) DO UPDATE SET task = episodes.task
    RETURNING task, next_step, status
    """
)
STEP_COLUMNS = "step, observation, action, reward, next_observation, done, truncated, note, updated"
_SELECT_STEPS = text(
    f"SELECT {STEP_COLUMNS} FROM episode_steps WHERE memory_id = :m AND episode_id = :e "
    "ORDER BY step"
)
_INSERT_STEP = text(
    "INSERT INTO episode_steps (memory_id, episode_id, step, observation, action, reward, "
    "next_observation, done, truncated, note, updated) VALUES (:m, :e, :step, :observation, "
    ":action, :reward, :next_observation, :done, :truncated, :note, CAST(:updated AS jsonb))"
)
_SAVE_EPISODE = text(
    "UPDATE episodes SET next_step = :next_step, done = :closed, status = :status, "
    "return = :return, updated_at = now() WHERE memory_id = :m AND episode_id = :e"
)


def stored_transition(row: Any) -> schemas.Transition:
    return schemas.Transition(
        step=row.step,
        observation=row.observation,
        action=row.action,
        reward=row.reward,
        next_observation=row.next_observation,
        done=row.done,
        truncated=row.truncated,
        note=row.note,
    )


def stored_answers(row: Any) -> list[schemas.UpdatedValue]:
    return [schemas.UpdatedValue.model_validate(u) for u in row.updated]


async def lock_episode(
    session: AsyncSession, memory_id: int, episode_id: str, task: str
) -> Episode:
    """The episode, created if new, locked until the transaction ends, with its steps."""
    key = {"m": memory_id, "e": episode_id}
    # One round trip: the steps are read once the lock is held (the statements run in
    # order), so they are the ones the previous holder committed.
    async with statements(session, pipelined=True) as send:
        locked = await send(_LOCK_EPISODE, {**key, "task": task})
        stored = await send(_SELECT_STEPS, key)
    row = await locked.one()
    if row.task != task:
        raise Conflict(
            f"episode {episode_id!r} belongs to task {row.task[:200]!r}; "
            "use a new episode_id for another task"
        )
    episode = Episode(episode_id, task, status=row.status)
    for step in await stored.all():
        episode.steps.append(stored_transition(step))
        episode.answers[step.step] = stored_answers(step)
    return episode


async def save_steps(
    session: AsyncSession,
    memory_id: int,
    episode: Episode,
    applied: list[tuple[schemas.Transition, list[schemas.UpdatedValue]]],
) -> None:
    """Stores the steps a call applied with their answers, and the episode's new state."""
    if not applied:
        return
    key = {"m": memory_id, "e": episode.episode_id}
    async with statements(session, pipelined=True) as send:
        for transition, updated in applied:
            answers = json.dumps([u.model_dump() for u in updated])
            await send(_INSERT_STEP, {**key, **transition.model_dump(), "updated": answers})
        saved = {
            **key,
            "next_step": len(episode.steps),
            "closed": episode.closed,
            "status": episode.status,
            "return": episode.total_return,
        }
        await send(_SAVE_EPISODE, saved)
