"""Ranking records by `λ·cos(task) + (1−λ)·cos(observation)` inside PostgreSQL.

A record's embedding is [unit(task); unit(observation)], so its inner product with the query
[λ·unit(q_task); (1−λ)·unit(q_obs)] is exactly that score, for any λ chosen per query, and
pgvector's `<#>` (negative inner product) orders by it. Small memories are scanned exactly;
larger ones use the memory's own HNSW index (built once they outgrow the scan: indexing.py).
Candidates are rescored and their ties broken in the same statement, which for `retrieve`
also returns the records and their action values: a retrieval is one round trip once the
transaction is prepared (`uses_index`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession

from rememberer import schemas
from rememberer.memories.catalog import MemoryInfo
from rememberer.memories.records import ACTION_ORDER, RECORD_COLUMNS, record_fields
from rememberer.search.indexing import INDEXES_USABLE, IndexBuilder
from rememberer.search.lcs import ElementSimilarity
from rememberer.search.query import Filters, SearchQuery, TaskScope, search_binds
from rememberer.storage.db import statements

# Candidates fetched beyond k so that ties at the k-th place are broken by the contract's
# rules (visits, then age) rather than by the index's order.
TIE_MARGIN = 10
# Candidates per result that the index proposes and the full-precision vectors rescore: the
# index orders by half-precision vectors, whose rounding reorders records whose scores are
# closer than about 1e-3, common where many records share a task or a room.
RESCORED_PER_RESULT = 8
# ef_search grows with the candidates asked for: the configured value is the one measured
# for k = 5 at λ = 0.5 (docs/PERFORMANCE.md); pgvector allows at most 1000.
EF_PER_CANDIDATE = 4
MAX_EF_SEARCH = 1000
# How the list's length changes with λ (ef_search_at): longer where the observation index
# leads, and longest at λ = 0, where it searches alone.
OBSERVATION_EF_GROWTH = 1.5
OBSERVATION_ALONE_EF_GROWTH = 3.0
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
    # Builds the index of a memory found above `exact_max_records` without one.
    indexes: IndexBuilder = field(compare=False)
    # Memories this process has seen above `exact_max_records` with a usable index. Records
    # are rarely deleted, so such a memory is searched through its index from then on,
    # without counting.
    large_memories: set[int] = field(default_factory=set, compare=False)
    # Those of them with more tasks than the near-task search ranks: a memory's tasks are
    # never fewer, so the search skips that step for them (and the statement's count of
    # their tasks) from then on.
    many_task_memories: set[int] = field(default_factory=set, compare=False)


@dataclass(frozen=True)
class Ranked:
    record_id: int
    score: float
    task_score: float
    observation_score: float
    total_visits: int


def ef_search_for(candidates: int, configured: int) -> int:
    return min(MAX_EF_SEARCH, max(configured, EF_PER_CANDIDATE * candidates))


def ef_search_at(candidates: int, configured: int, lambda_: float) -> int:
    """hnsw.ef_search for `candidates` at λ, measured in docs/PERFORMANCE.md. From λ = 0.5
    the whole-vector index fits the query best, and the list of 1× keeps recall, with the
    own task's records and (in a memory of few tasks) the near tasks' and the observation
    index's beside it. Below λ = 0.5 the candidates that matter are the observation
    index's, whose walk needs a longer list (1.5×; 3× at λ = 0, where it searches alone)."""
    growth = _ef_growth(lambda_)
    return min(MAX_EF_SEARCH, int(ef_search_for(candidates, configured) * growth))


def _ef_growth(lambda_: float) -> float:
    if lambda_ == 0.0:
        return OBSERVATION_ALONE_EF_GROWTH
    if lambda_ < 0.5:
        return OBSERVATION_EF_GROWTH
    return 1.0


def rescored_candidates(k: int) -> int:
    """How many candidates the index proposes for the k best records."""
    return RESCORED_PER_RESULT * k + TIE_MARGIN


def search_effort(k: int, lambda_: float, configured: int) -> tuple[int, int]:
    """(hnsw.ef_search, candidates fetched by each scan) for the k best records at λ."""
    candidates = rescored_candidates(k)
    return ef_search_at(candidates, configured, lambda_), candidates


