"""The benchmark harness, run end to end on a tiny memory so that it cannot rot (the real
run is `make bench`, never part of the test suite)."""

from __future__ import annotations

import os
from contextlib import nullcontext

import httpx
from rememberer.memories.catalog import IndexShape

from benchmarks.compat_bench import CompatPlan
from benchmarks.cpu import CpuMeter
from benchmarks.memory_bench import LAMBDAS, Plan
from benchmarks.recall_bench import LAMBDAS as RECALL_LAMBDAS
from benchmarks.recall_bench import SERVICE, RecallRow
from benchmarks.recall_report import render_recall
from benchmarks.recall_suite import RecallOptions
from benchmarks.reflections_bench import ReflectionPlan
from benchmarks.report import render, targets
from benchmarks.run import Options, measure
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
        recall=RecallOptions(
            sizes=(300,),
            queries=4,
            distributions=("tight-loose",),
            shapes=(IndexShape("halfvec", 8, 16),),
            shape_sizes=(300,),
        ),
        compat=CompatPlan(sizes=(20,), updates=3, screens=10, queries=3, pool_records=10),
        reflections=ReflectionPlan(repeats=2, prompts=2, per_prompt=2, uses=1),
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
    assert size.recall == dict.fromkeys(LAMBDAS, 1.0)
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
    # The recall suite: the service's search and the fixed ef_search values, then the shape.
    assert {r.distribution for r in report.recall.recall} == {"tight-loose"}
    assert all(set(r.recall) == set(LAMBDAS) for r in report.recall.recall)
    [shape] = report.recall.shapes
    assert shape.shape == IndexShape("halfvec", 8, 16) and shape.insert_ms > 0
    assert "## Recall@5 per distribution and λ" in document
    assert "## HNSW index shapes" in document
    assert "## Compatibility features" in document and "## Reflections" in document
    # Explanations live in the hand-written PERFORMANCE.md, which the document links.
    assert "(PERFORMANCE.md)" in document


def test_the_recall_table_shows_new_task_queries_alone_under_the_services_row() -> None:
    everything = dict.fromkeys(RECALL_LAMBDAS, 1.0)
    new_tasks = {**everything, 0.5: 0.8}
    rows = [
        RecallRow("text-game", 100_000, SERVICE, everything, 3.0, 5.0, new_tasks),
        RecallRow("text-game", 100_000, "ef_search 64", {**everything, 0.5: 0.9}, 1.0, 2.0),
    ]
    document = "\n".join(render_recall(rows, []))
    service, new, fixed = [line for line in document.splitlines() if line.startswith("| ")][1:]
    assert "the service's" in service and "**0.800**" not in service
    assert "new-task queries alone" in new and "**0.800**" in new
    assert new.count("1.000") == len(RECALL_LAMBDAS) - 1
    assert "ef_search 64" in fixed and "new-task" not in fixed
    # The worst per distribution is of all queries, as the table's rows are.
    assert "by distribution: text-game 1.000." in document
