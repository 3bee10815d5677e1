"""Latency of the memory inspector's pages over a 100k-record memory.

Seeds through the public API (client vectors, bulk records in batches of 1,000, episodes
through /update, reflections), then times each page sequentially against a `rememberer
serve` process and writes docs/BENCHMARKS-ui.md. Run: `python -m benchmarks.ui_pages`.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import numpy as np
import psycopg

from benchmarks.service import Service, database
from tests.support.database import plain_url

logger = logging.getLogger(__name__)
NAME = "ui-bench"
DIMENSION = 32
TASKS = 200
BATCH = 1_000
EPISODES = 300
REPEATS = 30
REPORT = Path(__file__).resolve().parents[1] / "docs" / "BENCHMARKS-ui.md"


def vectors(rng: np.random.Generator, texts: list[str]) -> dict[str, list[float]]:
    matrix = rng.standard_normal((len(texts), DIMENSION)).astype(np.float32)
    return {
        text: [round(float(x), 5) for x in row] for text, row in zip(texts, matrix, strict=True)
    }


def put_vectors(api: httpx.Client, rng: np.random.Generator, texts: list[str]) -> None:
    for start in range(0, len(texts), 5_000):
        body = {"embeddings": vectors(rng, texts[start : start + 5_000])}
        api.put(f"/v1/memories/{NAME}/embeddings", json=body).raise_for_status()


def task_of(number: int) -> str:
    return f"task {number % TASKS}: put the object {number % TASKS} in its place"


def seed(api: httpx.Client, records: int) -> None:
    rng = np.random.default_rng(7)
    body = {"name": NAME, "embedder": "client", "dimension": DIMENSION}
    api.post("/v1/memories", json=body).raise_for_status()
    tasks = [task_of(n) for n in range(TASKS)]
    observations = [f"observation {n}: a room with {n % 97} doors" for n in range(records)]
    put_vectors(api, rng, tasks + observations)
    started = time.perf_counter()
    for start in range(0, records, BATCH):
        items = [
            {
                "task": task_of(n),
                "observation": observations[n],
                "visits": int(n % 13),
                "actions": [
                    {"action": f"open door {a}", "q": float((n * 7 + a) % 100) / 100, "visits": a}
                    for a in range(1 + n % 3)
                ],
            }
            for n in range(start, min(records, start + BATCH))
        ]
        api.post(f"/v1/memories/{NAME}/records", json={"items": items}).raise_for_status()
    logger.info("%d records in %.0f s", records, time.perf_counter() - started)
    for number in range(EPISODES):
        steps = [
            {
                "step": s,
                "observation": observations[(number * 3 + s) % records],
                "action": f"open door {s}",
                "reward": float(s == 2) * number / EPISODES,
                "next_observation": observations[(number * 3 + s + 1) % records],
                "done": s == 2,
            }
            for s in range(3)
        ]
        body = {"episode_id": f"e{number}", "task": task_of(number), "transitions": steps}
        api.post(f"/v1/memories/{NAME}/update", json=body).raise_for_status()
    reflection = {"task": task_of(0), "episode_id": "e0", "text": "Open the first door first."}
    api.post(f"/v1/memories/{NAME}/reflections", json=reflection).raise_for_status()


def wait_for_index(database_url: str, seconds: float = 900) -> None:
    """Until the memory's HNSW index (built in the background once it outgrew the exact
    scan) is ready: the playground and nearest records are timed as a warm service runs."""
    with psycopg.connect(plain_url(database_url), autocommit=True) as connection:
        row = connection.execute("SELECT id FROM memories WHERE name = %s", (NAME,)).fetchone()
        assert row is not None
        query = "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)"
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            found = connection.execute(query, (f"records_hnsw_{row[0]}",)).fetchone()
            if found and found[0]:
                return
            time.sleep(2)
    raise RuntimeError("the HNSW index was not built in time")


def pages(api: httpx.Client) -> dict[str, str]:
    base = f"/ui/memories/{NAME}"
    records = api.get(f"/v1/memories/{NAME}/records", params={"limit": 1}).json()["items"]
    second = api.get(f"{base}/records", params={"sort": "visits"}).text
    cursor = second.split("after=")[1].split('"')[0] if "after=" in second else ""
    retrieve = f"task={quote(task_of(5))}&observation={quote('observation 5: a room with 5 doors')}"
    return {
        "memories list": "/ui",
        "memory overview (curve, tasks)": base,
        "records, newest": f"{base}/records",
        "records, most visits": f"{base}/records?sort=visits",
        "records, most visits, page 2": f"{base}/records?sort=visits&after={cursor}",
        "records, best q": f"{base}/records?sort=best_q",
        "records, text search": f"{base}/records?search=room+with+42+doors",
        "record with nearest": f"{base}/records/{records[0]['record_id']}",
        "retrieve playground": f"{base}/retrieve?{retrieve}&k=5&lambda=0.5",
        "episodes": f"{base}/episodes",
        "episode": f"{base}/episode?id=e10",
        "reflections": f"{base}/reflections",
    }


def time_pages(api: httpx.Client) -> list[tuple[str, float, float]]:
    rows = []
    for label, path in pages(api).items():
        api.get(path).raise_for_status()  # warm: plans, caches
        samples = []
        for _ in range(REPEATS):
            started = time.perf_counter()
            api.get(path).raise_for_status()
            samples.append((time.perf_counter() - started) * 1000)
        samples.sort()
        rows.append((label, statistics.median(samples), samples[int(len(samples) * 0.95) - 1]))
        logger.info("%-34s p50 %6.1f ms  p95 %6.1f ms", label, rows[-1][1], rows[-1][2])
    return rows


def report(rows: list[tuple[str, float, float]], records: int) -> str:
    lines = [
        "# Memory inspector: page latency",
        "",
        f"One memory of {records:,} records (1-3 actions each, {TASKS} tasks), {EPISODES} "
        "finished episodes, client vectors of dimension "
        f"{DIMENSION}; `rememberer serve` (one worker) on an embedded PostgreSQL, on the "
        f"shared 2-core machine. Each page fetched {REPEATS} times in sequence after one "
        "warm-up fetch; whole HTTP round trip measured by the client. "
        "Command: `python -m benchmarks.ui_pages`. Goal: p50 under 200 ms.",
        "",
        "| page | p50 ms | p95 ms |",
        "|---|---:|---:|",
    ]
    lines += [f"| {label} | {p50:.1f} | {p95:.1f} |" for label, p50, p95 in rows]
    return "\n".join(lines) + "\n"


def run(folder: Path, records: int) -> list[tuple[str, float, float]]:
    with (
        database(folder / "pg") as url,
        Service(url, {}, folder / "log") as service,
        httpx.Client(base_url=service.url, timeout=600) as api,
    ):
        seed(api, records)
        retrieve = {"task": task_of(1), "observation": "observation 1: a room with 1 doors"}
        api.post(f"/v1/memories/{NAME}/retrieve", json=retrieve).raise_for_status()
        wait_for_index(url)
        return time_pages(api)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--output", type=Path, default=REPORT)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rememberer-ui-bench-") as folder:
        rows = run(Path(folder), args.records)
    args.output.write_text(report(rows, args.records))
    logger.info("wrote %s", args.output)


if __name__ == "__main__":
    main()
