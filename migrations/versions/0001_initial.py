"""Initial schema: memories, records, action values, episodes, vectors.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from pgvector.sqlalchemy import VECTOR
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _created_at() -> sa.Column[Any]:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
    )


def _memory_id(primary_key: bool = False) -> sa.Column[Any]:
    return sa.Column(
        "memory_id",
        sa.BigInteger,
        sa.ForeignKey("memories.id", ondelete="CASCADE"),
        nullable=False,
        primary_key=primary_key,
    )


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    op.create_table(
        "memories",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("name", sa.Text, nullable=False, unique=True),
        sa.Column("gamma", sa.Float, nullable=False),
        sa.Column("n_step", sa.Integer),
        sa.Column("update_mode", sa.Text, nullable=False),
        sa.Column("learning_rate", sa.Float, nullable=False),
        sa.Column("lambda", sa.Float, nullable=False),
        sa.Column("action_history_mode", sa.Text, nullable=False),
        sa.Column("item_capacity", sa.Integer),
        sa.Column("action_capacity", sa.Integer),
        sa.Column("embedder", sa.Text, nullable=False),
        sa.Column("dimension", sa.Integer, nullable=False),
        _created_at(),
    )
    op.create_table(
        "records",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        _memory_id(),
        sa.Column("key", sa.LargeBinary, nullable=False),
        sa.Column("task", sa.Text, nullable=False),
        sa.Column("observation", sa.Text, nullable=False),
        sa.Column("embedding", VECTOR(), nullable=False),
        sa.Column("visits", sa.Integer, nullable=False),
        sa.Column("last_reward", sa.Float, nullable=False),
        sa.Column("total_reward", sa.Float, nullable=False),
        sa.Column("action_history", JSONB, nullable=False),
        sa.Column("extra", JSONB),
        _created_at(),
    )
    # Keep vectors inline: an exact scan then reads them without de-TOASTing each row.
    op.execute("ALTER TABLE records ALTER COLUMN embedding SET STORAGE MAIN")
    op.create_index("records_memory_key", "records", ["memory_id", "key"], unique=True)
    op.create_index("records_memory_id", "records", ["memory_id", "id"])
    # Hash, not B-tree: a task may be longer than a B-tree entry can hold.
    op.create_index("records_task", "records", ["task"], postgresql_using="hash")
    op.create_table(
        "action_values",
        sa.Column(
            "record_id",
            sa.BigInteger,
            sa.ForeignKey("records.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("action_key", sa.LargeBinary, primary_key=True),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("q", sa.Float, nullable=False),
        sa.Column("reward", sa.Float, nullable=False),
        sa.Column("visits", sa.Integer, nullable=False),
        _created_at(),
    )
    op.create_table(
        "episodes",
        _memory_id(primary_key=True),
        sa.Column("episode_id", sa.Text, primary_key=True),
        sa.Column("task", sa.Text, nullable=False),
        sa.Column("next_step", sa.Integer, nullable=False),
        sa.Column("done", sa.Boolean, nullable=False),
        sa.Column("return", sa.Float, nullable=False),
        _created_at(),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )
    op.create_index(
        "episodes_open", "episodes", ["memory_id"], postgresql_where=sa.text("NOT done")
    )
    op.create_table(
        "episode_steps",
        sa.Column("memory_id", sa.BigInteger, primary_key=True),
        sa.Column("episode_id", sa.Text, primary_key=True),
        sa.Column("step", sa.Integer, primary_key=True),
        sa.Column("observation", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("reward", sa.Float, nullable=False),
        sa.Column("next_observation", sa.Text, nullable=False),
        sa.Column("done", sa.Boolean, nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("updated", JSONB, nullable=False),
        sa.ForeignKeyConstraint(
            ["memory_id", "episode_id"],
            ["episodes.memory_id", "episodes.episode_id"],
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "text_vectors",
        _memory_id(primary_key=True),
        sa.Column("text_sha256", sa.LargeBinary, primary_key=True),
        sa.Column("embedding", VECTOR(), nullable=False),
    )
    op.create_table(
        "embedding_cache",
        sa.Column("embedder", sa.Text, primary_key=True),
        sa.Column("text_sha256", sa.LargeBinary, primary_key=True),
        sa.Column("embedding", VECTOR(), nullable=False),
        _created_at(),
    )


def downgrade() -> None:
    for table in (
        "embedding_cache",
        "text_vectors",
        "episode_steps",
        "episodes",
        "action_values",
        "records",
        "memories",
    ):
        op.drop_table(table)
