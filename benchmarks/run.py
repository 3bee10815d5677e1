"""One command for every benchmark: `python -m benchmarks.run` (or `make bench`).

Starts an embedded PostgreSQL and the service (`rememberer serve`, its own process), seeds
memories of each size by COPY with client vectors, measures retrieval, recall, the scans
side by side, updates and server-side embeddings, and writes the tables to
docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import logging
import pickle
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from rememberer.config import Settings
from rememberer.memories.catalog import IndexShape

from benchmarks import backends as embedder_backends
from benchmarks.compat_bench import CompatPlan, compat
from benchmarks.cpu import CpuMeter
from benchmarks.data import Generator
from benchmarks.embedding_bench import embedder_throughput, page_texts, server_embedded_retrieval
from benchmarks.import_bench import import_rate
from benchmarks.load import get, run_load
from benchmarks.machine import describe
from benchmarks.memory_bench import Plan, measure_size
from benchmarks.pool_bench import ServiceStarter, pool_sweep
from benchmarks.recall_suite import RecallOptions, recall_suite
from benchmarks.reflections_bench import ReflectionPlan, reflections
from benchmarks.report import Report, render
from benchmarks.seed import connect, memory_info
from benchmarks.service import Service, database
from benchmarks.tune import EF_SEARCHES, SHAPES, tune

logger = logging.getLogger("benchmarks")

DEFAULT_SIZES = (1_000, 10_000, 100_000)
EMBED_THREADS = (1, 2)
REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Options:
    sizes: Sequence[int] = DEFAULT_SIZES
    plan: Plan = field(default_factory=Plan)
    embed_texts: int = 512
    server_embedded: int = 100
    # GET /healthz, which touches neither the database nor the model: what the HTTP stack
    # alone answers, the ceiling of any one-call-per-transition rate.
    http_floor_calls: int = 3000
    tune_queries: int = 100
    # Records bulk-imported into a new memory (and a tenth of that into the largest one).
    import_records: int = 10_000
    shapes: Sequence[IndexShape] = SHAPES
    ef_searches: Sequence[int] = EF_SEARCHES
    recall: RecallOptions = field(default_factory=RecallOptions)
    compat: CompatPlan = field(default_factory=CompatPlan)
    reflections: ReflectionPlan = field(default_factory=ReflectionPlan)
    seed: int = 0
    name_prefix: str = "bench"


def _parser() -> argparse.ArgumentParser:
    defaults = Options()
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument(
        "--sizes",
        type=lambda s: [int(x) for x in s.split(",")],
        default=list(defaults.sizes),
        help="comma-separated memory sizes (default 1000,10000,100000)",
    )
    parser.add_argument("--queries", type=int, default=defaults.plan.queries)
    parser.add_argument("--embed-texts", type=int, default=defaults.embed_texts)
    parser.add_argument("--server-embedded", type=int, default=defaults.server_embedded)
    parser.add_argument("--tune-queries", type=int, default=defaults.tune_queries)
    parser.add_argument("--import-records", type=int, default=defaults.import_records)
    parser.add_argument(
        "--recall-sizes",
        type=lambda s: [int(x) for x in s.split(",") if x],
        help="memory sizes of the recall suite, every distribution at each (default: those "
        "of --sizes from 10,000 up, else 10,000; empty: none)",
    )
    parser.add_argument("--recall-queries", type=int, default=defaults.recall.queries)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "BENCHMARKS.md")
    parser.add_argument("--data-dir", type=Path, help="where the embedded PostgreSQL lives")
    return parser


Resident = Callable[[], tuple[int, int]]


def measure(
    api: httpx.Client,
    url: str,
    options: Options,
    resident: Resident,
    start_service: ServiceStarter | None = None,
    cpu: CpuMeter | None = None,
) -> Report:
    """Every measurement, against the service at `api` on the database at `url`;
    `resident` reads the service's (current, peak) resident memory; `start_service`, if
    given, starts more service processes for the pool sizes; `cpu`, if given, splits the
    updates' CPU time between the service and the database."""
    with connect(url) as connection:
        machine = describe(connection)
    started = time.perf_counter()
    idle_rss = resident()[0]
    generator = Generator(seed=options.seed)
    plan = options.plan
    sizes = [
        measure_size(api, url, generator, f"{options.name_prefix}-{size}", size, plan, cpu)
        for size in options.sizes
    ]
    largest = sizes[-1]
    logger.info("HTTP floor")
    http_floor = run_load(
        str(api.base_url), [get("/healthz")] * options.http_floor_calls, plan.agents
    )
    logger.info("server-embedded retrieval")
    server = server_embedded_retrieval(api, largest.memory, options.server_embedded)
    rss, peak_rss = resident()
    pools = []
    if start_service is not None:
        logger.info("connection pool sizes")
        pools = pool_sweep(start_service, largest)
    logger.info("HNSW shapes and ef_search")
    with connect(url) as connection:
        tuning = tune(
            connection,
            memory_info(connection, largest.memory),
            largest,
            options.tune_queries,
            options.shapes,
            options.ef_searches,
        )
    logger.info("recall per distribution and λ")
    recall = recall_suite(api, url, options.recall, options.name_prefix)
    # Last of the runs on the largest memory: the import adds records to it.
    logger.info("bulk import")
    fresh = f"{options.name_prefix}-import"
    api.post("/v1/memories", json={"name": fresh, "embedder": "client"}).raise_for_status()
    imports = [
        import_rate(api, fresh, "a new memory", generator.dataset(options.import_records, "imp")),
        import_rate(
            api,
            largest.memory,
            f"the {largest.size:,}-record memory"
            + (" (indexed)" if largest.size > Settings().exact_search_max_records else ""),
            generator.dataset(max(1, options.import_records // 10), "imp-large"),
        ),
    ]
    logger.info("compatibility features")
    compat_result = compat(api, str(api.base_url), options.name_prefix, options.compat)
    logger.info("reflections")
    reflection_result = reflections(str(api.base_url), options.name_prefix, options.reflections)
    logger.info("embedder throughput")
    texts = page_texts(options.embed_texts, seed=1, prefix="page")
    embed = [embedder_throughput(texts, threads) for threads in EMBED_THREADS]
    backends = embedder_backends.compare(texts, threads=max(EMBED_THREADS))
    return Report(
        machine=machine,
        plan=plan,
        sizes=sizes,
        embed=embed,
        server_embedded=server,
        idle_rss=idle_rss,
        rss=rss,
        peak_rss=peak_rss,
        tuning=tuning,
        recall=recall,
        compat=compat_result,
        reflections=reflection_result,
        backends=backends,
        pools=pools,
        imports=imports,
        http_floor=http_floor,
        seconds=time.perf_counter() - started,
    )


def run(options: Options, data_dir: Path | None) -> Report:
    """Start an embedded PostgreSQL and the service, and measure."""
    with tempfile.TemporaryDirectory(prefix="rememberer-bench-") as scratch:
        folder = data_dir or Path(scratch)
        with (
            database(folder) as url,
            Service(url, {}, folder / "service.log") as service,
            httpx.Client(base_url=service.url, timeout=600) as api,
        ):

            @contextmanager
            def start_service(settings: Mapping[str, str]) -> Iterator[str]:
                with Service(url, settings, folder / "service-pool.log") as other:
                    yield other.url

            cpu = CpuMeter.of(service.running_process.pid, url)
            return measure(api, url, options, service.resident_bytes, start_service, cpu)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    recall_sizes = args.recall_sizes
    if recall_sizes is None:
        recall_sizes = [size for size in sorted(args.sizes) if size >= 10_000] or [10_000]
    options = Options(
        sizes=sorted(args.sizes),
        plan=Plan(queries=args.queries),
        embed_texts=args.embed_texts,
        server_embedded=args.server_embedded,
        tune_queries=args.tune_queries,
        import_records=args.import_records,
        recall=RecallOptions(
            sizes=recall_sizes,
            queries=args.recall_queries,
            shape_sizes=recall_sizes[:1],
        ),
        seed=args.seed,
    )
    report = run(options, args.data_dir)
    # Kept, so that the document can be written again without measuring again.
    kept = Path(tempfile.gettempdir()) / f"{args.out.stem}.pickle"
    with kept.open("wb") as stream:
        pickle.dump(report, stream)
    logger.info("the measurements are kept in %s", kept)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(report))
    logger.info("wrote %s", args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
