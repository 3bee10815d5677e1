"""Throughput and latency of `update` with many agents on one memory, one or two service
processes, on an embedded PostgreSQL; the result is checked for exactness afterwards (no
update lost or applied twice), with the same workload the tests use.

    .venv/bin/python -m benchmarks.concurrent_updates --agents 16 --episodes 10 --processes 1 2

(from the repository root: the workload and the service process come from tests/).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from rememberer.storage.embedded import EmbeddedPostgres
from rememberer.storage.migrate import upgrade

from tests.support.agents import (
    HttpAgents,
    Workload,
    assert_exact,
    create_path_memory,
    run_agents,
)
from tests.support.service import ServiceProcess


class TimedAgents(HttpAgents):
    def __init__(self, urls: list[str], memory: str) -> None:
        super().__init__(urls, memory)
        self.seconds: list[float] = []
        self._lock = threading.Lock()

    def __call__(self, agent: int, route: str, body: dict[str, Any]) -> dict[str, Any]:
        started = time.perf_counter()
        answer = super().__call__(agent, route, body)
        with self._lock:
            self.seconds.append(time.perf_counter() - started)
        return answer


def measure(urls: list[str], workload: Workload) -> dict[str, float]:
    memory = f"bench-{uuid.uuid4().hex[:8]}"
    with httpx.Client(base_url=urls[0], timeout=60) as api:
        create_path_memory(api, memory)
        with TimedAgents(urls, memory) as agents:
            started = time.perf_counter()
            run_agents(workload, agents)
            elapsed = time.perf_counter() - started
        assert_exact(api, memory, workload)  # raises if anything was lost or doubled
    ms = sorted(s * 1000 for s in agents.seconds)
    return {
        "calls": len(ms),
        "seconds": elapsed,
        "calls_per_s": len(ms) / elapsed,
        "p50_ms": statistics.median(ms),
        "p95_ms": ms[int(0.95 * (len(ms) - 1))],
        "max_ms": ms[-1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--agents", type=int, default=16)
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--length", type=int, default=3, choices=[1, 2, 3])
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    workload = Workload(args.agents, args.episodes, args.length)
    with tempfile.TemporaryDirectory() as folder:
        postgres = EmbeddedPostgres(Path(folder))
        url = postgres.start()
        upgrade(url)
        try:
            for count in args.processes:
                services = [ServiceProcess(url, Path(folder)) for _ in range(count)]
                for service in services:
                    service.launch()
                try:
                    for service in services:
                        service.wait_ready()
                    result = measure([s.url for s in services], workload)
                finally:
                    for service in services:
                        service.kill()
                sys.stdout.write(
                    f"processes={count} agents={args.agents} calls={result['calls']:.0f} "
                    f"time={result['seconds']:.2f}s throughput={result['calls_per_s']:.0f}/s "
                    f"p50={result['p50_ms']:.1f}ms p95={result['p95_ms']:.1f}ms "
                    f"max={result['max_ms']:.1f}ms exact=yes\n"
                )
        finally:
            postgres.stop()


if __name__ == "__main__":
    main()
