"""Why recall@5 falls short at 100k records, and what other index kinds would do about it.

Not part of `make bench`: one distribution at one size, in SQL on a table of its own (the
record vectors [task; observation] and nothing else), against an exact numpy scan. For
each index it answers the recall suite's queries at λ = 0, 0.1, 0.5, 0.9 and 1 with the
service's search effort (its ef_search by λ, 50 candidates rescored exactly), and splits
recall between the queries on a task the memory holds and those on a new task, with the
median best exact score of each group (how similar the best record is at all). Run:

    python -m benchmarks.index_probe --distribution text-game --size 100000

Indexes measured: the service's HNSW shape and a denser one (m 24); the service's shape plus
one HNSW index per half (task, observation), whose candidates are added to the whole
vector's on the side λ weighs more (and replace them at λ = 0 or 1); IVFFlat with √n lists
at 10 and 40 probes. Each is built, measured (build time, the insert of 200 new records,
recall and SQL time), then dropped.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psycopg
from pgvector.psycopg import register_vector
from rememberer.search.retrieval import rescored_candidates, search_effort
from rememberer.storage.embedded import EmbeddedPostgres

from benchmarks.data import DIMENSION, Matrix
from benchmarks.distributions import Memory
from benchmarks.recall_suite import RecallOptions, make_memory
from tests.support.database import plain_url

logger = logging.getLogger("benchmarks")

LAMBDAS = (0.0, 0.1, 0.5, 0.9, 1.0)
K = 5
TIE = 1e-4
INSERTS = 200
D = DIMENSION
# What an index orders by, and the query vector it takes: the whole [task; observation]
# vector, or one half of it.
PARTS = {
    "whole": (f"(emb::halfvec({2 * D}))", 2 * D),
    "task": (f"(subvector(emb, 1, {D})::halfvec({D}))", D),
    "observation": (f"(subvector(emb, {D + 1}, {D})::halfvec({D}))", D),
}


@dataclass(frozen=True)
class Index:
    label: str
    # CREATE INDEX … ON t <ddl>, one per index the kind needs.
    ddls: tuple[str, ...]
    # The session settings of a query at λ, and the parts it asks for candidates.
    settings: Callable[[float], dict[str, str]]
    parts: Callable[[float], tuple[str, ...]] = lambda _: ("whole",)


def _service_ef(lambda_: float) -> dict[str, str]:
    ef_search, _ = search_effort(K, lambda_, 600)
    return {"hnsw.ef_search": str(ef_search)}


def _hnsw_ddl(part: str, m: int, ef_construction: int) -> str:
    return (
        f"USING hnsw ({PARTS[part][0]} halfvec_ip_ops) "
        f"WITH (m = {m}, ef_construction = {ef_construction})"
    )


def hnsw(m: int, ef_construction: int) -> Index:
    label = f"HNSW m {m}, ef_construction {ef_construction}"
    return Index(label, (_hnsw_ddl("whole", m, ef_construction),), _service_ef)


def _by_side(lambda_: float) -> tuple[str, ...]:
    """The whole-vector index, and the index of the half that λ weighs more; at λ = 0 or 1
    only that half's (the other half weighs nothing)."""
    if lambda_ in (0.0, 1.0):
        return ("task",) if lambda_ == 1.0 else ("observation",)
    if lambda_ == 0.5:
        return ("whole",)
    return ("whole", "task" if lambda_ > 0.5 else "observation")


def hnsw_with_halves(ef_search: int) -> Index:
    ddls = tuple(_hnsw_ddl(part, 12, 256) for part in PARTS)
    label = f"HNSW m 12 whole + one per half, ef_search {ef_search}, union by λ"
    return Index(label, ddls, lambda _: {"hnsw.ef_search": str(ef_search)}, _by_side)


def ivfflat(lists: int, probes: int) -> Index:
    ddl = f"USING ivfflat ({PARTS['whole'][0]} halfvec_ip_ops) WITH (lists = {lists})"
    return Index(
        f"IVFFlat {lists} lists, {probes} probes", (ddl,), lambda _: {"ivfflat.probes": str(probes)}
    )


@dataclass(frozen=True)
class Row:
    index: str
    build_s: float
    insert_ms: float
    # λ → (recall on seen-task queries, recall on new-task queries, SQL p50 ms)
    by_lambda: dict[float, tuple[float, float, float]]


