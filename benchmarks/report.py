"""docs/BENCHMARKS.md: the machine, the tables, and each target met or missed."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

from rememberer.config import Settings
from rememberer.memories.catalog import IndexShape

from benchmarks.backends import BackendRow
from benchmarks.compat_bench import CompatResult
from benchmarks.cpu import CpuSeconds
from benchmarks.embedding_bench import EmbedResult, ServerEmbedResult
from benchmarks.feature_report import render_compat, render_reflections
from benchmarks.import_bench import BATCH, ImportResult
from benchmarks.load import LoadResult
from benchmarks.machine import Machine
from benchmarks.memory_bench import LAMBDAS, K, Plan, SizeResult
from benchmarks.pool_bench import CLIENTS, PoolRow
from benchmarks.recall_report import render_recall, worst_service_recall
from benchmarks.recall_suite import RecallResult
from benchmarks.reflections_bench import ReflectionResult
from benchmarks.tune import TuneRow

# The paper's implementation, measured with its WebShop matcher on this kind of machine
# (issue 5): about 12.5 ms per stored record and retrieval.
PAPER_MS_PER_RECORD = 12.5
MIB = 1024 * 1024
NO_INDEX = "—"


@dataclass
class Report:
    machine: Machine
    plan: Plan
    sizes: list[SizeResult]
    embed: list[EmbedResult]
    server_embedded: ServerEmbedResult
    idle_rss: int
    rss: int
    peak_rss: int
    tuning: list[TuneRow]
    recall: RecallResult
    compat: CompatResult | None
    reflections: ReflectionResult | None
    backends: list[BackendRow]
    pools: list[PoolRow]
    imports: list[ImportResult]
    http_floor: LoadResult
    seconds: float
    exact_max_records: int = field(default_factory=lambda: Settings().exact_search_max_records)


@dataclass(frozen=True)
class Target:
    name: str
    goal: str
    measured: str
    met: bool
    # How far from the goal (measured / goal, or goal / measured for floors).
    factor: float


RECALL_GOAL = 0.99
UPDATE_GOAL = 1000  # transitions/s


def _shape_name(shape: IndexShape) -> str:
    return f"{shape.precision}, m={shape.m}, ef_construction={shape.ef_construction}"


def _floor(measured: float, goal: float) -> float:
    return goal / measured if measured > 0 else float("inf")


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return [*lines, ""]


def _size(n: int) -> str:
    return f"{n // 1000}k" if n % 1000 == 0 else str(n)


def _cpu_per_transition(result: SizeResult, load: LoadResult, spent: CpuSeconds) -> str:
    transitions = load.requests * result.transitions_per_episode
    return f"{1000 * spent.service / transitions:.2f} / {1000 * spent.database / transitions:.2f}"


def transitions_per_second(result: SizeResult, load: LoadResult) -> float:
    """Transitions/s of one of `result`'s update runs (every call of its load is an episode)."""
    return load.throughput * result.transitions_per_episode