# The tasks nearest the query's (by their vectors: memory_tasks, migration 0012) whose records
# the search proposes too, in a memory of at most NEAR_TASKS_MEMORY_MAX tasks, which are
# ranked exactly; a memory of more tasks has few records per task, and its whole-vector
# walk passes from one task to the next. Five, not three: objectives of one kind of game
# are often near-equal in cosine (the 3rd and 4th nearest differing by 0.001 on textworld),
# and a walk whose bound already fails costs nothing (docs/PERFORMANCE.md, fourth pass).
NEAR_TASKS = 5
NEAR_TASKS_MEMORY_MAX = 1_000
# Below this λ the observation walk finds what a near task holds (measured: no recall
# gained at λ 0.1 and 0.3 on any distribution, and walks that ran more often).
NEAR_TASKS_FROM_LAMBDA = 0.5
# Records proposed per near task: the best five overall are among a near task's first few.
NEAR_TASK_CANDIDATES = 10
# A near task's walk goes through the whole-vector index by [task; w·observation]: its nearest
# records are that task's (equal task halves) in the order of their observations, and
# those of tasks near it with observations nearer the query's. A small w keeps the walk
# among the task's own records, but there it gets stuck: the graph links a task's records
# across rooms through other tasks' records, which a small w makes look worse, and at
# w = 0.1 a walk ended among a task's records of cos 0.73 to the query's observation while
# the task held some of 0.88 (found by ef_search 400). With w = 0.8 it passes through.
# A walk filtered to the task instead passes by every record near the query's observation
# first (20 µs each, thousands of them).
NEAR_TASK_OBSERVATION_WEIGHT = 0.8


# Forbidding sorts leaves the HNSW index as the only plan even with stale statistics (which
# otherwise may prefer the memory_id B-tree plus a sort of every record). The iterative scan
# goes on past the first ef_search candidates when the heap refuses some of them: deleted
# records stay in the graph until VACUUM, and without it a search among many of them answers
# fewer than k. In relaxed order, since candidates are rescored and sorted anyway; with
# nothing refused it returns exactly what the plain scan would. No parallel workers: starting
# them costs more (milliseconds) than the few hundred rows of the own-task scan they would
# share. Generic plans are forced: psycopg prepares a statement run five times, and an
# update's transaction runs its learning statements (with the bootstrap's search in them)
# under these settings; planning each anew cost revisits 40 % of their rate, and a search
# 0.5-0.7 ms of its p50 at 100k records (prepared statements, A/B on one database).
# (Custom plans were needed while the own task was matched by its text: the generic plan
# counted a common task's records by reading the whole table.) The settings end with the
# transaction; the statements that follow in it gain nothing from a sort plan. The recall
# bench runs its searches under the same SEARCH_SETTINGS.
SEARCH_SETTINGS = {
    "hnsw.iterative_scan": "relaxed_order",
    "enable_sort": "off",
    "max_parallel_workers_per_gather": "0",
    "plan_cache_mode": "force_generic_plan",
}
# Each column named: `statements` reads rows as named tuples, which need distinct names.
_TUNE_TRANSACTION = text(
    "SELECT set_config('hnsw.ef_search', :ef_search, true) AS ef_search, "
    + ", ".join(
        f"set_config('{name}', '{value}', true) AS {name.replace('.', '_')}"
        for name, value in SEARCH_SETTINGS.items()
    )
)
# What `uses_index` decided in the session's current transaction.
_DECIDED = "rememberer.search"


@dataclass(frozen=True)
class _Decision:
    transaction: object
    memory_id: int
    index: bool
    ef_search: int | None


