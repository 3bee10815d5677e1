"""The recall suite: every distribution at every size, with the service's search and index.

Part of `make bench`; alone, without the rest of the run:

    python -m benchmarks.recall_suite --sizes 10000 --queries 100 --out /tmp/recall.md
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from rememberer.memories.catalog import IndexShape

from benchmarks import real_text
from benchmarks.distributions import SYNTHETIC, Memory
from benchmarks.recall_bench import SHAPES, RecallRow, ShapeRow, measure_distribution
from benchmarks.recall_report import render_recall
from benchmarks.seed import connect
from benchmarks.service import scratch_service

logger = logging.getLogger("benchmarks")

CACHE = Path(__file__).resolve().parent / "corpora" / ".cache"


@dataclass(frozen=True)
class RecallOptions:
    sizes: Sequence[int] = (10_000,)
    queries: int = 100
    distributions: Sequence[str] = (*SYNTHETIC, real_text.NAME)
    shapes: Sequence[IndexShape] = SHAPES
    # Sizes at which the index shapes are compared too (each shape is built once per
    # distribution and size).
    shape_sizes: Sequence[int] = (10_000,)
    seed: int = 0
    cache_dir: Path = CACHE


@dataclass
class RecallResult:
    recall: list[RecallRow] = field(default_factory=list)
    shapes: list[ShapeRow] = field(default_factory=list)
    seconds: float = 0.0


def make_memory(name: str, size: int, options: RecallOptions) -> Memory:
    if name == real_text.NAME:
        options.cache_dir.mkdir(parents=True, exist_ok=True)
        return real_text.textworld(size, options.queries, options.seed, options.cache_dir)
    return SYNTHETIC[name](size, options.queries, options.seed)


def recall_suite(api: httpx.Client, url: str, options: RecallOptions, prefix: str) -> RecallResult:
    """Each distribution at each size in a new memory of the service at `api`."""
    started = time.perf_counter()
    result = RecallResult()
    for size in options.sizes:
        for name in options.distributions:
            memory = make_memory(name, size, options)
            memory_name = f"{prefix}-recall-{name}-{size}"
            api.post("/v1/memories", json={"name": memory_name}).raise_for_status()
            shapes = options.shapes if size in options.shape_sizes else ()
            with connect(url) as connection:
                recall, shape_rows = measure_distribution(
                    connection, url, memory_name, memory, shapes
                )
            result.recall += recall
            result.shapes += shape_rows
            # The memory served its purpose: its records would slow every later build.
            api.delete(f"/v1/memories/{memory_name}").raise_for_status()
    result.seconds = time.perf_counter() - started
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.recall_suite", description=__doc__)
    parser.add_argument(
        "--sizes", type=lambda s: [int(x) for x in s.split(",") if x], default=[10_000]
    )
    parser.add_argument("--shape-sizes", type=lambda s: [int(x) for x in s.split(",") if x])
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--distributions", type=lambda s: s.split(","))
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    defaults = RecallOptions()
    options = RecallOptions(
        sizes=args.sizes,
        queries=args.queries,
        distributions=args.distributions or defaults.distributions,
        shape_sizes=args.sizes if args.shape_sizes is None else args.shape_sizes,
    )
    with scratch_service("rememberer-recall-") as (url, api):
        result = recall_suite(api, url, options, "bench")
    args.out.write_text("\n".join(render_recall(result.recall, result.shapes)))
    logger.info("wrote %s", args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
