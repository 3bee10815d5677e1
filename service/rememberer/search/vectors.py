"""Texts to unit vectors: a memory's own client-supplied vectors first, then the shared
embedding cache, then the embedder (whose results are cached by (embedder, sha256))."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from operator import itemgetter
from typing import Any

import numpy as np
from pgvector import Vector as PgVector
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from rememberer.embedding.embedder import SentenceEmbedder, Vector
from rememberer.errors import MissingEmbedding, Unprocessable
from rememberer.memories.catalog import MemoryInfo
from rememberer.observability import CacheStats
from rememberer.schemas import CLIENT_EMBEDDER
from rememberer.storage.db import driver_connection
from rememberer.storage.keys import sha256


def unit(vector: Sequence[float] | Vector | PgVector) -> Vector:
    if isinstance(vector, PgVector):
        vector = vector.to_numpy()
    array = np.asarray(vector, dtype=np.float32)
    norm = float(np.linalg.norm(array))
    if norm == 0.0 or not np.isfinite(norm):
        raise Unprocessable("a zero or non-finite vector has no direction; send a non-zero vector")
    return array / norm


# Both places a text's vector can be, in one round trip: the memory's own vectors and the
# embedder's cache (`own` tells them apart). psycopg placeholders: it runs on the session's
# driver connection (below).
_SELECT_KNOWN = (
    "SELECT text_sha256, embedding, true AS own FROM text_vectors "
    "WHERE memory_id = %(memory_id)s AND text_sha256 = ANY(%(keys)s) "
    "UNION ALL "
    "SELECT text_sha256, embedding, false AS own FROM embedding_cache "
    "WHERE embedder = %(embedder)s AND text_sha256 = ANY(%(keys)s)"
)
_INSERT_CACHED = text(
    "INSERT INTO embedding_cache (embedder, text_sha256, embedding) "
    "VALUES (:embedder, :key, :embedding) ON CONFLICT DO NOTHING"
)
_UPSERT_OWN = text(
    "INSERT INTO text_vectors (memory_id, text_sha256, embedding) "
    "VALUES (:memory_id, :key, :embedding) "
    "ON CONFLICT (memory_id, text_sha256) DO UPDATE SET embedding = EXCLUDED.embedding"
)


def in_key_order(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows to insert, in order of their conflict key. Two transactions that insert or
    update some of the same keys then wait on the first key they share: in different orders
    each would hold a row the other waits for, and PostgreSQL would abort one (40P01)."""
    return sorted(rows, key=itemgetter("key"))


class VectorStore:
    def __init__(self, embedder: SentenceEmbedder) -> None:
        self.embedder = embedder
        self.stats = CacheStats()

    async def put(
        self, session: AsyncSession, memory: MemoryInfo, vectors: Mapping[str, Sequence[float]]
    ) -> int:
        rows = []
        for content, vector in vectors.items():
            if len(vector) != memory.dimension:
                raise Unprocessable(
                    f"vector for {content[:80]!r} has {len(vector)} numbers; "
                    f"memory {memory.name!r} has dimension {memory.dimension}"
                )
            rows.append({"memory_id": memory.id, "key": sha256(content), "embedding": unit(vector)})
        if rows:
            await session.execute(_UPSERT_OWN, in_key_order(rows))
        return len(rows)

    async def resolve(
        self,
        session: AsyncSession,
        memory: MemoryInfo,
        texts: Iterable[str],
    ) -> dict[str, Vector]:
        """Unit vectors of the texts. Embeddings computed here are added to the shared cache
        inside the caller's transaction: the caller commits them by the one rule
        (rememberer.api.deps); a writer that must keep them whatever becomes of its own
        transaction commits right after this call."""
        wanted = {content: sha256(content) for content in texts}
        found, cached = await self._select_known(session, memory, wanted)
        missing = {c: k for c, k in wanted.items() if c not in found}
        if not missing:
            return found
        if memory.embedder == CLIENT_EMBEDDER:
            raise MissingEmbedding(next(iter(missing)))
        cached = {c: v for c, v in cached.items() if c in missing}
        found.update(cached)
        self.stats.hits += len(cached)
        to_encode = [c for c in missing if c not in cached]
        if to_encode:
            self.stats.misses += len(to_encode)
            encoded = await self.embedder.encode(to_encode)
            rows = []
            for content, vector in zip(to_encode, encoded, strict=True):
                found[content] = unit(vector)
                rows.append(
                    {"embedder": memory.embedder, "key": missing[content], "embedding": vector}
                )
            await session.execute(_INSERT_CACHED, in_key_order(rows))
        return found

    @staticmethod
    async def _select_known(
        session: AsyncSession, memory: MemoryInfo, wanted: dict[str, bytes]
    ) -> tuple[dict[str, Vector], dict[str, Vector]]:
        """The memory's own vectors of the texts, and the embedder's cached ones."""
        by_key = {key: content for content, key in wanted.items()}
        # Vectors in binary: parsing them from text costs more than the whole look-up. The
        # driver connection is the session's own, inside its transaction.
        driver = await driver_connection(session)
        params = {"memory_id": memory.id, "embedder": memory.embedder, "keys": list(by_key)}
        async with driver.cursor(binary=True) as cursor:
            await cursor.execute(_SELECT_KNOWN, params)
            rows = await cursor.fetchall()
        own: dict[str, Vector] = {}
        cached: dict[str, Vector] = {}
        for key, vector, is_own in rows:
            (own if is_own else cached)[by_key[bytes(key)]] = unit(vector)
        return own, cached