async def uses_index(
    session: AsyncSession,
    memory: MemoryInfo,
    params: SearchParams,
    candidates: int,
    lambda_: float,
) -> bool:
    """Whether to search through the memory's HNSW index (else an exact scan), with the
    transaction prepared for it. Decided once per transaction and memory: at most one round
    trip (a capped count with the index's state, or the index's settings), none after
    that. A memory past the exact scan without a usable index gets one built (indexing.py)
    and is scanned exactly until it is ready."""
    ef_search = ef_search_at(candidates, params.ef_search, lambda_)
    decided = session.info.get(_DECIDED)
    transaction = session.get_transaction()
    if (
        isinstance(decided, _Decision)
        and transaction is not None
        and decided.transaction is transaction
        and decided.memory_id == memory.id
        and (not decided.index or decided.ef_search == ef_search)
    ):
        return decided.index
    if memory.id not in params.large_memories:
        size, indexed, tasks = await _size_and_index(session, memory, params.exact_max_records)
        if size > params.exact_max_records and not indexed:
            params.indexes.request(memory)  # built in the background; scanned until then
        if size <= params.exact_max_records or not indexed:
            session.info[_DECIDED] = _Decision(session.get_transaction(), memory.id, False, None)
            return False
        params.large_memories.add(memory.id)
        if tasks > NEAR_TASKS_MEMORY_MAX:
            params.many_task_memories.add(memory.id)
    # On the driver connection, as the searches that follow: SQLAlchemy's execute costs
    # about 0.15 ms a statement more (docs/PERFORMANCE.md, fifth pass).
    async with statements(session, pipelined=False) as send:
        await send(_TUNE_TRANSACTION, {"ef_search": str(ef_search)})
    session.info[_DECIDED] = _Decision(session.get_transaction(), memory.id, True, ef_search)
    return True


_SIZE_AND_INDEX = text(
    "SELECT (SELECT count(*) FROM (SELECT 1 FROM records WHERE memory_id = :m LIMIT :over) r), "
    f"{INDEXES_USABLE}, "
    "(SELECT count(*) FROM (SELECT 1 FROM memory_tasks WHERE memory_id = :m LIMIT :tasks_over) t)"
)


async def _size_and_index(
    session: AsyncSession, memory: MemoryInfo, cap: int
) -> tuple[int, bool, int]:
    """The memory's record count, counted no further than `cap` + 1, whether its HNSW
    indexes are there and usable, and its task count, counted to one past
    NEAR_TASKS_MEMORY_MAX."""
    binds = {
        "m": memory.id,
        "over": cap + 1,
        "indexes": list(memory.index_names),
        "tasks_over": NEAR_TASKS_MEMORY_MAX + 1,
    }
    row = (await session.execute(_SIZE_AND_INDEX, binds)).one()
    return int(row[0]), bool(row[1]), int(row[2])


# Records of the query's task (:task_text), or of other tasks; in the scan itself, so that the
# index's iterative scan goes on past the candidates the filter leaves out.
_TASK_FILTERS = {
    None: "",
    "same": "AND EXISTS (SELECT 1 FROM records f WHERE f.id = record_id AND f.task = :task_text)",
    "other": "AND NOT EXISTS "
    "(SELECT 1 FROM records f WHERE f.id = record_id AND f.task = :task_text)",
}
# The records of the query's own task are ranked by their observation exactly when there are
# at most this many (the scan costs about a millisecond per thousand), else through the
# observation index with the task as a filter.
OWN_TASK_EXACT_MAX = 1_000


@dataclass(frozen=True)
class Scans:
    """Which searches propose a query's candidates, which are then rescored together.

    The whole-vector index serves λ near 0.5. A query that weighs one half much more is
    least like the vectors that index links, and at 100k records its walk misses records an
    exact scan finds (docs/PERFORMANCE.md): so the observation index proposes candidates
    below λ = 0.5 (below λ = 1 in a memory of few tasks, WHOLE_WALK_ALONE_FROM_LAMBDA), and,
    for λ > 0, the records of the query's own task are ranked by their observation, which
    are the best records whenever λ weighs the task heavily. In a memory of few tasks, the
    walk over whole vectors stays among the records of the query's task (their task halves
    are equal) and misses a neighbouring task's records: from λ = 0.5, where the task weighs
    at least as much as the observation, each of the tasks nearest the query's gets a walk
    of its own if it may hold a better record (`near_tasks`)."""

    whole: bool
    observation: bool
    own_task: bool
    near_tasks: bool = False


