"""Sending a plan's pair updates (rememberer.learning.plan) to the database.

Two writers. `send_pipelined` sends every statement without waiting for answers (one round
trip for the call); it is given the vectors and the index decision, and no session, so it
cannot look anything up while its statements are in flight. `OneByOne` serves the memories
whose writes depend on what the previous write answered: item capacity (admission), action
capacity (pruning), and "lcs" bootstraps (a re-rank in Python).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import TextClause
from sqlalchemy.ext.asyncio import AsyncSession

from rememberer import schemas
from rememberer.embedding.embedder import Vector
from rememberer.learning import capacity, sql
from rememberer.learning.double_q import BestValues, Targets
from rememberer.learning.plan import BootstrapFrom, FinalTarget, PairUpdate
from rememberer.memories.catalog import MemoryInfo
from rememberer.search.query import SearchQuery, search_binds
from rememberer.search.retrieval import LCS, SearchParams, rank, rescored_candidates
from rememberer.storage.db import Pending, Send
from rememberer.storage.keys import sha256

# A bootstrap is the one nearest record, found among as many candidates as a k = 1 retrieval.
BOOTSTRAP_CANDIDATES = rescored_candidates(1)


def pipelines(memory: MemoryInfo) -> bool:
    """Whether the memory's pair updates can go out as one pipeline."""
    return not capacity.writes_one_by_one(memory) and memory.observation_similarity != LCS


@dataclass(frozen=True)
class Lookups:
    """What the pair updates read from outside their statements, fetched before sending."""

    vectors: Mapping[str, Vector]
    # Whether bootstraps rank through the memory's HNSW index (rememberer.search.retrieval),
    # and whether the memory is known to have too many tasks for the near-task search.
    index: bool
    many_tasks: bool


@dataclass
class SentPair:
    """A pair update sent to the database; its answer is read once its statements ran.
    `learned` is None when item capacity dropped the state."""

    observation: str
    action: str
    learned: Pending | None
    dropped_actions: list[str] = field(default_factory=list)

    async def answer(self, task: str) -> schemas.UpdatedValue:
        if self.learned is None:
            return schemas.UpdatedValue(
                record_id=None,
                task=task,
                observation=self.observation,
                action=self.action,
                q=0.0,
                visits=0,
                dropped=True,
            )
        row = await self.learned.one()
        return schemas.UpdatedValue(
            record_id=row.record_id,
            task=task,
            observation=self.observation,
            action=self.action,
            q=row.q,
            visits=row.visits,
            dropped=self.action in self.dropped_actions,
        )


def _action_binds(pair: PairUpdate) -> dict[str, object]:
    return {"action_key": sha256(pair.action), "action": pair.action, "note": pair.note}


def _touch_binds(
    memory: MemoryInfo, task: str, pair: PairUpdate, vectors: Mapping[str, Vector]
) -> dict[str, object]:
    return {
        "m": memory.id,
        "key": pair.key,
        "task": task,
        "observation": pair.observation,
        "embedding": np.concatenate([vectors[task], vectors[pair.observation]]),
        "last_reward": pair.last_reward,
        "total_reward": pair.total_reward,
        "history": json.dumps(list(pair.history)),
        **_action_binds(pair),
    }


def _learning(
    memory: MemoryInfo, task: str, pair: PairUpdate, lookups: Lookups
) -> tuple[TextClause, dict[str, object]]:
    """The pair's learning statement and binds; its targets found inside the statement."""
    binds: dict[str, object] = {
        **_action_binds(pair),
        "m": memory.id,
        "key": pair.key,
        "reward": pair.reward,
    }
    match pair.target:
        case FinalTarget(value=value):
            return sql.learn_sql(memory, sql.GIVEN_TARGETS), binds | Targets.final(value).params()
        case BootstrapFrom(bootstrap=bootstrap, observation=following, key=next_key):
            query = SearchQuery(
                lookups.vectors[task],
                lookups.vectors[following],
                k=1,
                lambda_=memory.lambda_,
                min_score=memory.bootstrap_min_score,
                task=task,
            )
            binds |= search_binds(query, BOOTSTRAP_CANDIDATES)
            binds |= {
                "next_key": next_key,
                "rewards": bootstrap.rewards,
                "discount": bootstrap.discount,
            }
            targets = sql.bootstrapped_targets(memory, lookups.index, lookups.many_tasks)
            return sql.learn_sql(memory, targets), binds


