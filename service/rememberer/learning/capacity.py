"""Item and action capacity (CONTRACT.md, memory settings).

Item capacity keeps a full memory diverse, as the paper's pool does: a new state is admitted
only if it is less redundant (less similar to its nearest record) than the most redundant
record, which is then evicted (ties: the one with fewer visits, then the older); otherwise
the new state is dropped. Similarity is the memory's retrieval score at its own λ. Each
record of such a memory keeps its `redundancy` (the score of its nearest other record) and
which record that is, so the most redundant record is one index look-up away
(`records_redundancy`), and admitting a state costs one nearest-neighbour search.

Action capacity keeps the actions with the highest q in each record.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from rememberer.embedding.embedder import Vector
from rememberer.memories.catalog import MemoryInfo, count_records_up_to
from rememberer.search.query import SearchQuery
from rememberer.search.retrieval import Ranked, SearchParams, rank

# A new record may become the nearest record of others; those among its nearest this many
# are updated. Farther records are less similar to it than to these, almost always.
NEIGHBOURS = 10
# First key of the advisory lock that serialises admissions into one memory.
_ADMISSION_LOCK = 0x52454D31


def writes_one_by_one(memory: MemoryInfo) -> bool:
    """Whether the memory has an item or an action capacity: then each new state's admission
    and each record's pruning decide what the next write sees, so writes cannot be batched."""
    return memory.item_capacity is not None or memory.action_capacity is not None


@dataclass(frozen=True)
class State:
    """A (task, observation) state about to be written, with its vectors."""

    key: bytes
    task: Vector
    observation: Vector
    observation_text: str


@dataclass(frozen=True)
class Admission:
    admitted: bool
    # The new state's nearest records, best first; empty for a state that already exists.
    neighbours: list[Ranked] = field(default_factory=list)


ADMITTED = Admission(True)
DROPPED = Admission(False)

# Locks the record if it exists, so that no admission evicts it before it is revisited.
_EXISTS = text("SELECT 1 FROM records WHERE memory_id = :m AND key = :key FOR UPDATE")
_LOCK = text("SELECT pg_advisory_xact_lock(:lock, CAST(:m % 2147483647 AS integer))")
_MOST_REDUNDANT = text(
    "SELECT id, redundancy FROM records WHERE memory_id = :m "
    "ORDER BY redundancy DESC NULLS LAST, visits, id LIMIT 1"
)
_EVICT = text("DELETE FROM records WHERE id = :id")
_ORPHANS = text("SELECT id FROM records WHERE memory_id = :m AND nearest_id = :id")
_RECORD = text(
    "SELECT e.embedding, r.observation FROM records r "
    "JOIN record_embeddings e ON e.record_id = r.id WHERE r.id = :id"
)
_SET_NEAREST = text("UPDATE records SET redundancy = :score, nearest_id = :nearest WHERE id = :id")
# A record's nearest is the new one if the new one is more similar than its nearest so far.
_RAISE_NEIGHBOURS = text(
    """
    UPDATE records r SET redundancy = v.score, nearest_id = :id
    FROM unnest(CAST(:ids AS bigint[]), CAST(:scores AS float8[])) AS v(id, score)
    WHERE r.id = v.id AND (r.redundancy IS NULL OR r.redundancy < v.score)
    """
)
# Keeps the `cap` best actions: the lowest q goes first, ties the fewest visits, then the
# oldest.
_PRUNE_ACTIONS = text(
    """
    WITH placed AS (
      SELECT action_key,
             row_number() OVER (ORDER BY q DESC, visits DESC, created_at DESC, action_key)
               AS place
      FROM action_values WHERE record_id = :record_id
    )
    DELETE FROM action_values a USING placed
    WHERE a.record_id = :record_id AND a.action_key = placed.action_key AND placed.place > :cap
    RETURNING a.action
    """
)


async def admit(
    session: AsyncSession, memory: MemoryInfo, search: SearchParams, state: State
) -> Admission:
    """Whether `state` may be written; evicts the most redundant record to make room."""
    if memory.item_capacity is None:
        return ADMITTED
    params = {"m": memory.id, "key": state.key}
    if await session.scalar(_EXISTS, params) is not None:
        return ADMITTED
    # One admission at a time per memory, so that two new states never evict for one place.
    await session.execute(_LOCK, {"lock": _ADMISSION_LOCK, "m": memory.id})
    if await session.scalar(_EXISTS, params) is not None:
        return ADMITTED
    neighbours = await _nearest(
        session, memory, search, state.task, state.observation, state.observation_text, NEIGHBOURS
    )
    capacity = memory.item_capacity
    if await count_records_up_to(session, memory, capacity) < capacity:
        return Admission(True, neighbours)
    most = (await session.execute(_MOST_REDUNDANT, {"m": memory.id})).one()
    redundancy = neighbours[0].score if neighbours else float("-inf")
    if most.redundancy is None or redundancy >= most.redundancy:
        return DROPPED
    await _evict(session, memory, search, most.id)
    return Admission(True, [n for n in neighbours if n.record_id != most.id])


async def settle(
    session: AsyncSession, memory: MemoryInfo, record_id: int, admission: Admission
) -> None:
    """Records the redundancy of a newly created record and of the records it is nearest to."""
    if memory.item_capacity is None or not admission.admitted:
        return
    nearest = admission.neighbours[0] if admission.neighbours else None
    await session.execute(
        _SET_NEAREST,
        {
            "id": record_id,
            "score": nearest.score if nearest else None,
            "nearest": nearest.record_id if nearest else None,
        },
    )
    if admission.neighbours:
        await session.execute(
            _RAISE_NEIGHBOURS,
            {
                "id": record_id,
                "ids": [n.record_id for n in admission.neighbours],
                "scores": [n.score for n in admission.neighbours],
            },
        )


async def prune_actions(session: AsyncSession, memory: MemoryInfo, record_id: int) -> list[str]:
    """Drops the record's actions beyond the action capacity; returns the dropped ones."""
    if memory.action_capacity is None:
        return []
    result = await session.execute(
        _PRUNE_ACTIONS, {"record_id": record_id, "cap": memory.action_capacity}
    )
    return [row.action for row in result]


async def _nearest(
    session: AsyncSession,
    memory: MemoryInfo,
    search: SearchParams,
    task: Vector,
    observation: Vector,
    observation_text: str,
    k: int,
) -> list[Ranked]:
    query = SearchQuery(task, observation, k, memory.lambda_, observation_text)
    return await rank(session, memory, query, search)


async def _evict(
    session: AsyncSession, memory: MemoryInfo, search: SearchParams, record_id: int
) -> None:
    await session.execute(_EVICT, {"id": record_id})
    orphans = await session.scalars(_ORPHANS, {"m": memory.id, "id": record_id})
    for orphan in list(orphans):
        await _find_nearest_again(session, memory, search, orphan)


async def _find_nearest_again(
    session: AsyncSession, memory: MemoryInfo, search: SearchParams, record_id: int
) -> None:
    """A record whose nearest was evicted: its nearest among the records that remain."""
    row = (await session.execute(_RECORD, {"id": record_id})).one()
    d = memory.dimension
    embedding = np.asarray(row.embedding.to_numpy(), dtype=np.float32)
    task, observation = embedding[:d], embedding[d:]
    nearest_two = await _nearest(session, memory, search, task, observation, row.observation, 2)
    others = [n for n in nearest_two if n.record_id != record_id]
    nearest = others[0] if others else None
    await session.execute(
        _SET_NEAREST,
        {
            "id": record_id,
            "score": nearest.score if nearest else None,
            "nearest": nearest.record_id if nearest else None,
        },
    )
