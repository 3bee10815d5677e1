"""Closed-loop HTTP load: `clients` concurrent callers, each sending its next request as
soon as the previous one was answered, as agents do.

Each caller owns one keep-alive HTTP/1.1 connection driven by a minimal client, so that
the measured time is the service's: httpx spends about a millisecond of CPU per request,
on the same two cores as the service and its database.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import numpy as np


class HttpConnection:
    """One keep-alive HTTP/1.1 connection to the service (JSON bodies only)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    @classmethod
    async def open(cls, base_url: str) -> HttpConnection:
        address = urlsplit(base_url)
        reader, writer = await asyncio.open_connection(address.hostname, address.port)
        return cls(reader, writer)

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        self._writer.write(head.encode("ascii") + body)
        status = int((await self._reader.readline()).split()[1])
        length = 0
        while (line := await self._reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return status, await self._reader.readexactly(length)

    async def close(self) -> None:
        self._writer.close()
        await self._writer.wait_closed()


Call = Callable[[HttpConnection], Awaitable[None]]


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

    async def caller(connection: HttpConnection) -> None:
        while not queue.empty():
            call = queue.get_nowait()
            started = time.perf_counter()
            await call(connection)
            latencies.append((time.perf_counter() - started) * 1000)

    # Every connection is open before the clock starts.
    connections = [await HttpConnection.open(base_url) for _ in range(clients)]
    try:
        started = time.perf_counter()
        await asyncio.gather(*(caller(connection) for connection in connections))
        seconds = time.perf_counter() - started
    finally:
        await asyncio.gather(*(connection.close() for connection in connections))
    return LoadResult(len(calls), seconds, latencies)


def run_load(base_url: str, calls: Sequence[Call], clients: int) -> LoadResult:
    return asyncio.run(_drive(base_url, calls, clients))


def get(path: str) -> Call:
    """A call that GETs `path` and fails loudly on an error status."""

    async def call(connection: HttpConnection) -> None:
        status, answer = await connection.request("GET", path)
        if status != 200:
            raise RuntimeError(f"{path} answered {status}: {answer[:300]!r}")

    return call


def post_json(
    path: str, body: dict[str, Any], on_answer: Callable[[Any], None] | None = None
) -> Call:
    """A call that POSTs `body`, fails loudly on an error status, and hands on the answer."""

    async def call(connection: HttpConnection) -> None:
        status, answer = await connection.request("POST", path, json.dumps(body).encode())
        if status != 200:
            raise RuntimeError(f"{path} answered {status}: {answer[:300]!r}")
        if on_answer is not None:
            on_answer(json.loads(answer))

    return call
