"""Cost of Retroformer reflections on a running service.

Measures, one request at a time (the latency an agent sees):
- `update` of a two-step episode, without and with reflection_ids (their bookkeeping);
- `retrieve`, without and with `"reflections": 3`;
- `POST .../reflections`;
and the streamed exports (`jsonl`, `pairs`) over a memory holding
`--prompts × --per-prompt` reflections, each used by `--uses` later episodes.

Start a service on its own data folder, then run this against it:

    REMEMBERER_DATA_DIR=/tmp/rememberer-bench make serve ARGS="--port 8123" &
    .venv/bin/python benchmarks/bench_reflections.py --url http://127.0.0.1:8123
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import rememberer_client as rc

TASK = "task"
VECTORS = {TASK: [1.0, 0.0, 0.0, 0.0], "a": [0.0, 0.0, 1.0, 0.0], "b": [0.0, 0.0, 0.0, 1.0]}
MAX_IDS_PER_UPDATE = 100


def timed(calls: dict[str, Callable[[], Any]], repeats: int) -> dict[str, list[float]]:
    """Milliseconds of each call, the calls taking turns so that drift in the machine's
    load affects them alike."""
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(repeats):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            times[name].append((time.perf_counter() - start) * 1000)
    return times


def summary(name: str, times: Sequence[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * len(ordered)))]
    return f"{name:<42} n={len(times):<5} p50={statistics.median(times):7.2f} ms  p95={p95:7.2f} ms"


def episode(memory: rc.MemoryHandle, reward: float, reflection_ids: Sequence[int] = ()) -> str:
    episode_id = uuid.uuid4().hex
    memory.update(
        episode_id,
        TASK,
        [
            {"step": 0, "observation": "a", "action": "go", "reward": 0.0, "next_observation": "b"},
            {
                "step": 1,
                "observation": "b",
                "action": "stop",
                "reward": reward,
                "next_observation": "a",
                "done": True,
            },
        ],
        reflection_ids=reflection_ids,
    )
    return episode_id


def fill(memory: rc.MemoryHandle, prompts: int, per_prompt: int, uses: int) -> list[int]:
    """Reflections on `prompts` failed episodes, each used by `uses` later episodes."""
    ids = []
    for p in range(prompts):
        failed = episode(memory, 0.0)
        for r in range(per_prompt):
            ids.append(
                memory.create_reflection(
                    TASK, failed, f"reflection {p}.{r}", f"prompt {p}"
                ).reflection_id
            )
    # Use u of the i-th reflection of every prompt returns (i + u) % 7, so reflections on
    # one prompt get different mean ratings and make preference pairs.
    for u in range(uses):
        for i in range(per_prompt):
            same_rank = ids[i::per_prompt]
            for start in range(0, len(same_rank), MAX_IDS_PER_UPDATE):
                episode(memory, float((i + u) % 7), same_rank[start : start + MAX_IDS_PER_UPDATE])
    return ids


def measure_export(memory: rc.MemoryHandle, export_format: rc.ExportFormat) -> str:
    start = time.perf_counter()
    first: float | None = None
    rows = 0
    for _ in memory.export_reflections(export_format):
        if first is None:
            first = time.perf_counter() - start
        rows += 1
    total = time.perf_counter() - start
    return (
        f"export {export_format:<6} {rows:>7} rows in {total * 1000:8.1f} ms "
        f"({rows / total:,.0f} rows/s; first row after {(first or 0) * 1000:.1f} ms)"
    )


def calls(memory: rc.MemoryHandle, failed: str, last: list[int]) -> dict[str, Callable[[], Any]]:
    return {
        "update, 2 steps": lambda: episode(memory, 1.0),
        "update, 2 steps + 3 reflection_ids": lambda: episode(memory, 1.0, last),
        "retrieve k=2": lambda: memory.retrieve(TASK, "a"),
        "retrieve k=2 + reflections=3": lambda: memory.retrieve_with_reflections(TASK, "a"),
        "create reflection": lambda: memory.create_reflection(TASK, failed, uuid.uuid4().hex),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8123")
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--prompts", type=int, default=200)
    parser.add_argument("--per-prompt", type=int, default=10)
    parser.add_argument("--uses", type=int, default=5)
    args = parser.parse_args()

    with rc.MemoryClient(args.url, timeout=300) as client:
        memory = client.memory(f"bench-{uuid.uuid4().hex[:12]}")
        memory.create(embedder="client", dimension=4)
        memory.put_embeddings(VECTORS)
        try:
            started = time.perf_counter()
            ids = fill(memory, args.prompts, args.per_prompt, args.uses)
            fill_s = time.perf_counter() - started
            sys.stdout.write(
                f"filled {len(ids)} reflections × {args.uses} uses in {fill_s:.1f} s\n"
            )
            last = ids[-3:]
            failed = episode(memory, 0.0)
            for call in calls(memory, failed, last).values():
                call()  # warm-up
            times = timed(calls(memory, failed, last), args.repeats)
            lines = [summary(name, values) for name, values in times.items()]
            lines += [measure_export(memory, "jsonl"), measure_export(memory, "pairs")]
            sys.stdout.write("\n".join(lines) + "\n")
        finally:
            memory.delete()


if __name__ == "__main__":
    main()