# From this λ, in a memory of many tasks, the whole-vector walk proposes by itself what the
# observation walk would add: each task has few records there, and the walk passes from one
# task's records to another's by their observations. In a memory of few tasks the
# observation walk still finds records the others miss (its rooms are near-duplicate
# clusters the whole-vector walk does not leave), so it stays there (docs/PERFORMANCE.md,
# fifth pass).
WHOLE_WALK_ALONE_FROM_LAMBDA = 0.5


def scans_for(
    lambda_: float,
    task_known: bool,
    task_filter: TaskScope | None = None,
    many_tasks: bool = False,
) -> Scans:
    """The scans of a query at λ; `task_known`: the query binds its task's text;
    `many_tasks`: the memory is known to have more tasks than the near-task search ranks."""
    return Scans(
        whole=lambda_ > 0.0,
        observation=lambda_ < (WHOLE_WALK_ALONE_FROM_LAMBDA if many_tasks else 1.0),
        own_task=lambda_ > 0.0 and task_known and task_filter != "other",
        near_tasks=lambda_ >= NEAR_TASKS_FROM_LAMBDA and task_filter is None and not many_tasks,
    )


def _indexed_ids(memory: MemoryInfo, task_filter: TaskScope | None, scans: Scans) -> str:
    """The ids the scans propose, :n from each (some twice)."""
    select = f"SELECT record_id FROM record_embeddings WHERE memory_id = {int(memory.id)}"
    filtered = f"{select} {_TASK_FILTERS[task_filter]}"
    searches = []
    if scans.whole:
        searches.append(f"{filtered} ORDER BY {memory.index_order(':q')}")
    if scans.observation:
        searches.append(f"{filtered} ORDER BY {memory.index_order(':o', 'observation')}")
    if scans.own_task:
        # One of these two runs, by the count (`_own_task_count`); the other stops at its
        # one-time filter.
        own = "(SELECT n FROM own_task)"
        d = memory.dimension
        searches.append(
            f"SELECT r.id FROM records r JOIN record_embeddings e ON e.record_id = r.id "
            f"WHERE {_own_task_rows(memory, 'r.')} "
            f"AND {own} <= {OWN_TASK_EXACT_MAX} "
            f"ORDER BY subvector(e.embedding, {d + 1}, {d}) <#> :o"
        )
        # The task's record by primary key, per candidate the walk reaches: the planner
        # otherwise reads every record of the task first to join them.
        of_own_task = (
            "(SELECT f.task_hash FROM records f WHERE f.id = record_id) = hashtext(:task_text)"
        )
        order = memory.index_order(":o", "observation")
        searches.append(
            f"{select} AND {own} > {OWN_TASK_EXACT_MAX} AND {of_own_task} ORDER BY {order}"
        )
    return " UNION ALL ".join(f"({search} LIMIT :n)" for search in searches)


def _own_task_rows(memory: MemoryInfo, table: str = "") -> str:
    """The memory's records of the query's task, from `records_memory_task` alone (0011).
    By hash: another task's record of the same hash is one more candidate, scored like all."""
    return f"{table}memory_id = {int(memory.id)} AND {table}task_hash = hashtext(:task_text)"


def _with(shared: list[str]) -> str:
    """A WITH of the statement's common tables, if any: computed once, read by several."""
    return f"WITH {', '.join(shared)}" if shared else ""


def _own_task_count(memory: MemoryInfo) -> str:
    """`own_task`: how many records the query's task has, counted to one past the exact
    scan's limit; once per statement, for the two searches that depend on it."""
    return (
        f"own_task AS MATERIALIZED (SELECT count(*) AS n FROM (SELECT 1 FROM records "
        f"WHERE {_own_task_rows(memory)} "
        f"LIMIT {OWN_TASK_EXACT_MAX + 1}) own)"
    )


def _near_tasks(memory: MemoryInfo, scans: Scans) -> str:
    """`near_tasks`: the vectors of the NEAR_TASKS tasks nearest the query's task (:t) other
    than its own, if the memory has few enough tasks to rank them all."""
    m = int(memory.id)
    few = (
        f"(SELECT count(*) FROM (SELECT 1 FROM memory_tasks WHERE memory_id = {m} "
        f"LIMIT {NEAR_TASKS_MEMORY_MAX + 1}) m) <= {NEAR_TASKS_MEMORY_MAX}"
    )
    not_own = "AND task_hash <> hashtext(:task_text)" if scans.own_task else ""
    return (
        f"near_tasks AS MATERIALIZED (SELECT embedding FROM memory_tasks "
        f"WHERE memory_id = {m} AND {few} {not_own} "
        f"ORDER BY embedding <#> :t LIMIT {NEAR_TASKS})"
    )


