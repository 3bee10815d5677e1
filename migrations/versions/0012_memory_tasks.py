"""Each memory's distinct tasks with their vectors, so that a search ranks the tasks nearest
the query's and proposes their records too.

`memory_tasks`: (memory_id, task_hash) → unit(task), the first half of its records' vectors.
Kept by the database itself: a statement trigger on `record_embeddings` adds the tasks of the
vectors a statement inserts (one new-state insert: one primary-key probe), so every writer
(learning, the bulk import, COPY) keeps it; existing records fill it here. Keyed by the hash
the search already finds a task's records by (0011): two tasks of one hash share a row, and
the search then proposes both tasks' records, scored like all. A task whose records are all
deleted keeps its row until its memory goes: its search finds nothing.

Revision ID: 0012_memory_tasks
Revises: 0011_task_hash
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from pgvector.sqlalchemy import VECTOR

revision: str = "0012_memory_tasks"
down_revision: str | None = "0011_task_hash"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The tasks of `rows` (record ids with their vectors) that the table lacks.
ADD_TASKS = """
INSERT INTO memory_tasks (memory_id, task_hash, embedding)
SELECT DISTINCT ON (r.memory_id, r.task_hash)
       r.memory_id, r.task_hash, subvector(e.embedding, 1, vector_dims(e.embedding) / 2)
FROM {rows} e JOIN records r ON r.id = e.record_id
ORDER BY r.memory_id, r.task_hash
ON CONFLICT DO NOTHING
"""
ADD_FUNCTION = f"""
CREATE FUNCTION memory_tasks_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  {ADD_TASKS.format(rows="added")};
  RETURN NULL;
END
$$
"""
TRIGGER = (
    "CREATE TRIGGER record_embeddings_tasks AFTER INSERT ON record_embeddings "
    "REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION memory_tasks_add()"
)


def upgrade() -> None:
    op.create_table(
        "memory_tasks",
        sa.Column(
            "memory_id",
            sa.BigInteger(),
            sa.ForeignKey("memories.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("task_hash", sa.Integer(), primary_key=True),
        sa.Column("embedding", VECTOR(), nullable=False),
    )
    op.execute(ADD_TASKS.format(rows="record_embeddings"))
    op.execute(ADD_FUNCTION)
    op.execute(TRIGGER)


def downgrade() -> None:
    op.execute("DROP TRIGGER record_embeddings_tasks ON record_embeddings")
    op.execute("DROP FUNCTION memory_tasks_add()")
    op.drop_table("memory_tasks")
