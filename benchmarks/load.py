"""Closed-loop HTTP load: `clients` concurrent callers, each sending its next request as
soon as the previous one was answered, as agents do."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np

Call = Callable[[httpx.AsyncClient], Awaitable[None]]


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    latencies_ms: Sequence[float]

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q))


async def _drive(base_url: str, calls: Sequence[Call], clients: int) -> LoadResult:
    queue: asyncio.Queue[Call] = asyncio.Queue()
    for call in calls:
        queue.put_nowait(call)
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async def caller(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            call = queue.get_nowait()
            started = time.perf_counter()
            await call(client)
            latencies.append((time.perf_counter() - started) * 1000)

    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=120) as client:
        # Open every connection before the clock starts.
        await asyncio.gather(*(client.get("/healthz") for _ in range(clients)))
        started = time.perf_counter()
        await asyncio.gather(*(caller(client) for _ in range(clients)))
        seconds = time.perf_counter() - started
    return LoadResult(len(calls), seconds, latencies)


def run_load(base_url: str, calls: Sequence[Call], clients: int) -> LoadResult:
    return asyncio.run(_drive(base_url, calls, clients))


def post_json(
    path: str, body: dict[str, Any], on_answer: Callable[[Any], None] | None = None
) -> Call:
    """A call that POSTs `body`, fails loudly on an error status, and hands on the answer."""

    async def call(client: httpx.AsyncClient) -> None:
        response = await client.post(path, json=body)
        if response.status_code != 200:
            raise RuntimeError(f"{path} answered {response.status_code}: {response.text[:300]}")
        if on_answer is not None:
            on_answer(response.json())

    return call
