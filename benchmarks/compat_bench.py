"""Costs of the REMEMBERER compatibility features, against the running service.

With client-supplied vectors (so the embedder's speed does not enter):

1. the latency of an update reaching a new state, in a memory without item capacity and in
   a full memory with one (each such update is then an admission: evict or drop), at a size
   scanned exactly and at one served by the HNSW index;
2. retrieval latency with observation_similarity "embedding" and "lcs" on synthetic
   WikiHow-like screens;
3. `rememberer import` / `export` throughput on a synthetic pool.
"""

from __future__ import annotations

import statistics
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from rememberer.interop import pools, transfer
from rememberer_client import MemoryClient

DIMENSION = 64
TAGS = ("div", "p", "img", "button", "input", "a", "span", "li")
BATCH = 500


@dataclass(frozen=True)
class Latency:
    """Milliseconds of each call of one measured kind."""

    name: str
    ms: list[float]

    @property
    def p50(self) -> float:
        return statistics.median(self.ms)

    @property
    def p95(self) -> float:
        ordered = sorted(self.ms)
        return ordered[int(0.95 * (len(ordered) - 1))]


@dataclass(frozen=True)
class CompatPlan:
    sizes: Sequence[int] = (500, 4000)
    updates: int = 100
    screens: int = 1000
    queries: int = 50
    pool_records: int = 2000


@dataclass(frozen=True)
class CompatResult:
    admission: list[Latency]
    lcs: list[Latency]
    # (records, YAML megabytes, import records/s, export records/s)
    transfer: tuple[int, float, float, float]


def timed(call: Callable[[], object], times: int) -> list[float]:
    spent = []
    for _ in range(times):
        started = time.perf_counter()
        call()
        spent.append((time.perf_counter() - started) * 1000)
    return spent


def client_memory(api: httpx.Client, name: str, texts: list[str], **settings: Any) -> None:
    """A client-vector memory with random vectors for `texts`."""
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    body = {"name": name, "embedder": "client", "dimension": DIMENSION, **settings}
    api.post("/v1/memories", json=body).raise_for_status()
    for start in range(0, len(texts), 5_000):
        vectors = {t: rng.normal(size=DIMENSION).round(5).tolist() for t in texts[start:][:5000]}
        api.put(f"/v1/memories/{name}/embeddings", json={"embeddings": vectors}).raise_for_status()


def fill(api: httpx.Client, name: str, observations: list[str]) -> None:
    for first in range(0, len(observations), BATCH):
        items = [
            {"task": "task", "observation": o, "actions": [{"action": "go", "q": 1.0}]}
            for o in observations[first : first + BATCH]
        ]
        api.post(f"/v1/memories/{name}/records", json={"items": items}).raise_for_status()


def _new_state_update(api: httpx.Client, name: str, observations: Iterator[str]) -> None:
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


def admission(api: httpx.Client, prefix: str, plan: CompatPlan) -> list[Latency]:
    rows = []
    for size in plan.sizes:
        kept = [f"state {i}" for i in range(size)]
        arriving = [f"new state {i}" for i in range(plan.updates)]
        for capped in (False, True):
            name = f"{prefix}-{'capped' if capped else 'plain'}-{size}"
            settings = {"item_capacity": size} if capped else {}
            client_memory(api, name, ["task", "end", *kept, *arriving], **settings)
            fill(api, name, kept)
            states = iter(arriving)
            spent = timed(partial(_new_state_update, api, name, states), plan.updates)
            what = f"capacity {size:,}, full" if capped else "no capacity"
            rows.append(Latency(f"{size:,} records, {what}", spent))
            api.delete(f"/v1/memories/{name}").raise_for_status()
    return rows


def _retrieve_screen(api: httpx.Client, name: str, questions: Iterator[str]) -> None:
    body = {"task": "task", "observation": next(questions), "k": 2}
    api.post(f"/v1/memories/{name}/retrieve", json=body).raise_for_status()


def _screen(rng: np.random.Generator) -> str:
    lines = int(rng.integers(10, 60))
    return "\n".join(
        f'<{TAGS[int(rng.integers(len(TAGS)))]} id="{i}" clickable="true">x</>'
        for i in range(lines)
    )


def lcs_retrieval(api: httpx.Client, prefix: str, plan: CompatPlan) -> list[Latency]:
    rng = np.random.default_rng(1)
    pages = list(dict.fromkeys(_screen(rng) for _ in range(plan.screens + plan.queries)))
    stored, asked = pages[: plan.screens], pages[plan.screens :]
    rows = []
    for similarity in ("embedding", "lcs"):
        name = f"{prefix}-screens-{similarity}"
        client_memory(api, name, ["task", *pages], observation_similarity=similarity)
        fill(api, name, stored)
        questions = iter(asked)
        spent = timed(partial(_retrieve_screen, api, name, questions), len(asked))
        rows.append(Latency(f"{len(stored):,} screens, {similarity}, k = 2", spent))
        api.delete(f"/v1/memories/{name}").raise_for_status()
    return rows


def _pool(records: int) -> dict[tuple[str, str, str], Any]:
    return {
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


def import_export(
    api: httpx.Client, url: str, prefix: str, records: int
) -> tuple[int, float, float, float]:
    pool = _pool(records)
    name = f"{prefix}-imported"
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "pool.yaml"
        with path.open("w", encoding="utf-8") as stream:
            pools.dump_pool([{**item, "record_id": 0} for item in pools.pool_items(pool)], stream)
        client_memory(api, name, sorted({t for key in pool for t in key[:2]}))
        with MemoryClient(url) as client:
            started = time.perf_counter()
            transfer.import_file(client, name, path, "rememberer-yaml", progress=False)
            imported = time.perf_counter() - started
            started = time.perf_counter()
            transfer.export_file(client, name, Path(scratch) / "out.yaml", "rememberer-yaml", False)
            exported = time.perf_counter() - started
        megabytes = path.stat().st_size / 1e6
    api.delete(f"/v1/memories/{name}").raise_for_status()
    return records, megabytes, records / imported, records / exported


def compat(api: httpx.Client, url: str, prefix: str, plan: CompatPlan) -> CompatResult:
    return CompatResult(
        admission(api, prefix, plan),
        lcs_retrieval(api, prefix, plan),
        import_export(api, url, prefix, plan.pool_records),
    )
