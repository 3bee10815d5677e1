"""Tables of the compatibility features' and the reflections' costs."""

from __future__ import annotations

from collections.abc import Sequence

from benchmarks.compat_bench import CompatResult, Latency
from benchmarks.reflections_bench import ReflectionResult


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return [*lines, ""]


def _latencies(rows: Sequence[Latency]) -> list[str]:
    return _table(
        ["", "calls", "p50 ms", "p95 ms"],
        [[r.name, str(len(r.ms)), f"{r.p50:.2f}", f"{r.p95:.2f}"] for r in rows],
    )


def render_compat(result: CompatResult | None) -> list[str]:
    if result is None:
        return []
    records, megabytes, imported, exported = result.transfer
    return [
        "## Compatibility features (one client, client vectors)",
        "",
        "An update reaching a new state, without and with a (full) item capacity:",
        "",
        *_latencies(result.admission),
        "`/retrieve` by observation similarity:",
        "",
        *_latencies(result.lcs),
        f"`rememberer import` / `export` of {records:,} pool records ({megabytes:.1f} MB of "
        f"YAML): {imported:,.0f} / {exported:,.0f} records/s.",
        "",
    ]


def render_reflections(result: ReflectionResult | None) -> list[str]:
    if result is None:
        return []
    exports = [
        [
            e.export_format,
            f"{e.rows:,}",
            f"{e.rows_per_second:,.0f}",
            f"{e.first_row_ms:.1f}",
        ]
        for e in result.exports
    ]
    return [
        f"## Reflections ({result.reflections:,} in the memory, filled in "
        f"{result.fill_seconds:.1f} s; one client)",
        "",
        *_latencies(result.calls),
        *_table(["export", "rows", "rows/s", "first row ms"], exports),
    ]
