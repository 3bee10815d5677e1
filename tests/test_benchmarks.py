"""The benchmark harness, run end to end on a tiny memory so that it cannot rot (the real
run is `make bench`, never part of the test suite)."""

from __future__ import annotations

import os
from contextlib import nullcontext
from dataclasses import replace

import httpx
from rememberer.memories.catalog import IndexShape

from benchmarks.cpu import CpuMeter
from benchmarks.memory_bench import Plan
from benchmarks.report import Report, render, targets
from benchmarks.run import Options, measure
from benchmarks.tune import TuneRow
from tests.support.http import ServerThread
from tests.support.processes import resident_bytes


def test_benchmark_harness_runs_on_a_tiny_memory(
    api: httpx.Client, server: ServerThread, database_url: str
) -> None:
    options = Options(
        sizes=(200,),
        plan=Plan(
            queries=12,
            sql_queries=4,
            python_scan_queries=2,
            agents=2,
            episodes_per_agent=1,
            episode_steps=3,
        ),
        embed_texts=4,
        server_embedded=2,
        http_floor_calls=20,
        tune_queries=4,
        import_records=30,
        shapes=(IndexShape("halfvec", 8, 16),),
        ef_searches=(40,),
        name_prefix=f"smoke-{server.port}",
    )
    # The pool sizes are only exercised here: every "service" is this session's server.
    # The server runs in this process: its CPU is this process's (load generator included).
    cpu = CpuMeter.of(os.getpid(), database_url)
    report = measure(
        api,
        database_url,
        options,
        lambda: resident_bytes(os.getpid()),
        lambda _: nullcontext(server.url),
        cpu,
    )
    [size] = report.sizes
    # 200 records are below the exact-scan threshold: the service must rank exactly.
    assert size.recall == {0.1: 1.0, 0.5: 1.0, 0.9: 1.0}
    assert len(size.one_client.latencies_ms) == 12
    assert size.update_per_step.requests == size.update_per_episode.requests > 0
    assert size.update_revisiting.requests == size.update_per_episode.requests
    assert size.update_cpu is not None
    # /proc counts in clock ticks (10 ms): a run this small may not reach one in each place.
    assert all(spent.service >= 0 and spent.database >= 0 for spent in size.update_cpu)
    assert sum(spent.service + spent.database for spent in size.update_cpu) > 0
    assert "CPU time per transition" in render(report)
    assert report.server_embedded.stats["embedding_cache"]["misses"] >= 2
    assert all(e.texts_per_second > 0 and e.single_text_ms > 0 for e in report.embed)
    [tuned] = report.tuning
    assert all(0.0 <= r <= 1.0 for r in tuned.recall.values())
    document = render(report)
    for target in targets(report):
        assert target.name in document
    assert "## HNSW shapes" in document
    assert [(i.records, i.into) for i in report.imports] == [
        (30, "a new memory"),
        (3, "the 200-record memory"),
    ]
    assert all(i.created_per_second > 0 and i.replaced_per_second > 0 for i in report.imports)
    assert "## Bulk import" in document
    assert "## Embedder backends" in document
    assert [b.name for b in report.backends][:2] == [
        "torch (reference)",
        "OpenVINO (the service's)",
    ]
    assert report.backends[1].cosine_min >= 0.99
    assert report.http_floor.requests == 20 and "GET /healthz" in document
    assert [p.pool_size for p in report.pools] == [2, 4, 10]
    assert all(p.load.requests == 12 for p in report.pools)
    assert_insert_bound_explained(report)


def assert_insert_bound_explained(report: Report) -> None:
    """A missed per-episode update target names the cheapest measured graph that keeps the
    recall goal, and its insert cost against the CPU budget (graphs below the goal are
    cheaper but do not count)."""

    def row(m: int, insert_ms: float, recall: float) -> TuneRow:
        return TuneRow(IndexShape("halfvec", m, 64), 1.0, 1, insert_ms, 40, 1.0, {0.5: recall})

    tuned = replace(report, tuning=[row(16, 5.0, 0.99), row(12, 3.0, 0.98), row(8, 1.0, 0.97)])
    [episode] = [t for t in targets(tuned) if t.name.endswith("one episode per call")]
    budget = report.machine.cores * 1000 / 1000
    assert "halfvec, m=12, ef_construction=64, ef_search 40" in episode.why
    assert f"3.00 ms on each new state's insert alone (one caller), {3 / budget:.1f}×" in (
        episode.why
    )
