"""Bulk records: create or replace state records with their action values, in one transaction.

This is how memories are imported (rememberer.transfer). An item is a record as records
answer it, without `record_id`: a state that exists is replaced (its counts, rewards,
history and `extra` become the item's, and its action values exactly the item's); a new
state is created, subject to the memory's item capacity like any new state. Nothing is
learned here: values are stored as given.
"""

from __future__ import annotations

import json

import numpy as np
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from rememberer import capacity, schemas, state_locks
from rememberer.db import statements
from rememberer.embeddings import Vector
from rememberer.memories import MemoryInfo
from rememberer.retrieval import SearchParams
from rememberer.rlem import EMBED_NEW_RECORD, record_key
from rememberer.vectors import VectorStore, sha256

_UPSERT_RECORD = text(
    f"""
    WITH touched AS (
      INSERT INTO records (memory_id, key, task, observation, visits, last_reward,
                           total_reward, action_history, extra)
      VALUES (:m, :key, :task, :observation, :visits, :last_reward, :total_reward,
              CAST(:history AS jsonb), CAST(:extra AS jsonb))
      ON CONFLICT (memory_id, key) DO UPDATE SET
        visits = EXCLUDED.visits,
        last_reward = EXCLUDED.last_reward,
        total_reward = EXCLUDED.total_reward,
        action_history = EXCLUDED.action_history,
        extra = EXCLUDED.extra
      RETURNING id, (xmax = 0) AS created
    ), {EMBED_NEW_RECORD}
    SELECT id, created FROM touched
    """
)
_DELETE_OTHER_ACTIONS = text(
    "DELETE FROM action_values WHERE record_id = :record_id "
    "AND NOT (action_key = ANY(CAST(:keep AS bytea[])))"
)
# Imported values carry no double-Q estimates: both read as q until the next update.
_UPSERT_ACTION = text(
    """
    INSERT INTO action_values (record_id, action_key, action, note, q, reward, visits)
    VALUES (:record_id, :action_key, :action, :note, :q, :reward, :visits)
    ON CONFLICT (record_id, action_key) DO UPDATE SET
      action = EXCLUDED.action, note = EXCLUDED.note, q = EXCLUDED.q,
      reward = EXCLUDED.reward, visits = EXCLUDED.visits, q_a = NULL, q_b = NULL
    """
)


async def upsert_records(
    session: AsyncSession,
    memory: MemoryInfo,
    vectors: VectorStore,
    search: SearchParams,
    body: schemas.RecordsUpsert,
) -> schemas.RecordsUpserted:
    texts = {t for item in body.items for t in (item.task, item.observation)}
    resolved = await vectors.resolve(session, memory, texts)
    # Embeddings computed on the way are worth keeping whatever the import's fate.
    await session.commit()
    # The states are locked in the order updates lock theirs, so that neither an update nor
    # another import that shares some of them deadlocks with this one. The items are then
    # written in the order sent: item capacity admits states in that order.
    async with statements(session, pipelined=False) as send:
        keys = (record_key(item.task, item.observation) for item in body.items)
        await state_locks.lock_states(send, memory.id, keys)
    results = [await _upsert(session, memory, search, item, resolved) for item in body.items]
    await session.commit()
    statuses = [r.status for r in results]
    return schemas.RecordsUpserted(
        items=results,
        created=statuses.count("created"),
        replaced=statuses.count("replaced"),
        dropped=statuses.count("dropped"),
    )


async def _upsert(
    session: AsyncSession,
    memory: MemoryInfo,
    search: SearchParams,
    item: schemas.RecordIn,
    vectors: dict[str, Vector],
) -> schemas.UpsertedRecord:
    key = record_key(item.task, item.observation)
    task, observation = vectors[item.task], vectors[item.observation]
    state = capacity.State(key, task, observation, item.observation)
    admission = await capacity.admit(session, memory, search, state)
    if not admission.admitted:
        return schemas.UpsertedRecord(record_id=None, status="dropped")
    record = (
        await session.execute(
            _UPSERT_RECORD,
            {
                "m": memory.id,
                "key": key,
                "task": item.task,
                "observation": item.observation,
                "embedding": np.concatenate([task, observation]),
                "visits": item.visits,
                "last_reward": item.last_reward,
                "total_reward": item.total_reward,
                "history": json.dumps(item.action_history),
                "extra": None if item.extra is None else json.dumps(item.extra),
            },
        )
    ).one()
    if record.created:
        await capacity.settle(session, memory, record.id, admission)
    await _replace_actions(session, record.id, item.actions, replacing=not record.created)
    return schemas.UpsertedRecord(
        record_id=record.id,
        status="created" if record.created else "replaced",
        actions_dropped=await capacity.prune_actions(session, memory, record.id),
    )


async def _replace_actions(
    session: AsyncSession,
    record_id: int,
    actions: list[schemas.ActionValueIn],
    replacing: bool,
) -> None:
    rows = [
        {"record_id": record_id, "action_key": sha256(a.action), **a.model_dump()} for a in actions
    ]
    if replacing:
        keep = [row["action_key"] for row in rows]
        await session.execute(_DELETE_OTHER_ACTIONS, {"record_id": record_id, "keep": keep})
    if rows:
        await session.execute(_UPSERT_ACTION, rows)
