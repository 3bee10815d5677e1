"""Small memories keep no HNSW index.

From this revision the service builds a memory's index only once the memory outgrows the
exact scan (rememberer.indexing). A memory of up to 2,000 records (the default
`exact_search_max_records`) is ranked by an exact scan, so its index was never searched and
only made every new state slower; such indexes are dropped. A service configured with a
lower threshold builds the index again on the memory's next search.

Downgrade restores the earlier rule, an index for every memory, in the shape 0006 gave them.

Revision ID: 0007_lazy_hnsw
Revises: 0006_record_embeddings
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_lazy_hnsw"
down_revision: str | None = "0006_record_embeddings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EXACT_SCAN_RECORDS = 2_000


def upgrade() -> None:
    small = op.get_bind().execute(
        sa.text(
            "SELECT id FROM memories m WHERE (SELECT count(*) FROM "
            "(SELECT 1 FROM records r WHERE r.memory_id = m.id LIMIT :over) s) <= :records"
        ),
        {"over": EXACT_SCAN_RECORDS + 1, "records": EXACT_SCAN_RECORDS},
    )
    for (memory_id,) in small.all():
        op.execute(f"DROP INDEX IF EXISTS records_hnsw_{int(memory_id)}")


def downgrade() -> None:
    memories = op.get_bind().execute(sa.text("SELECT id, dimension FROM memories")).all()
    for memory_id, dimension in memories:
        op.execute(
            f"CREATE INDEX IF NOT EXISTS records_hnsw_{int(memory_id)} ON record_embeddings "
            f"USING hnsw ((embedding::halfvec({2 * int(dimension)})) halfvec_ip_ops) "
            f"WITH (m = 12, ef_construction = 256) WHERE memory_id = {int(memory_id)}"
        )
