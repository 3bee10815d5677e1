"""Cost of Retroformer reflections, against the running service, one request at a time.

- `update` of a two-step episode, without and with reflection_ids;
- `retrieve`, without and with `"reflections": 3`;
- `POST .../reflections`;
- the streamed exports (`jsonl`, `pairs`) of a memory holding `prompts × per_prompt`
  reflections, each used by `uses` later episodes.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import rememberer_client as rc

from benchmarks.compat_bench import Latency

TASK = "task"
VECTORS = {TASK: [1.0, 0.0, 0.0, 0.0], "a": [0.0, 0.0, 1.0, 0.0], "b": [0.0, 0.0, 0.0, 1.0]}
MAX_IDS_PER_UPDATE = 100


@dataclass(frozen=True)
class ReflectionPlan:
    repeats: int = 50
    prompts: int = 50
    per_prompt: int = 10
    uses: int = 3


@dataclass(frozen=True)
class ExportRate:
    export_format: str
    rows: int
    rows_per_second: float
    first_row_ms: float


@dataclass(frozen=True)
class ReflectionResult:
    reflections: int
    fill_seconds: float
    calls: list[Latency]
    exports: list[ExportRate]


def _episode(memory: rc.MemoryHandle, reward: float, reflection_ids: Sequence[int] = ()) -> str:
    episode_id = uuid.uuid4().hex
    steps: list[dict[str, Any]] = [
        {"step": 0, "observation": "a", "action": "go", "reward": 0.0, "next_observation": "b"},
        {
            "step": 1,
            "observation": "b",
            "action": "stop",
            "reward": reward,
            "next_observation": "a",
            "done": True,
        },
    ]
    memory.update(episode_id, TASK, steps, reflection_ids=reflection_ids)
    return episode_id


def _fill(memory: rc.MemoryHandle, plan: ReflectionPlan) -> list[int]:
    """Reflections on `prompts` failed episodes, each used by `uses` later episodes."""
    ids = []
    for p in range(plan.prompts):
        failed = _episode(memory, 0.0)
        for r in range(plan.per_prompt):
            made = memory.create_reflection(TASK, failed, f"reflection {p}.{r}", f"prompt {p}")
            ids.append(made.reflection_id)
    # Use u of the i-th reflection of every prompt returns (i + u) % 7, so that reflections
    # on one prompt get different mean ratings and make preference pairs.
    for u in range(plan.uses):
        for i in range(plan.per_prompt):
            same_rank = ids[i :: plan.per_prompt]
            for start in range(0, len(same_rank), MAX_IDS_PER_UPDATE):
                chunk = same_rank[start : start + MAX_IDS_PER_UPDATE]
                _episode(memory, float((i + u) % 7), chunk)
    return ids


def _export(memory: rc.MemoryHandle, export_format: rc.ExportFormat) -> ExportRate:
    started = time.perf_counter()
    first: float | None = None
    rows = 0
    for _ in memory.export_reflections(export_format):
        if first is None:
            first = time.perf_counter() - started
        rows += 1
    total = time.perf_counter() - started
    return ExportRate(export_format, rows, rows / total, (first or 0.0) * 1000)


def _calls(memory: rc.MemoryHandle, failed: str, last: list[int]) -> dict[str, Callable[[], Any]]:
    return {
        "update, 2 steps": lambda: _episode(memory, 1.0),
        "update, 2 steps + 3 reflection_ids": lambda: _episode(memory, 1.0, last),
        "retrieve k=2": lambda: memory.retrieve(TASK, "a"),
        "retrieve k=2 + reflections=3": lambda: memory.retrieve_with_reflections(TASK, "a"),
        "create reflection": lambda: memory.create_reflection(TASK, failed, uuid.uuid4().hex),
    }


def _taking_turns(calls: dict[str, Callable[[], Any]], repeats: int) -> list[Latency]:
    """The calls take turns, so that drift in the machine's load affects them alike."""
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(repeats):
        for name, call in calls.items():
            started = time.perf_counter()
            call()
            times[name].append((time.perf_counter() - started) * 1000)
    return [Latency(name, ms) for name, ms in times.items()]


def reflections(url: str, prefix: str, plan: ReflectionPlan) -> ReflectionResult:
    with rc.MemoryClient(url, timeout=300) as client:
        memory = client.memory(f"{prefix}-reflections")
        memory.create(embedder="client", dimension=4)
        memory.put_embeddings(VECTORS)
        try:
            started = time.perf_counter()
            ids = _fill(memory, plan)
            fill_seconds = time.perf_counter() - started
            failed = _episode(memory, 0.0)
            calls = _calls(memory, failed, ids[-3:])
            for call in calls.values():
                call()  # warm-up
            latencies = _taking_turns(calls, plan.repeats)
            exports = [_export(memory, "jsonl"), _export(memory, "pairs")]
        finally:
            memory.delete()
    return ReflectionResult(len(ids), fill_seconds, latencies, exports)
