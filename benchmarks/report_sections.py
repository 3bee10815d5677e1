"""Sections of docs/BENCHMARKS.md beside the targets and retrieval: updates, seeding,
imports, embeddings, backends, pools and the HNSW shapes at the largest size."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rememberer.memories.catalog import IndexShape

from benchmarks.cpu import CpuSeconds
from benchmarks.import_bench import BATCH
from benchmarks.load import LoadResult
from benchmarks.memory_bench import LAMBDAS, K, SizeResult
from benchmarks.pool_bench import CLIENTS

if TYPE_CHECKING:
    from benchmarks.report import Report

MIB = 1024 * 1024
NO_INDEX = "—"


def shape_name(shape: IndexShape) -> str:
    return f"{shape.precision}, m={shape.m}, ef_construction={shape.ef_construction}"


def floor_factor(measured: float, goal: float) -> float:
    return goal / measured if measured > 0 else float("inf")


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return [*lines, ""]


def size_name(n: int) -> str:
    return f"{n // 1000}k" if n % 1000 == 0 else str(n)


def cpu_per_transition(result: SizeResult, load: LoadResult, spent: CpuSeconds) -> str:
    transitions = load.requests * result.transitions_per_episode
    return f"{1000 * spent.service / transitions:.2f} / {1000 * spent.database / transitions:.2f}"


def transitions_per_second(result: SizeResult, load: LoadResult) -> float:
    """Transitions/s of one of `result`'s update runs (every call of its load is an episode)."""
    return load.throughput * result.transitions_per_episode


def _seed_rows(report: Report) -> list[list[str]]:
    return [
        [
            size_name(r.size),
            f"{r.seed.copy_seconds:.1f}",
            f"{r.seed.index_seconds:.1f}" if r.seed.index_bytes else NO_INDEX,
            f"{r.seed.index_bytes / MIB:.0f}" if r.seed.index_bytes else NO_INDEX,
            f"{r.seed.table_bytes / MIB:.0f}",
        ]
        for r in report.sizes
    ]


def updates(report: Report) -> list[str]:
    rows = [
        [
            size_name(r.size),
            f"{transitions_per_second(r, r.update_per_step):,.0f}",
            f"{transitions_per_second(r, r.update_per_episode):,.0f}",
            f"{transitions_per_second(r, r.update_revisiting):,.0f}",
        ]
        for r in report.sizes
    ]
    seed = table(
        ["records", "COPY + actions s", "HNSW build s", "index MiB", "tables MiB"],
        _seed_rows(report),
    )
    cpu_rows = [
        [
            size_name(r.size),
            *(
                cpu_per_transition(r, load, spent)
                for load, spent in zip(
                    (r.update_per_step, r.update_per_episode, r.update_revisiting),
                    r.update_cpu,
                    strict=True,
                )
            ),
        ]
        for r in report.sizes
        if r.update_cpu is not None
    ]
    cpu = (
        [
            "CPU time per transition, service / database (ms, from /proc; two cores give "
            "2,000 ms of CPU per second, so 1,000 transitions/s allow 2 ms per transition for "
            "everything, the load generator included):",
            "",
            *table(
                ["records", "one transition per call", "one episode per call", "revisits"], cpu_rows
            ),
        ]
        if cpu_rows
        else []
    )
    return [
        f"## `/update` with {report.plan.agents} concurrent agents (transitions/s)",
        "",
        "New observations: every pair update creates a state record (and, in a memory with an "
        "index, its HNSW entry). "
        "Revisits: the same episodes again under new episode ids, one episode per call, so "
        "every state and action already exists and each bootstrap finds its own record. "
        f"For scale, the HTTP stack alone (`GET /healthz`, no database, no model) answers "
        f"{report.http_floor.throughput:,.0f} calls/s to the same {report.plan.agents} "
        f"clients (p50 {report.http_floor.percentile(50):.1f} ms): the ceiling of any "
        "one-call-per-transition rate on this machine.",
        "",
        *table(
            [
                "records",
                "one transition per call",
                "one episode per call",
                "one episode per call, revisits",
            ],
            rows,
        ),
        *cpu,
        "## Seeding",
        "",
        *seed,
    ]