def _near_task_records(memory: MemoryInfo) -> str:
    """For each of the `near_tasks` that may hold a record better than the k-th of the
    `first` candidates, NEAR_TASK_CANDIDATES of its records nearest the query's observation,
    by its own walk through the whole-vector index."""
    d = memory.dimension
    weight = f"array_fill({NEAR_TASK_OBSERVATION_WEIGHT}::real, ARRAY[{d}])::vector"
    aim = f"(t.embedding || (CAST(:o AS vector) * {weight}))"
    # The task's part of a record's score, λ·cos(task), is the inner product with :q's task
    # half; its observation's part is at most the best the observation walk found.
    may_be_better = f"-(t.embedding <#> subvector(:q, 1, {d})) + b.observation_part >= b.kth"
    walk = (
        f"SELECT record_id FROM record_embeddings WHERE memory_id = {int(memory.id)} "
        f"AND {may_be_better} "
        f"ORDER BY {memory.index_order(aim)} LIMIT {NEAR_TASK_CANDIDATES}"
    )
    # The bound on the rows tells the planner that the ids are few (it otherwise reads
    # every id of record_embeddings to hash them for the join).
    return (
        f"SELECT s.record_id FROM near_tasks t CROSS JOIN bar b CROSS JOIN LATERAL ({walk}) s "
        f"LIMIT {NEAR_TASKS * NEAR_TASK_CANDIDATES}"
    )


def _bar(memory: MemoryInfo) -> str:
    """`bar`: the k-th best score among the `first` candidates (-∞ if fewer), and the best
    observation part of a score among them."""
    d = memory.dimension
    kth = "(SELECT -(embedding <#> :q) FROM first ORDER BY 1 DESC OFFSET :k - 1 LIMIT 1)"
    observation_part = (
        f"(SELECT max(-(subvector(embedding, {d + 1}, {d}) <#> subvector(:q, {d + 1}, {d}))) "
        "FROM first)"
    )
    return (
        f"bar AS MATERIALIZED (SELECT COALESCE({kth}, '-Infinity') AS kth, "
        f"COALESCE({observation_part}, 1.0) AS observation_part)"
    )


def _indexed_candidates(memory: MemoryInfo, task_filter: TaskScope | None, scans: Scans) -> str:
    """The ids and vectors of the candidates the scans propose through the memory's indexes:
    the near tasks' walks after the others, whose k-th best tells which may matter."""
    shared = []
    if scans.own_task:
        shared.append(_own_task_count(memory))
    ids = _indexed_ids(memory, task_filter, scans)
    first = "SELECT record_id AS id, embedding FROM record_embeddings " + (
        f"WHERE record_id IN ({ids})" if ids else "WHERE false"
    )
    if not scans.near_tasks:
        return f"{_with(shared)} {first}"
    shared += [_near_tasks(memory, scans), f"first AS MATERIALIZED ({first})", _bar(memory)]
    return f"""{_with(shared)}
        SELECT id, embedding FROM first
        UNION ALL
        SELECT record_id, embedding FROM record_embeddings
        WHERE record_id IN ({_near_task_records(memory)})
          AND record_id NOT IN (SELECT id FROM first)
    """


def _found_sql(memory: MemoryInfo, index: bool, task_filter: TaskScope | None, scans: Scans) -> str:
    """The ids and vectors of the records the `scans` propose (or an exact scan's :n)."""
    if index:
        return _indexed_candidates(memory, task_filter, scans)
    # memory_id is a literal so that the planner can match the memory's partial indexes.
    return f"""
        SELECT record_id AS id, embedding FROM record_embeddings
        WHERE memory_id = {int(memory.id)} {_TASK_FILTERS[task_filter]}
        ORDER BY embedding <#> :q LIMIT :n
    """


