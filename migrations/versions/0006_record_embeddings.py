"""Record vectors in their own table, so that revisiting a state is a heap-only update.

A record's vector made its row about 3 KB, two rows to a page: updating its visits and
rewards could never keep the new row version on the same page, so every revisit wrote a new
entry into every index of `records`, the memory's HNSW graph included (milliseconds of
database CPU, as much as a new state). Vectors never change after a record is created, so
they move to `record_embeddings` with the HNSW indexes; `records` keeps the columns an
update changes, with room left on each page (fillfactor 85) for their new versions.

Each memory's index is rebuilt on the new table in the shape new memories get
(halfvec, m = 12, ef_construction = 256; see docs/BENCHMARKS.md). The SQL is spelled out
here rather than taken from rememberer.memories so that this revision keeps meaning what
it meant. Rows written before this revision keep the dropped column's bytes until they are
next updated or the table is rewritten (VACUUM FULL records).

Revision ID: 0006_record_embeddings
Revises: 0005_perf
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from pgvector.sqlalchemy import VECTOR

revision: str = "0006_record_embeddings"
down_revision: str | None = "0005_perf"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _memories() -> list[tuple[int, int]]:
    rows = op.get_bind().execute(sa.text("SELECT id, dimension FROM memories")).all()
    return [(int(memory_id), int(dimension)) for memory_id, dimension in rows]


def _create_index(table: str, memory_id: int, dimension: int, m: int) -> None:
    op.execute(
        f"CREATE INDEX records_hnsw_{memory_id} ON {table} "
        f"USING hnsw ((embedding::halfvec({2 * dimension})) halfvec_ip_ops) "
        f"WITH (m = {m}, ef_construction = 256) WHERE memory_id = {memory_id}"
    )


def upgrade() -> None:
    op.create_table(
        "record_embeddings",
        sa.Column(
            "record_id",
            sa.BigInteger,
            sa.ForeignKey("records.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("memory_id", sa.BigInteger, nullable=False),
        sa.Column("embedding", VECTOR(), nullable=False),
    )
    # Keep vectors inline: an exact scan then reads them without de-TOASTing each row.
    op.execute("ALTER TABLE record_embeddings ALTER COLUMN embedding SET STORAGE MAIN")
    op.execute(
        "INSERT INTO record_embeddings (record_id, memory_id, embedding) "
        "SELECT id, memory_id, embedding FROM records"
    )
    op.create_index("record_embeddings_memory", "record_embeddings", ["memory_id"])
    for memory_id, dimension in _memories():
        op.execute(f"DROP INDEX IF EXISTS records_hnsw_{memory_id}")
        _create_index("record_embeddings", memory_id, dimension, m=12)
    op.drop_column("records", "embedding")
    op.execute("ALTER TABLE records SET (fillfactor = 85)")


def downgrade() -> None:
    op.execute("ALTER TABLE records RESET (fillfactor)")
    op.add_column("records", sa.Column("embedding", VECTOR()))
    op.execute("ALTER TABLE records ALTER COLUMN embedding SET STORAGE MAIN")
    op.execute(
        "UPDATE records r SET embedding = e.embedding "
        "FROM record_embeddings e WHERE e.record_id = r.id"
    )
    op.alter_column("records", "embedding", nullable=False)
    for memory_id, dimension in _memories():
        op.execute(f"DROP INDEX IF EXISTS records_hnsw_{memory_id}")
        _create_index("records", memory_id, dimension, m=16)
    op.drop_table("record_embeddings")