def targets(report: Report) -> list[Target]:
    largest, smallest = report.sizes[-1], report.sizes[0]
    p50 = largest.one_client.percentile(50)
    p99 = largest.one_client.percentile(99)
    ratio = p50 / smallest.one_client.percentile(50)
    worst_recall = min(
        min(min(r.recall.values()) for r in report.sizes),
        worst_service_recall(report.recall.recall),
    )
    stepwise = min(transitions_per_second(r, r.update_per_step) for r in report.sizes)
    batched = min(transitions_per_second(r, r.update_per_episode) for r in report.sizes)
    revisits = min(transitions_per_second(r, r.update_revisiting) for r in report.sizes)
    uncached = report.server_embedded.uncached.percentile(50)
    big = _size(largest.size)
    rss_mb = report.rss / 10**6
    return [
        Target(f"retrieve p50 at {big}", "≤ 10 ms", f"{p50:.1f} ms", p50 <= 10, p50 / 10),
        Target(f"retrieve p99 at {big}", "≤ 30 ms", f"{p99:.1f} ms", p99 <= 30, p99 / 30),
        Target(
            f"p50 at {big} / p50 at {_size(smallest.size)}",
            "≤ 2×",
            f"{ratio:.2f}×",
            ratio <= 2,
            ratio / 2,
        ),
        Target(
            "recall@5, every λ, size and distribution",
            f"≥ {RECALL_GOAL}",
            f"{worst_recall:.3f}",
            worst_recall >= RECALL_GOAL,
            _floor(worst_recall, RECALL_GOAL),
        ),
        Target(
            "update, 8 agents, one transition per call",
            "≥ 1,000 transitions/s",
            f"{stepwise:,.0f}/s",
            stepwise >= 1000,
            _floor(stepwise, 1000),
        ),
        Target(
            "update, 8 agents, one episode per call",
            "≥ 1,000 transitions/s",
            f"{batched:,.0f}/s",
            batched >= 1000,
            _floor(batched, 1000),
        ),
        Target(
            "update, 8 agents, one episode per call, revisited states",
            "≥ 1,000 transitions/s",
            f"{revisits:,.0f}/s",
            revisits >= 1000,
            _floor(revisits, 1000),
        ),
        Target(
            "retrieve, server-embedded uncached observation, p50",
            "≤ 30 ms",
            f"{uncached:.1f} ms",
            uncached <= 30,
            uncached / 30,
        ),
        Target(
            "resident memory with the model loaded",
            "≤ 700 MB",
            f"{rss_mb:.0f} MB",
            rss_mb <= 700,
            rss_mb / 700,
        ),
    ]


def render(report: Report) -> str:
    lines = ["# Benchmarks", "", "Written by `make bench` (`python -m benchmarks.run`).", ""]
    lines += _machine(report)
    lines += _method(report)
    lines += _targets(report)
    lines += _retrieval(report)
    lines += _scans(report)
    lines += _updates(report)
    lines += _imports(report)
    lines += render_compat(report.compat)
    lines += render_reflections(report.reflections)
    lines += _embeddings(report)
    lines += _pools(report)
    lines += _backends(report)
    lines += render_recall(report.recall.recall, report.recall.shapes)
    lines += _tuning(report)
    return "\n".join(lines)


def _machine(report: Report) -> list[str]:
    rows = [list(row) for row in report.machine.rows()]
    rows.append(["whole run", f"{report.seconds / 60:.1f} min"])
    return ["## Machine", "", *_table(["", ""], rows)]


def _method(report: Report) -> list[str]:
    plan = report.plan
    rows = [
        ["memory sizes", ", ".join(f"{r.size:,}" for r in report.sizes)],
        ["`/retrieve` queries per size (k = 5, λ = 0.5)", f"{plan.queries}"],
        ["concurrent clients", f"1 and {plan.agents}"],
        ["SQL / Python scan queries", f"{plan.sql_queries} / {plan.python_scan_queries}"],
        [
            "update agents × episodes × transitions",
            f"{plan.agents} × {plan.episodes_per_agent} × {plan.episode_steps}",
        ],
        ["exact scan up to (records)", f"{report.exact_max_records:,}"],
    ]
    return [
        "## Parameters",
        "",
        "How each table is measured, and why the service behaves as it does: "
        "[PERFORMANCE.md](PERFORMANCE.md) (written by hand).",
        "",
        *_table(["", ""], rows),
    ]


def _targets(report: Report) -> list[str]:
    measured = targets(report)
    rows = [
        [
            t.name,
            t.goal,
            t.measured,
            "met" if t.met else f"**missed** ({_missed_by(t.factor)})",
        ]
        for t in measured
    ]
    return ["## Targets", "", *_table(["target", "goal", "measured", ""], rows)]


def _missed_by(factor: float) -> str:
    return f"by {(factor - 1) * 100:.0f} %" if factor < 1.1 else f"by {factor:.1f}×"


