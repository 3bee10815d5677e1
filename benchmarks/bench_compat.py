"""Costs of the REMEMBERER compatibility features, against a real service and database.

    python benchmarks/bench_compat.py [--sizes 500 4000] [--updates 200] [--screens 2000]

Starts an embedded PostgreSQL in a temporary folder and the service in this process, then
measures, with client-supplied vectors (so the embedder's speed does not enter):

1. update latency of a new state, in a memory without item capacity and in a full memory
   with one (each update is then an admission: evict the most redundant record or drop);
   at a size scanned exactly and at one served by the HNSW index;
2. retrieval latency with observation_similarity "embedding" and "lcs" on synthetic
   WikiHow-like screens;
3. `rememberer import`/`export` throughput on a synthetic pool.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import uvicorn
from rememberer.app import create_app
from rememberer.config import Settings
from rememberer.interop import pools, transfer
from rememberer.storage.embedded import EmbeddedPostgres
from rememberer.storage.migrate import upgrade
from rememberer_client import MemoryClient

DIM = 64
TAGS = ("div", "p", "img", "button", "input", "a", "span", "li")


@contextmanager
def service(folder: Path) -> Iterator[str]:
    database = EmbeddedPostgres(folder)
    url = database.start()
    upgrade(url)
    config = uvicorn.Config(create_app(Settings(), database_url=url), port=0, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        database.stop()


def timed(call: Callable[[], object], times: int) -> list[float]:
    """Milliseconds of each of `times` calls."""
    spent = []
    for _ in range(times):
        start = time.perf_counter()
        call()
        spent.append((time.perf_counter() - start) * 1000)
    return spent


def summary(spent: list[float]) -> str:
    ordered = sorted(spent)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    return f"median {statistics.median(ordered):6.2f} ms, p95 {p95:6.2f} ms"


def client_memory(api: httpx.Client, name: str, texts: list[str], **settings: Any) -> None:
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    body = {"name": name, "embedder": "client", "dimension": DIM, **settings}
    api.post("/v1/memories", json=body).raise_for_status()
    for start in range(0, len(texts), 5_000):
        chunk = texts[start : start + 5_000]
        vectors = {text: rng.normal(size=DIM).round(5).tolist() for text in chunk}
        api.put(f"/v1/memories/{name}/embeddings", json={"embeddings": vectors}).raise_for_status()


def fill(api: httpx.Client, name: str, observations: list[str]) -> float:
    """Records per second through the bulk endpoint."""
    start = time.perf_counter()
    for first in range(0, len(observations), 500):
        items = [
            {"task": "task", "observation": o, "actions": [{"action": "go", "q": 1.0}]}
            for o in observations[first : first + 500]
        ]
        api.post(f"/v1/memories/{name}/records", json={"items": items}).raise_for_status()
    return len(observations) / (time.perf_counter() - start)


def new_state_updates(api: httpx.Client, name: str, observations: Iterator[str]) -> None:
    observation = next(observations)
    transition = {
        "step": 0,
        "observation": observation,
        "action": "go",
        "reward": 1.0,
        "next_observation": "end",
        "done": True,
    }
    body = {"episode_id": observation, "task": "task", "transitions": [transition]}
    api.post(f"/v1/memories/{name}/update", json=body).raise_for_status()


def bench_admission(api: httpx.Client, sizes: list[int], updates: int) -> None:
    out("## 1. New-state update latency: no item capacity vs a full memory with one\n")
    for size in sizes:
        kept = [f"state {i}" for i in range(size)]
        arriving = [f"new state {i}" for i in range(updates)]
        for capped in (False, True):
            name = f"{'capped' if capped else 'plain'}-{size}"
            settings = {"item_capacity": size} if capped else {}
            client_memory(api, name, ["task", "end", *kept, *arriving], **settings)
            rate = fill(api, name, kept)
            states = iter(arriving)
            spent = timed(
                lambda name=name, states=states: new_state_updates(api, name, states), updates
            )
            records = api.get(f"/v1/memories/{name}").json()["records"]
            out(
                f"- {size} records, {'capacity ' + str(size) if capped else 'no capacity'}: "
                f"{summary(spent)} per update; bulk fill {rate:,.0f} records/s; "
                f"{records} records after\n"
            )
    out("\n")


def screen(rng: np.random.Generator) -> str:
    lines = rng.integers(10, 60)
    return "\n".join(
        f'<{TAGS[rng.integers(len(TAGS))]} id="{i}" clickable="true">x</>' for i in range(lines)
    )


def bench_lcs(api: httpx.Client, screens: int, queries: int) -> None:
    out("## 2. Retrieval latency (k = 2): embedding vs lcs observation similarity\n")
    rng = np.random.default_rng(1)
    pages = list(dict.fromkeys(screen(rng) for _ in range(screens + queries)))
    stored, asked = pages[:screens], pages[screens:]
    for similarity in ("embedding", "lcs"):
        name = f"screens-{similarity}"
        client_memory(api, name, ["task", *pages], observation_similarity=similarity)
        fill(api, name, stored)
        questions = iter(asked * 2)
        spent = timed(
            lambda name=name, questions=questions: api.post(
                f"/v1/memories/{name}/retrieve",
                json={"task": "task", "observation": next(questions), "k": 2},
            ).raise_for_status(),
            len(asked),
        )
        out(f"- {len(stored)} screens, {similarity}: {summary(spent)} per retrieve\n")
    out("\n")


def bench_transfer(url: str, api: httpx.Client, records: int, folder: Path) -> None:
    out("## 3. rememberer import / export\n")
    pool = {
        (f"page {i}\n" * 5, f"task {i % 50}", "search"): {
            "action_dict": {
                (f"click[{i}]", "because"): {"number": 1, "qvalue": 1.0, "reward": 0.0}
            },
            "other_info": {
                "action_history": [("search[x]", "")],
                "last_reward": 0.0,
                "number": 1,
                "total_reward": 0.0,
            },
            "id": i,
        }
        for i in range(records)
    }
    path = folder / "pool.yaml"
    with path.open("w", encoding="utf-8") as stream:
        pools.dump_pool([{**item, "record_id": 0} for item in pools.pool_items(pool)], stream)
    texts = sorted({t for key in pool for t in key[:2]})
    client_memory(api, "imported", texts)
    with MemoryClient(url) as client:
        start = time.perf_counter()
        transfer.import_file(client, "imported", path, "rememberer-yaml", progress=False)
        imported = time.perf_counter() - start
        start = time.perf_counter()
        transfer.export_file(client, "imported", folder / "out.yaml", "rememberer-yaml", False)
        exported = time.perf_counter() - start
    size = path.stat().st_size / 1e6
    out(
        f"- {records} records ({size:.1f} MB of YAML): import {records / imported:,.0f} "
        f"records/s, export {records / exported:,.0f} records/s\n\n"
    )


def out(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 4000])
    parser.add_argument("--updates", type=int, default=200)
    parser.add_argument("--screens", type=int, default=2000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--pool", type=int, default=2000)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as folder,
        service(Path(folder)) as url,
        httpx.Client(base_url=url, timeout=120) as api,
    ):
        bench_admission(api, args.sizes, args.updates)
        bench_lcs(api, args.screens, args.queries)
        bench_transfer(url, api, args.pool, Path(folder))


if __name__ == "__main__":
    main()
