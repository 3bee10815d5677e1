"""One command for every benchmark: `python -m benchmarks.run` (or `make bench`).

Starts an embedded PostgreSQL and the service (`rememberer serve`, its own process), seeds
memories of each size by COPY with client vectors, measures retrieval, recall, the scans
side by side, updates and server-side embeddings, and writes the tables to
docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

from benchmarks.data import Generator
from benchmarks.embedding_bench import embedder_throughput, page_texts, server_embedded_retrieval
from benchmarks.machine import describe
from benchmarks.memory_bench import Plan, measure_size
from benchmarks.report import Report, render
from benchmarks.seed import connect
from benchmarks.service import Service, database

logger = logging.getLogger("benchmarks")

DEFAULT_SIZES = (1_000, 10_000, 100_000)
REPO = Path(__file__).resolve().parents[1]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument(
        "--sizes",
        type=lambda s: [int(x) for x in s.split(",")],
        default=list(DEFAULT_SIZES),
        help="comma-separated memory sizes (default 1000,10000,100000)",
    )
    parser.add_argument("--queries", type=int, default=300, help="retrievals per measurement")
    parser.add_argument("--embed-texts", type=int, default=512, help="texts for embedder speed")
    parser.add_argument("--server-embedded", type=int, default=100, help="uncached retrievals")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "BENCHMARKS.md")
    parser.add_argument("--data-dir", type=Path, help="where the embedded PostgreSQL lives")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the synthetic data")
    return parser


def run(args: argparse.Namespace, plan: Plan, settings: dict[str, str]) -> Report:
    with tempfile.TemporaryDirectory(prefix="rememberer-bench-") as scratch:
        data_dir = args.data_dir or Path(scratch)
        with database(data_dir) as url:
            with connect(url) as connection:
                machine = describe(connection)
            generator = Generator(seed=args.seed)
            started = time.perf_counter()
            with (
                Service(url, settings, data_dir / "service.log") as service,
                httpx.Client(base_url=service.url, timeout=600) as api,
            ):
                idle_rss = service.resident_bytes()[0]
                sizes = [measure_size(api, url, generator, size, plan) for size in args.sizes]
                largest = f"bench-{max(args.sizes)}"
                logger.info("server-embedded retrieval")
                server = server_embedded_retrieval(api, largest, args.server_embedded)
                rss, peak_rss = service.resident_bytes()
            logger.info("embedder throughput")
            embed = embedder_throughput(page_texts(args.embed_texts, seed=1, prefix="page"))
    return Report(
        machine=machine,
        plan=plan,
        settings=settings,
        sizes=sizes,
        embed=embed,
        server_embedded=server,
        idle_rss=idle_rss,
        rss=rss,
        peak_rss=peak_rss,
        seconds=time.perf_counter() - started,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    plan = Plan(queries=args.queries)
    report = run(args, plan, settings={})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(report))
    logger.info("wrote %s", args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
