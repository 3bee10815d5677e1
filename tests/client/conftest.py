"""Fixtures for SDK-only tests: a scripted fake server behind httpx.MockTransport.

Most tests take the `flavor` fixture and run once against MemoryClient and once
against AsyncMemoryClient (through `tests.support.client.call`), so that both clients are
held to one spec.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from rememberer_client import AsyncMemoryClient, MemoryClient

from tests.support.client import BASE_URL, FakeServer


@pytest.fixture
def server() -> FakeServer:
    return FakeServer()


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Seconds each client would have slept; patched on the classes so copies made by
    with_options sleep just as fast."""
    slept: list[float] = []

    def fake_sleep(self: Any, seconds: float) -> None:
        slept.append(seconds)

    async def fake_async_sleep(self: Any, seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(MemoryClient, "_sleep", fake_sleep)
    monkeypatch.setattr(AsyncMemoryClient, "_sleep", fake_async_sleep)
    return slept


@pytest.fixture(params=["sync", "async"])
def flavor(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_client(
    server: FakeServer, sleeps: list[float], flavor: str
) -> Iterator[Callable[..., MemoryClient | AsyncMemoryClient]]:
    """Builds a client of the test's flavor wired to `server`."""
    http_clients: list[httpx.Client] = []

    def build(**options: Any) -> MemoryClient | AsyncMemoryClient:
        options.setdefault("base_url", BASE_URL)
        transport = httpx.MockTransport(server.handler)
        if flavor == "sync":
            http = httpx.Client(transport=transport)
            http_clients.append(http)
            return MemoryClient(http_client=http, **options)
        return AsyncMemoryClient(http_client=httpx.AsyncClient(transport=transport), **options)

    yield build
    for http in http_clients:
        http.close()


@pytest.fixture
def client(
    make_client: Callable[..., MemoryClient | AsyncMemoryClient],
) -> MemoryClient | AsyncMemoryClient:
    return make_client()
