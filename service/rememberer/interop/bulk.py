"""Bulk records: create or replace state records with their action values, in one transaction.

This is how memories are imported (rememberer.transfer). An item is a record as records
answer it, without `record_id`: a state that exists is replaced (its counts, rewards,
history and `extra` become the item's, and its action values exactly the item's); a new
state is created, subject to the memory's item capacity like any new state. Nothing is
learned here: values are stored as given.

A memory without capacities takes a batch as a bulk load: the records and then their action
values go into staging tables by binary COPY and are merged with one statement per table,
so a batch costs a fixed number of round trips whatever its size. A memory with an item or
action capacity writes item by item, in the order sent, since each admission or pruning
decides what the next one sees.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence

import numpy as np
from psycopg.types.json import Jsonb
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from rememberer import schemas
from rememberer.embedding.embedder import Vector
from rememberer.learning import capacity
from rememberer.memories.catalog import MemoryInfo
from rememberer.search.retrieval import SearchParams
from rememberer.search.vectors import VectorStore
from rememberer.storage import state_locks
from rememberer.storage.db import copy_rows, statements
from rememberer.storage.keys import BEST_Q_DEFERRED, EMBED_NEW_RECORD, record_key, sha256
from rememberer.storage.transactions import in_transaction

_REPLACE_RECORD = """
      ON CONFLICT (memory_id, key) DO UPDATE SET
        visits = EXCLUDED.visits,
        last_reward = EXCLUDED.last_reward,
        total_reward = EXCLUDED.total_reward,
        action_history = EXCLUDED.action_history,
        extra = EXCLUDED.extra
