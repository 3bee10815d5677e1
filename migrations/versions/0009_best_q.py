"""A record's best q, stored and indexed, so that the inspector sorts 100k records by it.

- `records.best_q`: the highest q among the record's action values ('-Infinity' while it
  has none). Kept by the database itself: triggers on `action_values` recount it when a
  value is inserted or its q updated (per row) and after a statement deletes values, so
  every writer (learning, double Q, capacity pruning, and writers yet to come) keeps it
  exact; the bulk load of records sets it itself (below).
- `records_best_q`: (memory_id, best_q, id), read backwards for "best q first" pages.

Exact under concurrent agents: the trigger locks the record before it recounts, and a
PL/pgSQL statement takes a fresh snapshot under READ COMMITTED, so the recount sees every
value committed by a writer that held the lock before it. Two writers of one record's
values thereby take its row lock in turn; a writer that locked the record first (a revisit)
and then waits for a value row the other holds is a deadlock the writers' retry (40P01)
already handles. Cost: a value's write takes about 0.07 ms more (one row trigger, two
primary-key statements), and a write that changes the best q moves the record's row
(not a heap-only update; the vector lives in record_embeddings, so no HNSW insert).

Revision ID: 0009_best_q
Revises: 0008_agent_episodes
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_best_q"
down_revision: str | None = "0008_agent_episodes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A writer of many values at once (the bulk load of records, which knows each record's
# values before it writes them) sets this for its transaction's writes of values and sets
# the records' best q itself: a row trigger per value made such a load twice as slow.
# (rememberer.storage.keys.BEST_Q_DEFERRED; a migration keeps its own copy.)
DEFERRED_SETTING = "rememberer.best_q_deferred"

# A row's insert or update recounts its record: by primary key, so the plan is the same
# however stale the table's statistics (a set-based recount planned on a just-loaded table
# measured 1-18 ms a statement instead of 0.1). Deletes recount once per statement (set-
# based: deleting a memory cascades to all its values, and its records are gone anyway).
UNLESS_DEFERRED = f"""
  IF current_setting('{DEFERRED_SETTING}', true) = 'on' THEN
    RETURN NULL;
  END IF;"""
RECOUNT_ROW = f"""
CREATE FUNCTION records_recount_best_q() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN{UNLESS_DEFERRED}
  PERFORM 1 FROM records WHERE id = NEW.record_id FOR UPDATE;
  UPDATE records r SET best_q = counted.best_q
  FROM (SELECT COALESCE(max(q), '-Infinity') AS best_q
        FROM action_values WHERE record_id = NEW.record_id) counted
  WHERE r.id = NEW.record_id AND r.best_q IS DISTINCT FROM counted.best_q;
  RETURN NULL;
END
$$
"""
RECOUNT_DELETED = f"""
CREATE FUNCTION records_recount_best_q_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN{UNLESS_DEFERRED}
  PERFORM 1 FROM records WHERE id IN (SELECT record_id FROM deleted) ORDER BY id FOR UPDATE;
  UPDATE records r SET best_q = counted.best_q
  FROM (
    SELECT d.record_id,
           COALESCE((SELECT max(a.q) FROM action_values a WHERE a.record_id = d.record_id),
                    '-Infinity') AS best_q
    FROM (SELECT DISTINCT record_id FROM deleted) d
  ) counted
  WHERE r.id = counted.record_id AND r.best_q IS DISTINCT FROM counted.best_q;
  RETURN NULL;
END
$$
"""
TRIGGERS = {
    "action_values_best_q": (
        "AFTER INSERT OR UPDATE OF q ON action_values FOR EACH ROW",
        "records_recount_best_q",
    ),
    "action_values_best_q_deleted": (
        "AFTER DELETE ON action_values REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT",
        "records_recount_best_q_deleted",
    ),
}


def upgrade() -> None:
    op.add_column(
        "records",
        sa.Column("best_q", sa.Float(), nullable=False, server_default=sa.text("'-Infinity'")),
    )
    op.execute(
        "UPDATE records r SET best_q = v.best_q FROM "
        "(SELECT record_id, max(q) AS best_q FROM action_values GROUP BY record_id) v "
        "WHERE r.id = v.record_id"
    )
    op.create_index("records_best_q", "records", ["memory_id", "best_q", "id"])
    op.execute(RECOUNT_ROW)
    op.execute(RECOUNT_DELETED)
    for name, (when, function) in TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {when} EXECUTE FUNCTION {function}()")


def downgrade() -> None:
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER {name} ON action_values")
    for _, function in TRIGGERS.values():
        op.execute(f"DROP FUNCTION {function}()")
    op.drop_index("records_best_q", table_name="records")
    op.drop_column("records", "best_q")
