"""`GET /v1/stats`: what an operator (and the benchmark) needs to see of this process: the
embedding cache's hit rate, the embedder's work, and the resident memory."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from rememberer.api.deps import ServicesDep, reject_unknown_query

router = APIRouter(prefix="/v1", dependencies=[Depends(reject_unknown_query)])


class EmbeddingCacheStats(BaseModel):
    hits: int
    misses: int
    hit_rate: float | None


class EmbedderStats(BaseModel):
    loaded: bool
    texts_encoded: int
    encode_seconds: float
    backend: str = Field(description="openvino or torch (torch also if the conversion failed)")


class ProcessStats(BaseModel):
    resident_bytes: int | None
    peak_resident_bytes: int | None


class Stats(BaseModel):
    embedding_cache: EmbeddingCacheStats
    embedder: EmbedderStats
    process: ProcessStats


def process_memory(status_file: Path = Path("/proc/self/status")) -> ProcessStats:
    """Current and peak resident set size; unknown where /proc is not there."""
    try:
        lines = status_file.read_text().splitlines()
    except OSError:
        return ProcessStats(resident_bytes=None, peak_resident_bytes=None)
    sizes = {}
    for line in lines:
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            sizes[key] = int(value.split()[0]) * 1024
    return ProcessStats(resident_bytes=sizes.get("VmRSS"), peak_resident_bytes=sizes.get("VmHWM"))


@router.get("/stats", response_model=Stats, tags=["health"])
async def stats(services: ServicesDep) -> Stats:
    cache = services.vectors.stats
    lookups = cache.hits + cache.misses
    embedder = services.vectors.embedder
    return Stats(
        embedding_cache=EmbeddingCacheStats(
            hits=cache.hits,
            misses=cache.misses,
            hit_rate=cache.hits / lookups if lookups else None,
        ),
        embedder=EmbedderStats(
            loaded=embedder.loaded,
            texts_encoded=embedder.texts_encoded,
            encode_seconds=round(embedder.encode_seconds, 6),
            backend=embedder.backend,
        ),
        process=process_memory(),
    )
