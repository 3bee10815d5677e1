"""Each memory's distinct tasks with their vectors, so that a search ranks the tasks nearest
the query's and proposes their records too.

`memory_tasks`: (memory_id, task_hash) → unit(task), the first half of its records' vectors.
Kept by the database itself: a row trigger on `record_embeddings` adds the task of each vector
inserted (about 0.06 ms: a primary-key probe of the record, one of the table), so every
writer (learning, the bulk import, COPY) keeps it; existing records fill it here. A row
trigger, not a statement trigger: a statement trigger also fires for the learning
statements that insert no vector (every revisit), and cost revisits a third of their rate.
Keyed by the hash the search already finds a task's records by (0011): two tasks of one hash
share a row, and the search then proposes both tasks' records, scored like all. A task whose
records are all deleted keeps its row until its memory goes: its search finds nothing.

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

# The tasks of the records that have vectors.
FILL = """
INSERT INTO memory_tasks (memory_id, task_hash, embedding)
SELECT DISTINCT ON (r.memory_id, r.task_hash)
       r.memory_id, r.task_hash, subvector(e.embedding, 1, vector_dims(e.embedding) / 2)
FROM record_embeddings e JOIN records r ON r.id = e.record_id
ORDER BY r.memory_id, r.task_hash
"""
ADD_FUNCTION = """
CREATE FUNCTION memory_tasks_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO memory_tasks (memory_id, task_hash, embedding)
  SELECT NEW.memory_id, r.task_hash,
         subvector(NEW.embedding, 1, vector_dims(NEW.embedding) / 2)
  FROM records r WHERE r.id = NEW.record_id
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END
$$
"""
TRIGGER = (
    "CREATE TRIGGER record_embeddings_tasks AFTER INSERT ON record_embeddings "
    "FOR EACH ROW EXECUTE FUNCTION memory_tasks_add()"
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
    op.execute(FILL)
    op.execute(ADD_FUNCTION)
    op.execute(TRIGGER)


def downgrade() -> None:
    op.execute("DROP TRIGGER record_embeddings_tasks ON record_embeddings")
    op.execute("DROP FUNCTION memory_tasks_add()")
    op.drop_table("memory_tasks")
