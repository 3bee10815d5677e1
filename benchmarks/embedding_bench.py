"""Server-side embeddings: the embedder's throughput, and retrieval whose observation the
service must embed itself (uncached, then cached), with the cache's hit rate and the
service's resident memory once the model is loaded."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np
from rememberer.embedding.embedder import SentenceEmbedder

from benchmarks.load import LoadResult, post_json, run_load

VOCABULARY = (
    "search results price shoes running red blue size women men pack organic coffee "
    "kettle stainless steel litre cotton shirt sleeve long short waterproof jacket hiking "
    "buy now add to cart rating stars reviews free shipping prime deal description "
    "features material brand color options back next page item product"
)
# A WebShop-like observation: about 80 words, which is about 100 word-piece tokens.
OBSERVATION_WORDS = 80
SINGLE_TEXTS = 30


def page_texts(count: int, seed: int, prefix: str) -> list[str]:
    rng = np.random.default_rng(seed)
    return [
        f"{prefix} {i}: " + " ".join(rng.choice(VOCABULARY.split(" "), OBSERVATION_WORDS))
        for i in range(count)
    ]


@dataclass(frozen=True)
class EmbedResult:
    threads: int
    texts_per_second: float
    single_text_ms: float


def embedder_throughput(texts: list[str], threads: int, batch_size: int = 64) -> EmbedResult:
    """Batched throughput, and the latency of one text alone (a retrieve's case), with the
    service's embedder (its default backend) on `threads` CPU threads."""
    embedder = SentenceEmbedder(batch_size=batch_size, threads=threads)
    embedder.encode_now(texts[:batch_size])  # load and warm up
    started = time.perf_counter()
    embedder.encode_now(texts)
    per_second = len(texts) / (time.perf_counter() - started)
    singles = []
    for text in texts[: min(len(texts), SINGLE_TEXTS)]:
        started = time.perf_counter()
        embedder.encode_now([text])
        singles.append((time.perf_counter() - started) * 1000)
    return EmbedResult(threads, per_second, float(np.median(singles)))


@dataclass(frozen=True)
class ServerEmbedResult:
    uncached: LoadResult
    cached: LoadResult
    stats: dict[str, Any]


def server_embedded_retrieval(api: httpx.Client, memory: str, count: int) -> ServerEmbedResult:
    """Retrieve with observations the service has never seen (it embeds each one), then
    the same again (each is a cache hit)."""
    task = f"{memory} server-embedded task"
    api.post(f"/v1/memories/{memory}/retrieve", json={"task": task, "observation": "warm up"})
    observations = page_texts(count, seed=count, prefix=f"{memory} page")
    path = f"/v1/memories/{memory}/retrieve"
    calls = [post_json(path, {"task": task, "observation": o, "k": 5}) for o in observations]
    base = str(api.base_url)
    uncached = run_load(base, calls, 1)
    cached = run_load(base, calls, 1)
    stats = api.get("/v1/stats").json()
    return ServerEmbedResult(uncached, cached, stats)