async def send_pipelined(
    send: Send, memory: MemoryInfo, task: str, pairs: list[PairUpdate], lookups: Lookups
) -> list[SentPair]:
    """Each pair's record write and learning statement, without waiting for any answer."""
    sent = []
    for pair in pairs:
        await send(sql.touch_record_sql(memory), _touch_binds(memory, task, pair, lookups.vectors))
        statement, binds = _learning(memory, task, pair, lookups)
        sent.append(SentPair(pair.observation, pair.action, await send(statement, binds)))
    return sent


@dataclass(frozen=True)
class OneByOne:
    """Pair updates that read each answer before the next write."""

    session: AsyncSession
    memory: MemoryInfo
    search: SearchParams
    lookups: Lookups

    async def write(self, send: Send, task: str, pairs: list[PairUpdate]) -> list[SentPair]:
        return [await self._write_pair(send, task, pair) for pair in pairs]

    async def _write_pair(self, send: Send, task: str, pair: PairUpdate) -> SentPair:
        vectors = self.lookups.vectors
        state = capacity.State(pair.key, vectors[task], vectors[pair.observation], pair.observation)
        admission = await capacity.admit(self.session, self.memory, self.search, state)
        if not admission.admitted:
            return SentPair(pair.observation, pair.action, learned=None)
        touched = await send(
            sql.touch_record_sql(self.memory), _touch_binds(self.memory, task, pair, vectors)
        )
        record = await touched.one()
        if record.created:
            await capacity.settle(self.session, self.memory, record.id, admission)
        statement, binds = await self._learning(task, pair)
        learned = await send(statement, binds)
        pruned = await capacity.prune_actions(
            self.session, self.memory, (await learned.one()).record_id
        )
        return SentPair(pair.observation, pair.action, learned, pruned)

    async def _learning(self, task: str, pair: PairUpdate) -> tuple[TextClause, dict[str, object]]:
        if self.memory.observation_similarity != LCS:
            return _learning(self.memory, task, pair, self.lookups)
        match pair.target:
            case FinalTarget():
                return _learning(self.memory, task, pair, self.lookups)
            case BootstrapFrom(bootstrap=bootstrap, observation=following, key=next_key):
                best = await self._best_value(task, following, next_key)
                targets = Targets.bootstrapped(bootstrap.rewards, bootstrap.discount, best)
                binds = {
                    **_action_binds(pair),
                    "m": self.memory.id,
                    "key": pair.key,
                    "reward": pair.reward,
                    **targets.params(),
                }
                return sql.learn_sql(self.memory, sql.GIVEN_TARGETS), binds

    async def _best_value(self, task: str, observation: str, key: bytes) -> BestValues:
        """max_a Q of the observation's own record, else of the nearest record scoring at
        least the memory's bootstrap_min_score, for "lcs" memories (ranked in Python)."""
        binds = {"m": self.memory.id, "key": key}
        own = (await self.session.execute(sql.OWN_RECORD_VALUE, binds)).one_or_none()
        if own is not None:
            return BestValues.of(own)
        query = SearchQuery(
            self.lookups.vectors[task],
            self.lookups.vectors[observation],
            k=1,
            lambda_=self.memory.lambda_,
            observation_text=observation,
            min_score=self.memory.bootstrap_min_score,
            task=task,
        )
        nearest = await rank(self.session, self.memory, query, self.search)
        if not nearest:
            return BestValues()
        best = await self.session.execute(sql.RECORD_VALUE, {"id": nearest[0].record_id})
        return BestValues.of(best.one())
