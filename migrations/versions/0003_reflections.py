"""Retroformer reflections and their uses by later episodes.

Revision ID: 0003_reflections
Revises: 0001
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_reflections"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reflections",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("memory_id", sa.BigInteger, nullable=False),
        sa.Column("episode_id", sa.Text, nullable=False),
        sa.Column("task", sa.Text, nullable=False),
        # sha256 of the long texts: B-tree entries cannot hold a whole prompt.
        sa.Column("task_key", sa.LargeBinary, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("text_key", sa.LargeBinary, nullable=False),
        sa.Column("prompt", sa.Text),
        sa.Column("prompt_key", sa.LargeBinary),
        sa.Column("return_before", sa.Float, nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["memory_id", "episode_id"],
            ["episodes.memory_id", "episodes.episode_id"],
            ondelete="CASCADE",
        ),
    )
    op.create_index("reflections_memory_id", "reflections", ["memory_id", "id"])
    op.create_index("reflections_task", "reflections", ["memory_id", "task_key", "id"])
    op.create_index("reflections_prompt", "reflections", ["memory_id", "prompt_key"])
    # The same text on the same episode and prompt is the same reflection: a retried POST
    # finds it instead of adding a duplicate.
    op.create_index(
        "reflections_identity",
        "reflections",
        ["memory_id", "episode_id", "text_key", "prompt_key"],
        unique=True,
        postgresql_nulls_not_distinct=True,
    )
    op.create_table(
        "reflection_uses",
        sa.Column("memory_id", sa.BigInteger, primary_key=True),
        sa.Column("episode_id", sa.Text, primary_key=True),
        sa.Column(
            "reflection_id",
            sa.BigInteger,
            sa.ForeignKey("reflections.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("return_after", sa.Float),
        sa.Column("rating", sa.Float),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("rated_at", sa.DateTime(timezone=True)),
        sa.ForeignKeyConstraint(
            ["memory_id", "episode_id"],
            ["episodes.memory_id", "episodes.episode_id"],
            ondelete="CASCADE",
        ),
    )
    op.create_index("reflection_uses_reflection", "reflection_uses", ["reflection_id"])


def downgrade() -> None:
    op.drop_table("reflection_uses")
    op.drop_table("reflections")
