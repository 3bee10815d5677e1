"""Locks on state records, taken in one global order before any of them is written.

A call that writes several state records (an update's pair updates, a bulk upsert) takes
their row locks one by one as it writes them. Two calls that write overlapping states in
different orders would each hold a row the other waits for, and PostgreSQL would abort one
of them (40P01, after deadlock_timeout). So each call first takes a transaction-level
advisory lock per state it is about to write, all in ascending order of the lock's key, in
one statement: two calls that share states wait on the first shared one, and never on each
other. The locks are released at commit or rollback, with the row locks.

The single-bigint advisory lock space is apart from the two-int4 one that index builds and
admissions use (rememberer.indexing, rememberer.capacity), so the keys cannot collide.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sqlalchemy import text

from rememberer.storage.db import Send

# unnest yields the array's elements in order, so the locks are taken in the order sent.
_LOCK_STATES = text(
    "SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(:state_keys AS bigint[])) AS k"
)


def lock_key(memory_id: int, record_key: bytes) -> int:
    """The advisory lock key of a state record: 64 bits of sha256(memory id, record key). Two
    states that share a key only wait for each other needlessly."""
    digest = hashlib.sha256(memory_id.to_bytes(8, "big", signed=True) + record_key).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def lock_states(send: Send, memory_id: int, record_keys: Iterable[bytes]) -> None:
    """Sends the statement that locks the states (`rememberer.storage.keys.record_key`), in the one
    order; in a pipeline it holds back the statements sent after it until it has the locks."""
    keys = sorted({lock_key(memory_id, key) for key in record_keys})
    # A call that writes one state holds no other while it waits for that one (its episode's
    # row, taken first, is no state), so it cannot close a cycle: no statement for it. That
    # is every call of one transition with n_step 1.
    if len(keys) > 1:
        await send(_LOCK_STATES, {"state_keys": keys})
