"""The service's search against itself with some of its constants changed (an A/B).

One memory of a recall-suite distribution is seeded; each variant is a set of module
constants of `rememberer.search.retrieval` (NEAR_TASKS=5,NEAR_TASK_OBSERVATION_WEIGHT=0.8);
at every λ each query runs the candidate SQL of every variant in turn, in alternating order,
on one connection, so that the machine's drift falls on all of them alike. Printed: recall@5
of the queries on a task the memory has, and on a new one, and the statement's p50 and p90.

    python -m benchmarks.search_ab --distribution textworld --size 100000 --queries 400 \\
        --variant NEAR_TASKS=3,NEAR_TASK_OBSERVATION_WEIGHT=0.1 \\
        --variant NEAR_TASKS=5,NEAR_TASK_OBSERVATION_WEIGHT=0.8
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from rememberer.search import retrieval

from benchmarks.recall_bench import SERVICE, K, RecallBench, recall_of
from benchmarks.recall_suite import RecallOptions, make_memory
from benchmarks.seed import connect, memory_info, seed
from benchmarks.service import scratch_service

Variant = Mapping[str, float]


@dataclass(frozen=True)
class Outcome:
    variant: str
    lambda_: float
    seen_recall: float
    new_task_recall: float | None
    p50_ms: float
    p90_ms: float


def parse_variant(text: str) -> dict[str, float]:
    """A variant from "NAME=value,…": numeric constants of rememberer.search.retrieval."""
    variant: dict[str, float] = {}
    for part in filter(None, text.split(",")):
        name, _, value = part.partition("=")
        current = getattr(retrieval, name, None)
        if not isinstance(current, int | float) or isinstance(current, bool):
            raise ValueError(f"{name} is not a numeric constant of rememberer.search.retrieval")
        variant[name] = float(value) if isinstance(current, float) else int(value)
    return variant


def variant_name(variant: Variant) -> str:
    return ", ".join(f"{name} {value:g}" for name, value in variant.items()) or "as is"


@contextmanager
def constants(variant: Variant) -> Iterator[None]:
    """retrieval's constants set to `variant` (and its SQL cache emptied) while inside."""
    before = {name: getattr(retrieval, name) for name in variant}
    try:
        for name, value in variant.items():
            setattr(retrieval, name, value)
        retrieval.candidates_sql.cache_clear()
        yield
    finally:
        for name, value in before.items():
            setattr(retrieval, name, value)
        retrieval.candidates_sql.cache_clear()


def compare(bench: RecallBench, variants: Sequence[Variant], lambda_: float) -> list[Outcome]:
    """Every variant's recall and latency at λ, the variants alternating per query."""
    sqls, efforts = [], []
    for variant in variants:
        with constants(variant):
            sqls.append(bench.service_sql(lambda_))
            efforts.append(bench.effort(SERVICE, lambda_))
    count = len(bench.memory.queries)
    hits = np.zeros((len(sqls), count), dtype=np.int64)
    latencies: list[list[float]] = [[] for _ in sqls]
    for q in range(count):
        order = range(len(sqls)) if q % 2 == 0 else reversed(range(len(sqls)))
        for i in order:
            ef_search, candidates = efforts[i]
            # Outside the timed statement; a variant may change ef_search (its growth by λ).
            bench.connection.execute(f"SET hnsw.ef_search = {int(ef_search)}")
            hits[i, q], elapsed = bench.ask(sqls[i], q, lambda_, candidates)
            latencies[i].append(elapsed)
    new = bench.new_task
    return [
        Outcome(
            variant_name(variant),
            lambda_,
            recall_of(hits[i][~new]),
            recall_of(hits[i][new]) if new.any() else None,
            float(np.percentile(latencies[i], 50)),
            float(np.percentile(latencies[i], 90)),
        )
        for i, variant in enumerate(variants)
    ]


def render(name: str, size: int, outcomes: Sequence[Outcome]) -> str:
    lines = [
        f"{name}, {size:,} records: recall@{K} seen / new-task queries, statement p50 / p90 ms",
        "",
        "| variant | λ | recall seen | recall new | p50 ms | p90 ms |",
        "|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        new = "—" if o.new_task_recall is None else f"{o.new_task_recall:.3f}"
        lines.append(
            f"| {o.variant} | {o.lambda_:g} | {o.seen_recall:.3f} | {new} "
            f"| {o.p50_ms:.2f} | {o.p90_ms:.2f} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.search_ab", description=__doc__)
    parser.add_argument("--distribution", default="textworld")
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--lambdas", default="0.5,0.7,0.9,1")
    parser.add_argument("--variant", action="append", type=parse_variant, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    memory = make_memory(args.distribution, args.size, RecallOptions(queries=args.queries))
    outcomes: list[Outcome] = []
    with scratch_service("rememberer-ab-") as (url, api):
        api.post("/v1/memories", json={"name": "ab"}).raise_for_status()
        _, ids = seed(url, "ab", memory.data, index=True)
        with connect(url) as connection:
            bench = RecallBench(connection, memory_info(connection, "ab"), memory, ids)
            bench.answer(SERVICE, 0.5)  # warm the buffer cache
            for lambda_ in (float(x) for x in args.lambdas.split(",")):
                outcomes += compare(bench, args.variant, lambda_)
    sys.stdout.write(render(memory.name, args.size, outcomes) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
