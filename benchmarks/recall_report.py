"""The recall suite's tables: recall@5 per distribution and λ, and the index shapes."""

from __future__ import annotations

from collections.abc import Sequence

from rememberer.memories.catalog import INDEX_SHAPE, IndexShape

from benchmarks.distributions import SEEN_TASK_SHARE
from benchmarks.recall_bench import LAMBDAS, SERVICE, K, RecallRow, ShapeRow

MIB = 1024 * 1024
RECALL_GOAL = 0.99
CHOSEN = " **(default)**"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return [*lines, ""]


def _size(n: int) -> str:
    return f"{n // 1000}k" if n % 1000 == 0 else str(n)


def _recall(value: float) -> str:
    text = f"{value:.3f}"
    return text if value >= RECALL_GOAL else f"**{text}**"


def shape_name(shape: IndexShape) -> str:
    name = f"{shape.precision}, m={shape.m}, ef_construction={shape.ef_construction}"
    return name + (CHOSEN if shape == INDEX_SHAPE else "")


def worst_service_recall(rows: Sequence[RecallRow]) -> float:
    return min(_worst_by_distribution(rows).values(), default=1.0)


def _worst_by_distribution(rows: Sequence[RecallRow]) -> dict[str, float]:
    """The service's worst recall on each distribution, at any size and λ."""
    worst: dict[str, float] = {}
    for r in rows:
        if r.search == SERVICE:
            worst[r.distribution] = min(worst.get(r.distribution, 1.0), *r.recall.values())
    return worst


def _recall_rows(rows: Sequence[RecallRow]) -> list[list[str]]:
    lines = []
    for r in rows:
        search = "the service's" + CHOSEN if r.search == SERVICE else r.search
        recall = (_recall(r.recall[lam]) for lam in LAMBDAS)
        latency = (f"{r.p50_ms:.2f}", f"{r.p99_ms:.2f}")
        lines.append([r.distribution, _size(r.size), search, *recall, *latency])
        if r.search == SERVICE and r.new_task_recall:
            new_tasks = (_recall(r.new_task_recall[lam]) for lam in LAMBDAS)
            lines.append(["", "", "… its new-task queries alone", *new_tasks, "", ""])
    return lines


def _shape_rows(rows: Sequence[ShapeRow]) -> list[list[str]]:
    return [
        [
            r.distribution,
            _size(r.size),
            shape_name(r.shape),
            f"{r.build_seconds:.1f}",
            f"{r.index_bytes / MIB:.0f}",
            f"{r.insert_ms:.2f}",
            f"{r.p50_ms:.2f}",
            _recall(r.worst_recall),
        ]
        for r in rows
    ]


def render_recall(recall: Sequence[RecallRow], shapes: Sequence[ShapeRow]) -> list[str]:
    worst = _worst_by_distribution(recall)
    by_distribution = ", ".join(f"{name} {value:.3f}" for name, value in worst.items())
    lines = [
        f"## Recall@{K} per distribution and λ (SQL, one caller)",
        "",
        f"Bold: below {RECALL_GOAL}. Worst recall of the service's search: "
        f"{worst_service_recall(recall):.3f}; by distribution: {by_distribution}. "
        "Latency: the candidate query alone, every λ. "
        f"{1 - SEEN_TASK_SHARE:.0%} of the queries are on a task the "
        "memory has no record of; their recall alone is in the row below the service's.",
        "",
        *_table(
            [
                "data",
                "records",
                "search",
                *(f"λ={lam:g}" for lam in LAMBDAS),
                "p50 ms",
                "p99 ms",
            ],
            _recall_rows(recall),
        ),
    ]
    if shapes:
        lines += [
            "## HNSW index shapes (SQL, one caller, the service's search)",
            "",
            *_table(
                [
                    "data",
                    "records",
                    "index",
                    "build s",
                    "MiB",
                    "insert of a new state ms",
                    "search p50 ms",
                    f"worst recall@{K}",
                ],
                _shape_rows(shapes),
            ),
        ]
    return lines