"""
_UPSERT_RECORD = text(
    f"""
    WITH touched AS (
      INSERT INTO records (memory_id, key, task, observation, visits, last_reward,
                           total_reward, action_history, extra)
      VALUES (:m, :record_key, :task, :observation, :visits, :last_reward, :total_reward,
              CAST(:history AS jsonb), CAST(:extra AS jsonb))
      {_REPLACE_RECORD}
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
_REPLACE_ACTION = """
    ON CONFLICT (record_id, action_key) DO UPDATE SET
      action = EXCLUDED.action, note = EXCLUDED.note, q = EXCLUDED.q,
      reward = EXCLUDED.reward, visits = EXCLUDED.visits, q_a = NULL, q_b = NULL
"""
_UPSERT_ACTION = text(
    f"""
    INSERT INTO action_values (record_id, action_key, action, note, q, reward, visits)
    VALUES (:record_id, :action_key, :action, :note, :q, :reward, :visits)
    {_REPLACE_ACTION}
    """
)

# --- the bulk load of a memory without capacities -----------------------------------------

# Staging tables live until the transaction ends, so nothing is left behind on the pooled
# connection, whatever the batch's fate.
_STAGE_RECORDS = text(
    "CREATE TEMP TABLE staged_records (place int, key bytea, task text, observation text, "
    "embedding vector, visits int, last_reward float8, total_reward float8, "
    "history jsonb, extra jsonb, best_q float8) ON COMMIT DROP"
)
_STAGE_ACTIONS = text(
    "CREATE TEMP TABLE staged_actions (record_id bigint, action_key bytea, action text, "
    "note text, q float8, reward float8, visits int) ON COMMIT DROP"
)
_COPY_RECORDS = "COPY staged_records FROM STDIN (FORMAT BINARY)"
_RECORD_TYPES = (
    "int4", "bytea", "text", "text", "vector", "int4", "float8", "float8", "jsonb", "jsonb",
    "float8",
)  # fmt: skip
_COPY_ACTIONS = "COPY staged_actions FROM STDIN (FORMAT BINARY)"
_ACTION_TYPES = ("int8", "bytea", "text", "text", "float8", "float8", "int4")
# Records are created in the order sent, as item by item, so their ids (and ages) follow it.
# Row order cannot deadlock here: the batch already holds the lock of every state it names.
_MERGE_RECORDS = text(
    f"""
    WITH touched AS (
      INSERT INTO records (memory_id, key, task, observation, visits, last_reward,
                           total_reward, action_history, extra, best_q)
      SELECT :memory_id, key, task, observation, visits, last_reward, total_reward, history,
             extra, best_q
      FROM staged_records ORDER BY place
      {_REPLACE_RECORD.rstrip()}, best_q = EXCLUDED.best_q
      RETURNING id, key, (xmax = 0) AS created
    ), placed AS (
      SELECT s.place, s.embedding, t.id, t.created
      FROM touched t JOIN staged_records s USING (key)
    ), embedded AS (
      INSERT INTO record_embeddings (record_id, memory_id, embedding)
      SELECT id, :memory_id, embedding FROM placed WHERE created ORDER BY id
    )
    SELECT place, id, created FROM placed
    """
)
# A replaced state keeps exactly the item's actions.
_DELETE_UNNAMED_ACTIONS = text(
    """
    DELETE FROM action_values a WHERE a.record_id = ANY(CAST(:replaced AS bigint[]))
    AND NOT EXISTS (SELECT 1 FROM staged_actions s
                    WHERE s.record_id = a.record_id AND s.action_key = a.action_key)
    """
)
_MERGE_ACTIONS = text(
    f"""
    INSERT INTO action_values (record_id, action_key, action, note, q, reward, visits)
    SELECT record_id, action_key, action, note, q, reward, visits FROM staged_actions
    ORDER BY record_id, action_key
    {_REPLACE_ACTION}
    """
)

# A loaded state keeps exactly the item's actions, so its best q is known before they are
# written: the records carry it, and the best-q triggers (migration 0009) stand aside while
# the values are written (a trigger per value made a load about twice as slow). The load
# holds the records' row locks from their upsert on, so a concurrent writer's own recount
# waits for its commit and stays exact.
_DEFER_BEST_Q = text(f"SELECT set_config('{BEST_Q_DEFERRED}', 'on', true)")
_UNDEFER_BEST_Q = text(f"SELECT set_config('{BEST_Q_DEFERRED}', 'off', true)")


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

    async def write() -> list[schemas.UpsertedRecord]:
        # The states are locked in the order updates lock theirs, so that neither an update
        # nor another import that shares some of them deadlocks with this one. The items are
        # then written in the order sent: item capacity admits states in that order.
        async with statements(session, pipelined=False) as send:
            keys = (record_key(item.task, item.observation) for item in body.items)
            await state_locks.lock_states(send, memory.id, keys)
        if capacity.writes_one_by_one(memory):
            return [await _upsert(session, memory, search, item, resolved) for item in body.items]
        return await _load(session, memory, body.items, resolved)

    # Item capacity's evictions re-link records no state lock covers: a deadlock stays
    # possible there, and the whole batch is then written again.
    results = await in_transaction(session, write, "bulk upsert")
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
                "m": memory.id,  # the name EMBED_NEW_RECORD binds
                "record_key": key,
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


async def _load(
    session: AsyncSession,
    memory: MemoryInfo,
    items: Sequence[schemas.RecordIn],
    vectors: dict[str, Vector],
) -> list[schemas.UpsertedRecord]:
    """The items of a memory without capacities, as a bulk load (see the module's text)."""
    async with statements(session, pipelined=True) as send:
        await send(_STAGE_RECORDS, {})
        await send(_STAGE_ACTIONS, {})
    await copy_rows(session, _COPY_RECORDS, _RECORD_TYPES, _record_rows(items, vectors))
    merged = await session.execute(_MERGE_RECORDS, {"memory_id": memory.id})
    records = {row.place: (row.id, row.created) for row in merged}
    await copy_rows(session, _COPY_ACTIONS, _ACTION_TYPES, _action_rows(items, records))
    replaced = [record_id for record_id, created in records.values() if not created]
    async with statements(session, pipelined=True) as send:
        await send(_DEFER_BEST_Q, {})
        if replaced:
            await send(_DELETE_UNNAMED_ACTIONS, {"replaced": replaced})
        await send(_MERGE_ACTIONS, {})
        await send(_UNDEFER_BEST_Q, {})
    return [
        schemas.UpsertedRecord(record_id=record_id, status="created" if created else "replaced")
        for record_id, created in (records[place] for place in range(len(items)))
    ]


def _record_rows(
    items: Sequence[schemas.RecordIn], vectors: dict[str, Vector]
) -> Iterator[tuple[object, ...]]:
    for place, item in enumerate(items):
        yield (
            place,
            record_key(item.task, item.observation),
            item.task,
            item.observation,
            np.concatenate([vectors[item.task], vectors[item.observation]]),
            item.visits,
            item.last_reward,
            item.total_reward,
            Jsonb(item.action_history),
            None if item.extra is None else Jsonb(item.extra),
            max((a.q for a in item.actions), default=float("-inf")),
        )


def _action_rows(
    items: Sequence[schemas.RecordIn], records: dict[int, tuple[int, bool]]
) -> Iterator[tuple[object, ...]]:
    for place, item in enumerate(items):
        record_id = records[place][0]
        for value in item.actions:
            yield (
                record_id,
                sha256(value.action),
                value.action,
                value.note,
                value.q,
                value.reward,
                value.visits,
            )
