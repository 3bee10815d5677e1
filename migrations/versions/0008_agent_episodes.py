"""What agents need: truncated and abandoned episodes, a floor for bootstrapping records.

- `episodes.status`: "open", "done", "truncated" (cut short: its pending pairs bootstrapped
  from the final observation) or "abandoned" (closed without updating its pending pairs).
  Existing episodes are "done" where `done`, else "open"; `done` stays true for every closed
  episode, so that what counts on it (open-episode counts, reflections) is unchanged.
- `episode_steps.truncated`: the transition that cut its episode short.
- `memories.bootstrap_min_score`: the least retrieval score a nearest record must reach to
  serve as the bootstrap of a state without a record of its own (null: any score, the
  paper's rule).
- `episodes_newest`: the episodes API lists a memory's episodes newest first.

Revision ID: 0008_agent_episodes
Revises: 0007_lazy_hnsw
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_agent_episodes"
down_revision: str | None = "0007_lazy_hnsw"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = "'open', 'done', 'truncated', 'abandoned'"


def upgrade() -> None:
    op.add_column("memories", sa.Column("bootstrap_min_score", sa.Float(), nullable=True))
    op.add_column("episodes", sa.Column("status", sa.Text(), nullable=False, server_default="open"))
    op.execute("UPDATE episodes SET status = 'done' WHERE done")
    op.create_check_constraint("episodes_status", "episodes", f"status IN ({STATUSES})")
    op.add_column(
        "episode_steps",
        sa.Column("truncated", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_index(
        "episodes_newest",
        "episodes",
        ["memory_id", sa.text("created_at DESC"), sa.text("episode_id DESC")],
    )


def downgrade() -> None:
    op.drop_index("episodes_newest", table_name="episodes")
    op.drop_column("episode_steps", "truncated")
    op.drop_constraint("episodes_status", "episodes", type_="check")
    op.drop_column("episodes", "status")
    op.drop_column("memories", "bootstrap_min_score")