def _partial_scores(memory: MemoryInfo, table: str) -> str:
    """A record's task_score and observation_score, from its vector in `table`."""
    d = memory.dimension
    return (
        f"-(subvector({table}.embedding, 1, {d}) <#> :t) AS task_score, "
        f"-(subvector({table}.embedding, {d + 1}, {d}) <#> :o) AS observation_score"
    )


def _total_visits(table: str) -> str:
    return (
        f"COALESCE((SELECT sum(a.visits) FROM action_values a WHERE a.record_id = {table}.id), 0)"
        " AS total_visits"
    )


@lru_cache(maxsize=1024)
def candidates_sql(
    memory: MemoryInfo,
    index: bool,
    with_observation: bool = False,
    task_filter: TaskScope | None = None,
    *,
    scans: Scans,
) -> str:
    """The nearest records by the query :q (task :t, observation :o), :n from each of the
    `scans` (or from an exact scan), each with its scores and total action visits, in no
    particular order."""
    observation = "(SELECT observation FROM records r WHERE r.id = c.id)"
    return f"""
        SELECT c.id, {observation if with_observation else "NULL::text"} AS observation,
               -(c.embedding <#> :q) AS score, {_partial_scores(memory, "c")},
               {_total_visits("c")}
        FROM ({_found_sql(memory, index, task_filter, scans)}) c
    """


@lru_cache(maxsize=1024)
def ranking_sql(memory: MemoryInfo, index: bool, filters: Filters, scans: Scans) -> str:
    """The :k best of the candidates, best first (`place` 1, 2, …), with their scores and
    total action visits; with a minimum score, only those scoring at least :min_score.

    Scores equal to SCORE_DECIMALS are ties, broken by the contract's rules (visits, then
    id). Only the candidates whose rounded score reaches the k-th best can be among the k
    best, so only theirs are the visits and the partial scores computed: about k of the
    ~90 candidates (each sum of visits is an index scan, 4 µs, and the vectors need not
    travel through the sort)."""
    at_least = "WHERE score >= :min_score" if filters.min_score else ""
    found = _found_sql(memory, index, filters.task, scans)
    # Fewer than k candidates: no k-th, and every one is a contender (COALESCE).
    kth = "(SELECT rounded FROM scored ORDER BY rounded DESC OFFSET :k - 1 LIMIT 1)"
    return f"""
        WITH scored AS MATERIALIZED (
          SELECT id, embedding, score, round(score::numeric, {SCORE_DECIMALS}) AS rounded
          FROM (SELECT c.id, c.embedding, -(c.embedding <#> :q) AS score FROM ({found}) c) c
          {at_least}
        )
        SELECT s.id, s.score, {_partial_scores(memory, "s")}, s.total_visits,
               row_number() OVER (ORDER BY s.rounded DESC, s.total_visits DESC, s.id) AS place
        FROM (
          SELECT scored.*, {_total_visits("scored")} FROM scored
          WHERE rounded >= COALESCE({kth}, rounded)
        ) s
        ORDER BY place LIMIT :k
    """


def _ranked(row: Any) -> Ranked:
    return Ranked(row.id, row.score, row.task_score, row.observation_score, int(row.total_visits))


async def rank(
    session: AsyncSession, memory: MemoryInfo, query: SearchQuery, params: SearchParams
) -> list[Ranked]:
    """The k best records of the query."""
    if memory.observation_similarity == LCS:
        return await _rank_by_elements(session, memory, query, params)
    candidates = rescored_candidates(query.k)
    index = await uses_index(session, memory, params, candidates, query.lambda_)
    binds = search_binds(query, candidates)
    sql = ranking_sql(memory, index, query.shape, _scans(query, memory, params))
    rows = await session.execute(text(sql), binds)
    return [_ranked(row) for row in rows]


def _scans(query: SearchQuery, memory: MemoryInfo, params: SearchParams) -> Scans:
    many_tasks = memory.id in params.many_task_memories
    return scans_for(query.lambda_, query.task is not None, query.task_filter, many_tasks)


