"""REMEMBERER compatibility: double Q-learning, observation similarity, item capacity.

Revision ID: 0002_compat
Revises: 0001
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_compat"
down_revision: str | None = "0003_reflections"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "memories",
        sa.Column("double_q", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.add_column(
        "memories",
        sa.Column("observation_similarity", sa.Text, nullable=False, server_default="embedding"),
    )
    # Similarity to the nearest other record (and which one that is), kept only in memories
    # with an item capacity, so that the most redundant record is one index look-up away.
    op.add_column("records", sa.Column("redundancy", sa.Float))
    op.add_column("records", sa.Column("nearest_id", sa.BigInteger))
    op.create_index(
        "records_redundancy",
        "records",
        ["memory_id", sa.text("redundancy DESC NULLS LAST"), "id"],
    )
    op.create_index(
        "records_nearest",
        "records",
        ["nearest_id"],
        postgresql_where=sa.text("nearest_id IS NOT NULL"),
    )
    # The two estimates of double Q-learning; `q` keeps their mean, so readers need not know.
    op.add_column("action_values", sa.Column("q_a", sa.Float))
    op.add_column("action_values", sa.Column("q_b", sa.Float))


def downgrade() -> None:
    op.drop_column("action_values", "q_b")
    op.drop_column("action_values", "q_a")
    op.drop_index("records_nearest", table_name="records")
    op.drop_index("records_redundancy", table_name="records")
    op.drop_column("records", "nearest_id")
    op.drop_column("records", "redundancy")
    op.drop_column("memories", "observation_similarity")
    op.drop_column("memories", "double_q")
