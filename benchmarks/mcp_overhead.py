"""MCP overhead: one retrieve and one single-step record through /mcp vs through /v1.

    python -m benchmarks.mcp_overhead --url http://127.0.0.1:8000 [--api-key KEY] [--calls 50]

Uses a fresh memory with client vectors (no embedder in the numbers); prints p50 in ms.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

VECTORS = {"task": [1.0, 0.0, 0.0], "s0": [0.0, 1.0, 0.0], "s1": [0.0, 0.0, 1.0]}


def step(number: int) -> dict[str, Any]:
    return {
        "step": 0,
        "observation": "s0",
        "action": "go",
        "reward": 1.0,
        "next_observation": "s1",
        "done": True,
    }


async def p50_ms(calls: int, call: Callable[[int], Awaitable[object]]) -> float:
    timings = []
    for number in range(calls):
        started = time.perf_counter()
        await call(number)
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


async def measure(url: str, key: str | None, calls: int) -> dict[str, float]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    memory = f"bench-mcp-{uuid.uuid4().hex[:8]}"
    ask = {"task": "task", "observation": "s0", "k": 2}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as v1:
        body = {"name": memory, "embedder": "client", "dimension": 3}
        (await v1.post("/v1/memories", json=body)).raise_for_status()
        (await v1.put(f"/v1/memories/{memory}/embeddings", json={"embeddings": VECTORS}))
        async with (
            httpx2.AsyncClient(headers=headers, timeout=60) as http,
            Client(streamable_http_client(f"{url}/mcp", http_client=http)) as mcp,
        ):

            def v1_record(n: int) -> Awaitable[object]:
                update = {"episode_id": f"v{n}", "task": "task", "transitions": [step(n)]}
                return v1.post(f"/v1/memories/{memory}/update", json=update)

            def mcp_record(n: int) -> Awaitable[object]:
                arguments = {
                    "memory": memory,
                    "episode_id": f"m{n}",
                    "task": "task",
                    "transitions": [step(n)],
                }
                return mcp.call_tool("record_steps", arguments)

            results = {
                "v1 retrieve": await p50_ms(
                    calls, lambda n: v1.post(f"/v1/memories/{memory}/retrieve", json=ask)
                ),
                "mcp retrieve": await p50_ms(
                    calls,
                    lambda n: mcp.call_tool("retrieve_experiences", {"memory": memory, **ask}),
                ),
                "v1 record": await p50_ms(calls, v1_record),
                "mcp record": await p50_ms(calls, mcp_record),
            }
        await v1.delete(f"/v1/memories/{memory}")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--api-key")
    parser.add_argument("--calls", type=int, default=50)
    args = parser.parse_args()
    for name, value in asyncio.run(measure(args.url, args.api_key, args.calls)).items():
        print(f"{name}: p50 {value:.2f} ms")  # noqa: T201


if __name__ == "__main__":
    main()
