"""Why recall@5 falls short at 100k records, and what other index kinds would do about it.

Not part of `make bench`: one distribution at one size, in SQL on a table of its own (the
record vectors [task; observation] and nothing else), against an exact numpy scan. For each
index it answers the recall suite's queries at λ = 0, 0.5 and 1 with the service's search
effort (its ef_search by λ, 50 candidates rescored exactly), and splits recall between the
queries on a task the memory holds and those on a new task, with the median best exact
score of each group (how similar the best record is at all). Run:

    python -m benchmarks.index_probe --distribution text-game --size 100000

Indexes measured: the service's HNSW shape and denser ones (m 24, 48), and IVFFlat with
√n lists at 10 and 40 probes; each index is built, measured (build time, the insert of 200
new records, recall and SQL time), then dropped.
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

LAMBDAS = (0.0, 0.5, 1.0)
K = 5
TIE = 1e-4
INSERTS = 200
EXPRESSION = f"(emb::halfvec({2 * DIMENSION}))"


@dataclass(frozen=True)
class Index:
    label: str
    ddl: str
    # Session settings that make a query use it at λ (None: the service's ef_search).
    settings: Callable[[float], dict[str, str]]


def hnsw(m: int, ef_construction: int) -> Index:
    def settings(lambda_: float) -> dict[str, str]:
        ef_search, _ = search_effort(K, lambda_, 600)
        return {"hnsw.ef_search": str(ef_search)}

    ddl = (
        f"USING hnsw ({EXPRESSION} halfvec_ip_ops) "
        f"WITH (m = {m}, ef_construction = {ef_construction})"
    )
    return Index(f"HNSW m {m}, ef_construction {ef_construction}", ddl, settings)


def ivfflat(lists: int, probes: int) -> Index:
    ddl = f"USING ivfflat ({EXPRESSION} halfvec_ip_ops) WITH (lists = {lists})"
    return Index(
        f"IVFFlat {lists} lists, {probes} probes", ddl, lambda _: {"ivfflat.probes": str(probes)}
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
    connection: psycopg.Connection, query: Matrix, settings: dict[str, str]
) -> list[int]:
    for name, value in settings.items():
        connection.execute(f"SET {name} = {value}")
    order = f"{EXPRESSION} <#> %s::halfvec({2 * DIMENSION})"
    n = rescored_candidates(K)
    return [
        row[0]
        for row in connection.execute(f"SELECT id FROM t ORDER BY {order} LIMIT {n}", (query,))
    ]


def measure(connection: psycopg.Connection, memory: Memory, index: Index) -> Row:
    rows = np.concatenate([memory.data.tasks, memory.data.observations], axis=1)
    started = time.perf_counter()
    connection.execute(f"CREATE INDEX probe ON t {index.ddl}")
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
            query = np.concatenate([lambda_ * q_task, (1 - lambda_) * q_obs]).astype(np.float32)
            began = time.perf_counter()
            ids = np.array(_candidates(connection, query, index.settings(lambda_)))
            ms.append((time.perf_counter() - began) * 1e3)
            best = ids[np.argsort(-exact[ids])[:K]]
            hits[i] = np.sum(exact[best] >= fifth - TIE) / K
        new = hits[~seen].mean() if (~seen).any() else float("nan")
        by_lambda[lambda_] = (float(hits[seen].mean()), float(new), statistics.median(ms))
    connection.execute("DROP INDEX probe")
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


def report(memory: Memory, size: int, rows: list[Row]) -> str:
    seen_best, new_best = best_scores(memory)
    known = set(memory.data.task_texts)
    n_seen = sum(task in known for task in memory.queries.task_texts)
    lines = [
        f"{memory.name}, {size:,} records, {len(memory.queries)} queries ({n_seen} on a task "
        f"the memory holds, best exact score at λ = 0.5: median {seen_best:.3f}; the others "
        f"on a new task: median {new_best:.3f}). Recall@5 seen / new, SQL p50 ms:",
        "",
        "| index | build s | insert ms | " + " | ".join(f"λ = {x:g}" for x in LAMBDAS) + " |",
        "|---|---:|---:|" + "---|" * len(LAMBDAS),
    ]
    for row in rows:
        cells = [
            f"{seen_r:.3f} / {new_r:.3f}, {ms:.1f}" for seen_r, new_r, ms in row.by_lambda.values()
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
    indexes = [hnsw(12, 256), hnsw(24, 256), hnsw(48, 256), ivfflat(lists, 10), ivfflat(lists, 40)]
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