async def _rank_by_elements(
    session: AsyncSession, memory: MemoryInfo, query: SearchQuery, params: SearchParams
) -> list[Ranked]:
    """An "lcs" memory's ranking: the index proposes candidates, the LCS measure of the
    observations' element sequences re-ranks them in Python."""
    observation_text = query.observation_text
    if observation_text is None:
        raise ValueError("an lcs memory ranks by the observation's text; pass observation_text")
    candidates = query.k * LCS_CANDIDATES_PER_RESULT + TIE_MARGIN
    index = await uses_index(session, memory, params, candidates, query.lambda_)
    scans = _scans(query, memory, params)
    sql = candidates_sql(memory, index, True, query.task_filter, scans=scans)
    rows = (await session.execute(text(sql), search_binds(query, candidates))).all()
    # Long screens take the LCS whole seconds: run it off the event loop, which keeps
    # serving other requests meanwhile.
    ranked = await asyncio.to_thread(
        rescored_by_elements,
        [_ranked(row) for row in rows],
        {row.id: row.observation for row in rows},
        observation_text,
        query.lambda_,
    )
    if query.min_score is not None:
        ranked = [r for r in ranked if r.score >= query.min_score]
    ranked.sort(key=lambda r: (-round(r.score, SCORE_DECIMALS), -r.total_visits, r.record_id))
    return ranked[: query.k]


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


# A record's action values as the API lists them, for a query on `records r`.
_ACTIONS_JSON = f"""
    COALESCE((
      SELECT jsonb_agg(
               jsonb_build_object('action', a.action, 'note', a.note, 'q', a.q,
                                  'reward', a.reward, 'visits', a.visits)
               ORDER BY {ACTION_ORDER})
      FROM action_values a WHERE a.record_id = r.id
    ), '[]'::jsonb) AS actions
"""
_EXEMPLAR_ROWS = text(
    f"SELECT {RECORD_COLUMNS}, {_ACTIONS_JSON} FROM records r WHERE r.id = ANY(:ids)"
)


@lru_cache(maxsize=1024)
def _exemplars_sql(memory: MemoryInfo, index: bool, filters: Filters, scans: Scans) -> TextClause:
    """The ranking, with each record and its action values: the whole answer of `retrieve`."""
    record = ", ".join(f"r.{column}" for column in RECORD_COLUMNS.split(", ") if column != "id")
    return text(f"""
        WITH ranked AS ({ranking_sql(memory, index, filters, scans)})
        SELECT ranked.id, ranked.score, ranked.task_score, ranked.observation_score,
               ranked.total_visits, {record}, {_ACTIONS_JSON}
        FROM ranked JOIN records r ON r.id = ranked.id
        ORDER BY ranked.place
    """)


async def retrieve(
    session: AsyncSession, memory: MemoryInfo, query: SearchQuery, params: SearchParams
) -> list[schemas.Exemplar]:
    """The k best records as exemplars: one round trip after `uses_index`, except for "lcs"
    memories, whose ranking is finished in Python before the records are read."""
    if memory.observation_similarity == LCS:
        return await exemplars(session, await rank(session, memory, query, params))
    candidates = rescored_candidates(query.k)
    index = await uses_index(session, memory, params, candidates, query.lambda_)
    sql = _exemplars_sql(memory, index, query.shape, _scans(query, memory, params))
    # On the driver connection: SQLAlchemy's execute costs about 0.15 ms a statement more.
    async with statements(session, pipelined=False) as send:
        found = await send(sql, search_binds(query, candidates))
    return [_exemplar(row, _ranked(row)) for row in await found.all()]


def _exemplar(row: Any, ranked: Ranked) -> schemas.Exemplar:
    return schemas.Exemplar(
        **record_fields(row),
        actions=[schemas.ActionValue(**action) for action in row.actions],
        score=ranked.score,
        task_score=ranked.task_score,
        observation_score=ranked.observation_score,
    )


async def exemplars(session: AsyncSession, ranked: list[Ranked]) -> list[schemas.Exemplar]:
    if not ranked:
        return []
    rows = await session.execute(_EXEMPLAR_ROWS, {"ids": [r.record_id for r in ranked]})
    by_id = {row.id: row for row in rows}
    return [_exemplar(row, r) for r in ranked if (row := by_id.get(r.record_id)) is not None]
