"""How rows are keyed: texts by their SHA-256, a state by its (task, observation) pair, and the
SQL that gives a newly created state record its vector. Learning, bulk loads and reflections
all write records, and must agree on these."""

from __future__ import annotations

import hashlib


def sha256(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8")).digest()


def record_key(task: str, observation: str) -> bytes:
    # Texts never hold NUL (the schemas refuse it), so the pair is unambiguous.
    return sha256(f"{task}\x00{observation}")


# Follows a `touched` CTE (an upsert into records returning id and created): a new record
# gets its vector :embedding, a revisited one keeps the one it has.
EMBED_NEW_RECORD = """
    embedded AS (
      INSERT INTO record_embeddings (record_id, memory_id, embedding)
      SELECT id, :m, :embedding FROM touched WHERE created
    )
"""

# The transaction-local setting under which the best-q triggers (migration 0009) stand
# aside: the writer (the bulk load) sets each record's best q itself, with the record.
BEST_Q_DEFERRED = "rememberer.best_q_deferred"
