"""Ranking records by `λ·cos(task) + (1−λ)·cos(observation)` inside PostgreSQL.

A record's embedding is [unit(task); unit(observation)], so its inner product with the query
[λ·unit(q_task); (1−λ)·unit(q_obs)] is exactly that score, for any λ chosen per query, and
pgvector's `<#>` (negative inner product) orders by it. Small memories are scanned exactly;
larger ones use the memory's own HNSW index.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from rememberer import schemas
from rememberer.embeddings import Vector
from rememberer.lcs import ElementSimilarity
from rememberer.memories import MemoryInfo
from rememberer.records import ACTION_ORDER, RECORD_COLUMNS, record_fields

# Candidates fetched beyond k so that ties at the k-th place are broken by the contract's
# rules (visits, then age) rather than by the index's order.
TIE_MARGIN = 10
# ef_search grows with the candidates asked for: the configured value is the one measured
# for k = 5 (15 candidates, docs/BENCHMARKS.md); pgvector allows at most 1000.
EF_PER_CANDIDATE = 4
MAX_EF_SEARCH = 1000
# Scores equal to this many decimals are ties: float32 sums differ in the last bits.
SCORE_DECIMALS = 6
# With observation_similarity "lcs", the vector index proposes this many candidates per
# result, which the LCS measure then re-ranks exactly.
LCS_CANDIDATES_PER_RESULT = 5
LCS = "lcs"


@dataclass(frozen=True)
class SearchParams:
    exact_max_records: int
    ef_search: int


@dataclass(frozen=True)
class Ranked:
    record_id: int
    score: float
    task_score: float
    observation_score: float
    total_visits: int


def ef_search_for(candidates: int, configured: int) -> int:
    return min(MAX_EF_SEARCH, max(configured, EF_PER_CANDIDATE * candidates))


def query_vector(task: Vector, observation: Vector, lambda_: float) -> Vector:
    return np.concatenate([lambda_ * task, (1.0 - lambda_) * observation]).astype(np.float32)


# One round trip: the planner settings for this transaction, and the memory's size
# counted no further than the exact-scan threshold. Forbidding sorts leaves the HNSW index
# as the only plan even with stale statistics (which otherwise may prefer the memory_id
# B-tree plus a sort of every record); the exact scan has no other plan than a sort anyway.
_PREPARE_SEARCH = text(
    """
    SELECT set_config('hnsw.ef_search', :ef_search, true),
           set_config('enable_sort', 'off', true),
           (SELECT count(*) FROM (SELECT 1 FROM records WHERE memory_id = :m LIMIT :cap) s)
             AS records
    """
)
_RESTORE_SORT = text("SELECT set_config('enable_sort', 'on', true)")


async def rank(
    session: AsyncSession,
    memory: MemoryInfo,
    task: Vector,
    observation: Vector,
    k: int,
    lambda_: float,
    params: SearchParams,
    observation_text: str | None = None,
) -> list[Ranked]:
    """The k best records; `observation_text` is needed by "lcs" memories."""
    by_elements = memory.observation_similarity == LCS
    if by_elements and observation_text is None:
        raise ValueError("an lcs memory ranks by the observation's text; pass observation_text")
    candidates = k * LCS_CANDIDATES_PER_RESULT + TIE_MARGIN if by_elements else k + TIE_MARGIN
    prepared = await session.execute(
        _PREPARE_SEARCH,
        {
            "ef_search": str(ef_search_for(candidates, params.ef_search)),
            "m": memory.id,
            "cap": params.exact_max_records + 1,
        },
    )
    exact = prepared.one().records <= params.exact_max_records
    # The exact scan's expression differs from the index's, so no index can serve it.
    order_by = "embedding <#> :q" if exact else memory.index_order(":q")
    d = memory.dimension
    columns = "id, embedding, observation" if by_elements else "id, embedding"
    # memory_id is a literal so that the planner can match the memory's partial index.
    sql = text(
        f"""
        WITH candidates AS (
          SELECT {columns} FROM records WHERE memory_id = {int(memory.id)}
          ORDER BY {order_by} LIMIT :n
        )
        SELECT c.id, {"c.observation" if by_elements else "NULL"} AS observation,
               -(c.embedding <#> :q) AS score,
               -(subvector(c.embedding, 1, {d}) <#> :t) AS task_score,
               -(subvector(c.embedding, {d + 1}, {d}) <#> :o) AS observation_score,
               COALESCE((SELECT sum(a.visits) FROM action_values a WHERE a.record_id = c.id), 0)
                 AS total_visits
        FROM candidates c
        """
    )
    rows = await session.execute(
        sql,
        {
            "q": query_vector(task, observation, lambda_),
            "t": task,
            "o": observation,
            "n": candidates,
        },
    )
    ranked_rows = rows.all()
    await session.execute(_RESTORE_SORT)
    ranked = [
        Ranked(row.id, row.score, row.task_score, row.observation_score, int(row.total_visits))
        for row in ranked_rows
    ]
    if by_elements:
        assert observation_text is not None
        observations = {row.id: row.observation for row in ranked_rows}
        ranked = rescored_by_elements(ranked, observations, observation_text, lambda_)
    ranked.sort(key=lambda r: (-round(r.score, SCORE_DECIMALS), -r.total_visits, r.record_id))
    return ranked[:k]


def rescored_by_elements(
    ranked: list[Ranked], observations: dict[int, str], query: str, lambda_: float
) -> list[Ranked]:
    """λ·cos(task) + (1−λ)·LCS similarity of the observations' element sequences."""
    similarity = ElementSimilarity(query)
    rescored = []
    for candidate in ranked:
        observation_score = similarity(observations[candidate.record_id])
        score = lambda_ * candidate.task_score + (1.0 - lambda_) * observation_score
        rescored.append(replace(candidate, score=score, observation_score=observation_score))
    return rescored


# The records and their action values in one round trip.
_EXEMPLAR_ROWS = text(
    f"""
    SELECT {RECORD_COLUMNS},
           COALESCE((
             SELECT jsonb_agg(
                      jsonb_build_object('action', a.action, 'note', a.note, 'q', a.q,
                                         'reward', a.reward, 'visits', a.visits)
                      ORDER BY {ACTION_ORDER})
             FROM action_values a WHERE a.record_id = r.id
           ), '[]'::jsonb) AS actions
    FROM records r WHERE r.id = ANY(:ids)
    """
)


async def exemplars(
    session: AsyncSession, memory: MemoryInfo, ranked: list[Ranked]
) -> list[schemas.Exemplar]:
    if not ranked:
        return []
    rows = await session.execute(_EXEMPLAR_ROWS, {"ids": [r.record_id for r in ranked]})
    by_id = {row.id: row for row in rows}
    return [
        schemas.Exemplar(
            **record_fields(row),
            actions=[schemas.ActionValue(**action) for action in row.actions],
            score=r.score,
            task_score=r.task_score,
            observation_score=r.observation_score,
        )
        for r in ranked
        if (row := by_id.get(r.record_id)) is not None
    ]
