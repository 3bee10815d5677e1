"""Server-side embeddings: the embedder's throughput, and retrieval whose observation the
service must embed itself (uncached, then cached), with the cache's hit rate and the
service's resident memory once the model is loaded."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np
from rememberer.embeddings import SentenceEmbedder

from benchmarks.load import LoadResult, post_json, run_load

VOCABULARY = (
    "search results price shoes running red blue size women men pack organic coffee "
    "kettle stainless steel litre cotton shirt sleeve long short waterproof jacket hiking "
    "buy now add to cart rating stars reviews free shipping prime deal description "
    "features material brand color options back next page item product"
)
# A WebShop-like observation: about 80 words, which is about 100 word-piece tokens.
OBSERVATION_WORDS = 80


def page_texts(count: int, seed: int, prefix: str) -> list[str]:
    rng = np.random.default_rng(seed)
    return [
        f"{prefix} {i}: " + " ".join(rng.choice(VOCABULARY.split(" "), OBSERVATION_WORDS))
        for i in range(count)
    ]


@dataclass(frozen=True)
class EmbedResult:
    texts_per_second: float
    batch_size: int
    texts: int


def embedder_throughput(texts: list[str], batch_size: int = 64) -> EmbedResult:
    import time

    embedder = SentenceEmbedder(batch_size=batch_size)
    embedder.encode_now(texts[:batch_size])  # load and warm up
    started = time.perf_counter()
    embedder.encode_now(texts)
    return EmbedResult(len(texts) / (time.perf_counter() - started), batch_size, len(texts))


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
