"""The connection pool sized by measurement: the same 8-client retrieval load against
service processes whose pools hold 2, 4 and 10 connections (no overflow)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass

from benchmarks.load import LoadResult, run_load
from benchmarks.memory_bench import SizeResult, retrieve_calls

# Starts a service with these REMEMBERER_* settings on the benchmark's database; yields
# its base URL.
ServiceStarter = Callable[[Mapping[str, str]], AbstractContextManager[str]]
POOL_SIZES = (2, 4, 10)
CLIENTS = 8
WARM_UP = 30


@dataclass(frozen=True)
class PoolRow:
    pool_size: int
    load: LoadResult


def pool_sweep(
    start: ServiceStarter, seeded: SizeResult, sizes: Sequence[int] = POOL_SIZES
) -> list[PoolRow]:
    calls = retrieve_calls(seeded.memory, seeded.queries, None)
    rows = []
    for size in sizes:
        with start({"db_pool_size": str(size), "db_max_overflow": "0"}) as base_url:
            run_load(base_url, calls[:WARM_UP], CLIENTS)
            rows.append(PoolRow(size, run_load(base_url, calls, CLIENTS)))
    return rows
