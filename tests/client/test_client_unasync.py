"""The generator of the sync SDK modules: its substitutions, and that its output is current."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "client" / "scripts" / "unasync.py"


@pytest.fixture(scope="module")
def unasync() -> Iterator[ModuleType]:
    spec = importlib.util.spec_from_file_location("unasync_script", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Its dataclasses look their module up in sys.modules while being defined.
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[spec.name]


ASYNC_SOURCE = '''\
"""The asyncio helper."""

# Edit here.  # unasync: source only
import asyncio
from ._async_client import AsyncMemoryClient


class AsyncThing:
    async def __aenter__(self) -> AsyncThing:
        return self

    async def rows(self) -> AsyncIterator[int]:
        async with self._lock:
            await asyncio.sleep(0)
        async for row in self._source():
            yield row

    async def aclose(self) -> None:
        await self._response.aclose()
'''

SYNC_TEXT = '''\
"""The synchronous helper."""

import time
from ._client import MemoryClient


class Thing:
    def __enter__(self) -> Thing:
        return self

    def rows(self) -> Iterator[int]:
        with self._lock:
            time.sleep(0)
        yield from self._source()

    def close(self) -> None:
        self._response.close()
'''


def test_substitutions(unasync: ModuleType) -> None:
    client_twin = unasync.TWINS[0]
    table = (
        *unasync.COMMON_SUBSTITUTIONS,
        *client_twin.substitutions,
        *unasync.PROSE_SUBSTITUTIONS,
    )
    assert unasync.unasync(ASYNC_SOURCE, table) == SYNC_TEXT


def test_a_construct_the_table_misses_is_an_error(unasync: ModuleType) -> None:
    with pytest.raises(unasync.UnasyncError, match="still asynchronous"):
        unasync.unasync("results = await asyncio.gather(a, b)\n", unasync.COMMON_SUBSTITUTIONS)


def test_generated_modules_are_current(unasync: ModuleType) -> None:
    assert unasync.main(["--check"]) == 0