def _retrieval(report: Report) -> list[str]:
    rows = []
    for r in report.sizes:
        rows.append(
            [
                _size(r.size),
                f"{r.one_client.percentile(50):.1f}",
                f"{r.one_client.percentile(99):.1f}",
                f"{r.one_client.throughput:.0f}",
                f"{r.eight_clients.percentile(50):.1f}",
                f"{r.eight_clients.percentile(99):.1f}",
                f"{r.eight_clients.throughput:.0f}",
                *(f"{r.recall[lam]:.3f}" for lam in LAMBDAS),
            ]
        )
    header = [
        "records",
        "1 client p50 ms",
        "p99 ms",
        "req/s",
        "8 clients p50 ms",
        "p99 ms",
        "req/s",
        *(f"recall@{K} λ={lam}" for lam in LAMBDAS),
    ]
    return [f"## `/retrieve` over HTTP (client vectors, k = {K})", "", *_table(header, rows)]


def _scans(report: Report) -> list[str]:
    rows = []
    for r in report.sizes:
        service = r.one_client.percentile(50)
        python = median(r.python_scan_ms)
        hnsw = median(r.sql_hnsw_ms) if r.sql_hnsw_ms else None
        rows.append(
            [
                _size(r.size),
                f"{service:.1f}",
                f"{hnsw:.2f}" if hnsw else NO_INDEX,
                f"{median(r.sql_exact_ms):.1f}",
                f"{median(r.numpy_ms):.1f}",
                f"{python:,.0f}",
                f"{PAPER_MS_PER_RECORD * r.size / 1000:,.0f} s",
                f"{median(r.sql_exact_ms) / hnsw:.0f}×" if hnsw else NO_INDEX,
                f"{python / service:,.0f}×",
            ]
        )
    header = [
        "records",
        "service p50 ms",
        "HNSW SQL ms",
        "exact SQL ms",
        "numpy scan ms",
        "Python scan ms",
        "paper (12.5 ms/record)",
        "exact SQL / HNSW SQL",
        "Python scan / service",
    ]
    return [
        "## The same retrieval, side by side (medians, one caller)",
        "",
        f"{NO_INDEX}: no HNSW index; the service scans a memory of up to "
        f"{report.exact_max_records:,} records exactly and builds its index only past that.",
        "",
        *_table(header, rows),
    ]


def _seed_rows(report: Report) -> list[list[str]]:
    return [
        [
            _size(r.size),
            f"{r.seed.copy_seconds:.1f}",
            f"{r.seed.index_seconds:.1f}" if r.seed.index_bytes else NO_INDEX,
            f"{r.seed.index_bytes / MIB:.0f}" if r.seed.index_bytes else NO_INDEX,
            f"{r.seed.table_bytes / MIB:.0f}",
        ]
        for r in report.sizes
    ]


def _updates(report: Report) -> list[str]:
    rows = [
        [
            _size(r.size),
            f"{transitions_per_second(r, r.update_per_step):,.0f}",
            f"{transitions_per_second(r, r.update_per_episode):,.0f}",
            f"{transitions_per_second(r, r.update_revisiting):,.0f}",
        ]
        for r in report.sizes
    ]
    seed = _table(
        ["records", "COPY + actions s", "HNSW build s", "index MiB", "tables MiB"],
        _seed_rows(report),
    )
    cpu_rows = [
        [
            _size(r.size),
            *(
                _cpu_per_transition(r, load, spent)
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
            *_table(
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
        *_table(
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


def _imports(report: Report) -> list[str]:
    rows = [
        [
            i.into,
            _size(i.records),
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
        *_table(header, rows),
    ]


def _embeddings(report: Report) -> list[str]:
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
    return ["## Server-side embeddings", "", *_table(["", ""], rows)]


def _tuning(report: Report) -> list[str]:
    rows = [
        [
            _shape_name(t.shape),
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
    size = _size(report.sizes[-1].size)
    return [f"## HNSW shapes at {size} records (SQL only, one caller)", "", *_table(header, rows)]


def _backends(report: Report) -> list[str]:
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
        *_table(header, rows),
    ]


def _pools(report: Report) -> list[str]:
    title = f"## Connection pool ({CLIENTS} clients, `/retrieve` at {_size(report.sizes[-1].size)})"
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
        *_table(["pool size", "p50 ms", "p99 ms", "req/s"], rows),
    ]
