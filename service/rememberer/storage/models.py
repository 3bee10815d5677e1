"""Tables. A memory owns its records, their action values, its episodes and its client vectors.

Texts that key a row (task + observation, action, embedded text) are keyed by their sha256,
because B-tree entries cannot hold the long observations (web pages) agents send.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pgvector.sqlalchemy import VECTOR
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    LargeBinary,
    Text,
    false,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


def _now() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


def _memory_fk() -> Mapped[int]:
    return mapped_column(BigInteger, ForeignKey("memories.id", ondelete="CASCADE"), nullable=False)


class MemoryRow(Base):
    __tablename__ = "memories"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(Text, unique=True, nullable=False)
    gamma: Mapped[float] = mapped_column(Float, nullable=False)
    n_step: Mapped[int | None] = mapped_column(Integer)
    update_mode: Mapped[str] = mapped_column(Text, nullable=False)
    learning_rate: Mapped[float] = mapped_column(Float, nullable=False)
    lambda_: Mapped[float] = mapped_column("lambda", Float, nullable=False)
    action_history_mode: Mapped[str] = mapped_column(Text, nullable=False)
    item_capacity: Mapped[int | None] = mapped_column(Integer)
    action_capacity: Mapped[int | None] = mapped_column(Integer)
    embedder: Mapped[str] = mapped_column(Text, nullable=False)
    dimension: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = _now()
    double_q: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=false())
    observation_similarity: Mapped[str] = mapped_column(
        Text, nullable=False, server_default="embedding"
    )
    bootstrap_min_score: Mapped[float | None] = mapped_column(Float)


class RecordRow(Base):
    """One (task, observation) state: what its visits taught. Its vector, which never
    changes, is a RecordEmbeddingRow, so that an update of a visited state rewrites a small
    row on its own page (a heap-only update) and no index entry."""

    __tablename__ = "records"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    memory_id: Mapped[int] = _memory_fk()
    key: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    task: Mapped[str] = mapped_column(Text, nullable=False)
    # hashtext(task), stored so that the search finds a task's records by index alone
    # (migration 0011).
    task_hash: Mapped[int] = mapped_column(
        Integer, Computed("hashtext(task)", persisted=True), nullable=False
    )
    observation: Mapped[str] = mapped_column(Text, nullable=False)
    visits: Mapped[int] = mapped_column(Integer, nullable=False)
    last_reward: Mapped[float] = mapped_column(Float, nullable=False)
    total_reward: Mapped[float] = mapped_column(Float, nullable=False)
    action_history: Mapped[list[str]] = mapped_column(JSONB, nullable=False)
    extra: Mapped[Any | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = _now()
    # Item capacity only: similarity to the nearest other record, and that record's id.
    redundancy: Mapped[float | None] = mapped_column(Float)
    nearest_id: Mapped[int | None] = mapped_column(BigInteger)
    # The highest q of its action values, '-Infinity' while it has none: kept by triggers on
    # action_values (migration 0009), read by the inspector's "best q" sort.
    best_q: Mapped[float] = mapped_column(Float, nullable=False, server_default=text("'-Infinity'"))

    __table_args__ = (
        Index("records_memory_key", "memory_id", "key", unique=True),
        Index("records_memory_id", "memory_id", "id"),
        Index("records_task", "task", postgresql_using="hash"),
        Index("records_redundancy", "memory_id", text("redundancy DESC NULLS LAST"), "id"),
        Index("records_nearest", "nearest_id", postgresql_where=text("nearest_id IS NOT NULL")),
        Index("records_best_q", "memory_id", "best_q", "id"),
        Index("records_memory_task", "memory_id", "task_hash", "id"),
        {"postgresql_with": {"fillfactor": 85}},
    )


class RecordEmbeddingRow(Base):
    """A record's vector, [unit(task); unit(observation)], written once with the record."""

    __tablename__ = "record_embeddings"

    record_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("records.id", ondelete="CASCADE"), primary_key=True
    )
    memory_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    # Untyped: each memory fixes its own dimension; its HNSW index casts to halfvec(2·d)
    # (memories.INDEX_SHAPE; built per memory, so not declared here).
    embedding: Mapped[Any] = mapped_column(VECTOR(), nullable=False)

    __table_args__ = (Index("record_embeddings_memory", "memory_id"),)


class MemoryTaskRow(Base):
    """One of a memory's tasks with its vector, unit(task), for the search's nearest tasks.
    Kept by a row trigger on record_embeddings inserts (migration 0012)."""

    __tablename__ = "memory_tasks"

    memory_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("memories.id", ondelete="CASCADE"), primary_key=True
    )
    task_hash: Mapped[int] = mapped_column(Integer, primary_key=True)
    embedding: Mapped[Any] = mapped_column(VECTOR(), nullable=False)


class ActionValueRow(Base):
    __tablename__ = "action_values"

    record_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("records.id", ondelete="CASCADE"), primary_key=True
    )
    action_key: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    action: Mapped[str] = mapped_column(Text, nullable=False)
    note: Mapped[str | None] = mapped_column(Text)
    q: Mapped[float] = mapped_column(Float, nullable=False)
    reward: Mapped[float] = mapped_column(Float, nullable=False)
    visits: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = _now()
    # Double Q-learning's two estimates (null otherwise); `q` is their mean.
    q_a: Mapped[float | None] = mapped_column(Float)
    q_b: Mapped[float | None] = mapped_column(Float)


