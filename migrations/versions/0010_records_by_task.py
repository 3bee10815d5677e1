"""A memory's records of one task, found by index: the search ranks them by observation.

`records_memory_task`: (memory_id, hashtext(task)). A search that weighs the task counts
the query's own task's records and, when they are few, scans them exactly
(rememberer.search.retrieval). The hash index on task alone made the planner prefer a scan
of the whole table when the task is common (8–45 ms at 100k records); a B-tree on the text
itself would refuse tasks longer than about 2.7 kB, which agents may write. A hash collision
only adds rows that the query's `task = …` removes.

Revision ID: 0010_records_by_task
Revises: 0009_best_q
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_records_by_task"
down_revision: str | None = "0009_best_q"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("records_memory_task", "records", ["memory_id", sa.text("hashtext(task)")])


def downgrade() -> None:
    op.drop_index("records_memory_task", table_name="records")