@contextmanager
def vectors_table(folder: Path, memory: Memory) -> Iterator[psycopg.Connection]:
    postgres = EmbeddedPostgres(folder)
    url = postgres.start()
    try:
        with psycopg.connect(plain_url(url), autocommit=True) as connection:
            connection.execute("CREATE EXTENSION IF NOT EXISTS vector")
            register_vector(connection)
            connection.execute(f"CREATE TABLE t (id int PRIMARY KEY, emb vector({2 * DIMENSION}))")
            rows = np.concatenate([memory.data.tasks, memory.data.observations], axis=1)
            with connection.cursor().copy("COPY t (id, emb) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(["int4", "vector"])
                for i, row in enumerate(rows):
                    copy.write_row((i, row))
            connection.execute("VACUUM ANALYZE t")
            connection.execute("SET maintenance_work_mem = '1GB'")
            connection.execute("SET max_parallel_maintenance_workers = 1")
            yield connection
    finally:
        postgres.stop()


def _insert_ms(connection: psycopg.Connection, rows: Matrix) -> float:
    rng = np.random.default_rng(1)
    started = time.perf_counter()
    for j in range(INSERTS):
        near = rows[rng.integers(len(rows))] + rng.standard_normal(rows.shape[1]) * 0.01
        connection.execute(
            "INSERT INTO t VALUES (%s, %s)", (10_000_000 + j, near.astype(np.float32))
        )
    elapsed = time.perf_counter() - started
    connection.execute("DELETE FROM t WHERE id >= 10000000")
    return elapsed / INSERTS * 1e3


def _candidates(
    connection: psycopg.Connection, q_task: Matrix, q_obs: Matrix, lambda_: float, index: Index
) -> set[int]:
    for name, value in index.settings(lambda_).items():
        connection.execute(f"SET {name} = {value}")
    queries = {
        "whole": np.concatenate([lambda_ * q_task, (1 - lambda_) * q_obs]),
        "task": q_task,
        "observation": q_obs,
    }
    found: set[int] = set()
    for part in index.parts(lambda_):
        expression, dimension = PARTS[part]
        order = f"{expression} <#> %s::halfvec({dimension})"
        limit = rescored_candidates(K)
        query = queries[part].astype(np.float32)
        statement = f"SELECT id FROM t ORDER BY {order} LIMIT {limit}"
        found.update(row[0] for row in connection.execute(statement, (query,)))
    return found


def measure(connection: psycopg.Connection, memory: Memory, index: Index) -> Row:
    rows = np.concatenate([memory.data.tasks, memory.data.observations], axis=1)
    started = time.perf_counter()
    for number, ddl in enumerate(index.ddls):
        connection.execute(f"CREATE INDEX probe_{number} ON t {ddl}")
    build_s = time.perf_counter() - started
    insert_ms = _insert_ms(connection, rows)
    known = set(memory.data.task_texts)
    seen = np.array([task in known for task in memory.queries.task_texts])
    by_lambda = {}
    for lambda_ in LAMBDAS:
        hits = np.zeros(len(seen))
        ms = []
        for i in range(len(seen)):
            q_task, q_obs = memory.queries.tasks[i], memory.queries.observations[i]
            exact = lambda_ * (rows[:, :DIMENSION] @ q_task) + (1 - lambda_) * (
                rows[:, DIMENSION:] @ q_obs
            )
            fifth = np.partition(exact, -K)[-K]
            began = time.perf_counter()
            ids = np.array(sorted(_candidates(connection, q_task, q_obs, lambda_, index)))
            ms.append((time.perf_counter() - began) * 1e3)
            best = ids[np.argsort(-exact[ids])[:K]]
            hits[i] = np.sum(exact[best] >= fifth - TIE) / K
        new = hits[~seen].mean() if (~seen).any() else float("nan")
        by_lambda[lambda_] = (float(hits[seen].mean()), float(new), statistics.median(ms))
    for number in range(len(index.ddls)):
        connection.execute(f"DROP INDEX probe_{number}")
    return Row(index.label, build_s, insert_ms, by_lambda)


def best_scores(memory: Memory) -> tuple[float, float]:
    """Median best exact score at λ = 0.5 of the seen-task and of the new-task queries."""
    rows = np.concatenate([memory.data.tasks, memory.data.observations], axis=1)
    known = set(memory.data.task_texts)
    seen: list[float] = []
    new: list[float] = []
    for i, task in enumerate(memory.queries.task_texts):
        query = np.concatenate([memory.queries.tasks[i], memory.queries.observations[i]]) / 2
        (seen if task in known else new).append(float((rows @ query).max()))
    return statistics.median(seen), statistics.median(new) if new else float("nan")


def _share(value: float) -> str:
    """A recall or score; a dash where no query was of that kind."""
    return "—" if np.isnan(value) else f"{value:.3f}"


def report(memory: Memory, size: int, rows: list[Row]) -> str:
    seen_best, new_best = best_scores(memory)
    known = set(memory.data.task_texts)
    n_seen = sum(task in known for task in memory.queries.task_texts)
    lines = [
        f"{memory.name}, {size:,} records, {len(memory.queries)} queries ({n_seen} on a task "
        f"the memory holds, best exact score at λ = 0.5: median {seen_best:.3f}; the others "
        f"on a new task: median {_share(new_best)}). Recall@5 seen / new, SQL p50 ms:",
        "",
        "| index | build s | insert ms | " + " | ".join(f"λ = {x:g}" for x in LAMBDAS) + " |",
        "|---|---:|---:|" + "---|" * len(LAMBDAS),
    ]
    for row in rows:
        cells = [
            f"{seen_r:.3f} / {_share(new_r)}, {ms:.1f}"
            for seen_r, new_r, ms in row.by_lambda.values()
        ]
        lines.append(
            f"| {row.index} | {row.build_s:.0f} | {row.insert_ms:.2f} | " + " | ".join(cells) + " |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--distribution", default="text-game")
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=100)
    args = parser.parse_args()
    memory = make_memory(args.distribution, args.size, RecallOptions(queries=args.queries))
    lists = round(args.size**0.5)
    indexes = [
        hnsw(12, 256),
        hnsw(24, 256),
        hnsw_with_halves(400),
        ivfflat(lists, 10),
        ivfflat(lists, 40),
    ]
    rows = []
    with (
        tempfile.TemporaryDirectory(prefix="rememberer-index-probe-") as folder,
        vectors_table(Path(folder), memory) as connection,
    ):
        for index in indexes:
            rows.append(measure(connection, memory, index))
            logger.info("%s measured", index.label)
    sys.stdout.write(report(memory, args.size, rows))


if __name__ == "__main__":
    main()