class EpisodeRow(Base):
    __tablename__ = "episodes"

    memory_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("memories.id", ondelete="CASCADE"), primary_key=True
    )
    episode_id: Mapped[str] = mapped_column(Text, primary_key=True)
    task: Mapped[str] = mapped_column(Text, nullable=False)
    next_step: Mapped[int] = mapped_column(Integer, nullable=False)
    done: Mapped[bool] = mapped_column(Boolean, nullable=False)
    episode_return: Mapped[float] = mapped_column("return", Float, nullable=False)
    created_at: Mapped[datetime] = _now()
    updated_at: Mapped[datetime] = _now()
    # open, done, truncated or abandoned; `done` is true for every status but open.
    status: Mapped[str] = mapped_column(Text, nullable=False, server_default="open")

    __table_args__ = (
        Index("episodes_open", "memory_id", postgresql_where="NOT done"),
        Index("episodes_newest", "memory_id", text("created_at DESC"), text("episode_id DESC")),
        CheckConstraint(
            "status IN ('open', 'done', 'truncated', 'abandoned')", name="episodes_status"
        ),
    )


class EpisodeStepRow(Base):
    """A received transition: the pending window of an open episode, and the stored answer
    that makes a retried step a no-op."""

    __tablename__ = "episode_steps"

    memory_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    episode_id: Mapped[str] = mapped_column(Text, primary_key=True)
    step: Mapped[int] = mapped_column(Integer, primary_key=True)
    observation: Mapped[str] = mapped_column(Text, nullable=False)
    action: Mapped[str] = mapped_column(Text, nullable=False)
    reward: Mapped[float] = mapped_column(Float, nullable=False)
    next_observation: Mapped[str] = mapped_column(Text, nullable=False)
    done: Mapped[bool] = mapped_column(Boolean, nullable=False)
    note: Mapped[str | None] = mapped_column(Text)
    truncated: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=false())
    updated: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False)

    __table_args__ = (
        ForeignKeyConstraint(
            ["memory_id", "episode_id"],
            ["episodes.memory_id", "episodes.episode_id"],
            ondelete="CASCADE",
        ),
    )


class TextVectorRow(Base):
    """A vector a client supplied for a text in one memory (PUT .../embeddings)."""

    __tablename__ = "text_vectors"

    memory_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("memories.id", ondelete="CASCADE"), primary_key=True
    )
    text_sha256: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    embedding: Mapped[Any] = mapped_column(VECTOR(), nullable=False)


class EmbeddingCacheRow(Base):
    """Server-side embeddings, shared by every memory that uses the same embedder."""

    __tablename__ = "embedding_cache"

    embedder: Mapped[str] = mapped_column(Text, primary_key=True)
    text_sha256: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    embedding: Mapped[Any] = mapped_column(VECTOR(), nullable=False)
    created_at: Mapped[datetime] = _now()


class ApiKeyRow(Base):
    """A key scoped to some memories (by name). Only the key's sha256 is kept: the key
    itself is shown once, when it is minted."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    key_sha256: Mapped[bytes] = mapped_column(LargeBinary, nullable=False, unique=True)
    memories: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False)
    created_at: Mapped[datetime] = _now()


class ReflectionRow(Base):
    """A Retroformer reflection written on a finished episode; `return_before` is that
    episode's return. Long texts are keyed by their sha256."""

    __tablename__ = "reflections"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    memory_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    episode_id: Mapped[str] = mapped_column(Text, nullable=False)
    task: Mapped[str] = mapped_column(Text, nullable=False)
    task_key: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    text_key: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    prompt: Mapped[str | None] = mapped_column(Text)
    prompt_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    return_before: Mapped[float] = mapped_column(Float, nullable=False)
    created_at: Mapped[datetime] = _now()

    __table_args__ = (
        ForeignKeyConstraint(
            ["memory_id", "episode_id"],
            ["episodes.memory_id", "episodes.episode_id"],
            ondelete="CASCADE",
        ),
        Index("reflections_memory_id", "memory_id", "id"),
        Index("reflections_task", "memory_id", "task_key", "id"),
        Index("reflections_prompt", "memory_id", "prompt_key"),
        Index(
            "reflections_identity",
            "memory_id",
            "episode_id",
            "text_key",
            "prompt_key",
            unique=True,
            postgresql_nulls_not_distinct=True,
        ),
    )


class ReflectionUseRow(Base):
    """A reflection put in the prompt of a later episode; rated when that episode ends."""

    __tablename__ = "reflection_uses"

    memory_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    episode_id: Mapped[str] = mapped_column(Text, primary_key=True)
    reflection_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("reflections.id", ondelete="CASCADE"), primary_key=True
    )
    return_after: Mapped[float | None] = mapped_column(Float)
    rating: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = _now()
    rated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        ForeignKeyConstraint(
            ["memory_id", "episode_id"],
            ["episodes.memory_id", "episodes.episode_id"],
            ondelete="CASCADE",
        ),
        Index("reflection_uses_reflection", "reflection_id"),
    )