def imports(report: Report) -> list[str]:
    rows = [
        [
            i.into,
            size_name(i.records),
            f"{i.created_per_second:,.0f}",
            f"{i.replaced_per_second:,.0f}",
        ]
        for i in report.imports
    ]
    header = ["into", "records", "new states, records/s", "the same again (replaced), records/s"]
    return [
        f"## Bulk import (`POST .../records`, {BATCH:,} records per call, one client)",
        "",
        "Each record with two action values; no capacities.",
        "",
        *table(header, rows),
    ]


def embeddings(report: Report) -> list[str]:
    server = report.server_embedded
    cache = server.stats["embedding_cache"]
    rows = [
        *(
            [
                f"embedder, {e.threads} thread{'s' if e.threads > 1 else ''}: batched / one text",
                f"{e.texts_per_second:.0f} texts/s / {e.single_text_ms:.1f} ms",
            ]
            for e in report.embed
        ),
        [
            "retrieve, uncached observation, p50 / p99",
            f"{server.uncached.percentile(50):.1f} / {server.uncached.percentile(99):.1f} ms",
        ],
        [
            "retrieve, cached observation, p50 / p99",
            f"{server.cached.percentile(50):.1f} / {server.cached.percentile(99):.1f} ms",
        ],
        [
            "embedding cache hit rate",
            f"{cache['hit_rate']:.3f} ({cache['hits']} hits, {cache['misses']} misses)",
        ],
        [
            "service resident memory idle / model loaded / peak",
            " / ".join(f"{b / MIB:.0f}" for b in (report.idle_rss, report.rss, report.peak_rss))
            + " MiB",
        ],
    ]
    return ["## Server-side embeddings", "", *table(["", ""], rows)]


def tuning(report: Report) -> list[str]:
    rows = [
        [
            shape_name(t.shape),
            f"{t.build_seconds:.0f}",
            f"{t.index_bytes / MIB:.0f}",
            f"{t.insert_ms:.2f}",
            str(t.ef_search),
            f"{t.p50_ms:.2f}",
            *(f"{t.recall[lam]:.3f}" for lam in LAMBDAS),
        ]
        for t in report.tuning
    ]
    header = [
        "index",
        "build s",
        "MiB",
        "insert of a new state ms",
        "ef_search",
        "SQL p50 ms",
        *(f"recall@{K} λ={lam}" for lam in LAMBDAS),
    ]
    size = size_name(report.sizes[-1].size)
    return [f"## HNSW shapes at {size} records (SQL only, one caller)", "", *table(header, rows)]


def backends(report: Report) -> list[str]:
    base = report.backends[0]
    rows = [
        [
            b.name,
            f"{b.texts_per_second:.0f} ({b.texts_per_second / base.texts_per_second:.1f}×)",
            f"{b.single_text_ms:.1f} ({base.single_text_ms / b.single_text_ms:.1f}×)",
            f"{b.cosine_min:.4f} / {b.cosine_mean:.4f}",
        ]
        for b in report.backends
    ]
    header = ["backend", "texts/s batched", "one text ms", "cosine to torch min / mean"]
    onnx = any(b.name.startswith("ONNX") for b in report.backends)
    return [
        f"## Embedder backends ({max(e.threads for e in report.embed)} threads, same texts)",
        "",
        "torch is sentence-transformers as is; the factors are against it. "
        + (
            "ONNX Runtime runs the model exported locally with `torch.onnx`."
            if onnx
            else "ONNX Runtime is not measured in this run: it needs `pip install onnxruntime "
            "onnx` (`python -m benchmarks.backends` measures all of them alone)."
        ),
        "",
        *table(header, rows),
    ]


def pools(report: Report) -> list[str]:
    title = (
        f"## Connection pool ({CLIENTS} clients, `/retrieve` at {size_name(report.sizes[-1].size)})"
    )
    if not report.pools:
        return [title, "", "Not measured in this run (it starts service processes of its own).", ""]
    rows = [
        [
            str(p.pool_size),
            f"{p.load.percentile(50):.1f}",
            f"{p.load.percentile(99):.1f}",
            f"{p.load.throughput:.0f}",
        ]
        for p in report.pools
    ]
    return [
        title,
        "",
        "Each pool size in its own service process (no overflow); the default is 10 + 5.",
        "",
        *table(["pool size", "p50 ms", "p99 ms", "req/s"], rows),
    ]
