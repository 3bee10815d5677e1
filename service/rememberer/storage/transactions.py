"""Writers that own their transaction: run it, and run it again when PostgreSQL aborted it.

PostgreSQL aborts one of two transactions that wait on each other's rows (40P01) or that
cannot be serialised (40001). Nothing of the aborted one was committed, so the whole unit of
work is safely run again from its start. Only the writers that take locks across several
statements retry (the update, bulk upserts); everything else lets the route own its
transaction (rememberer.api.deps).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from rememberer.errors import Unavailable

logger = logging.getLogger(__name__)

SERIALIZATION_FAILURE = "40001"
DEADLOCK_DETECTED = "40P01"
RETRYABLE_SQLSTATES = frozenset({SERIALIZATION_FAILURE, DEADLOCK_DETECTED})
MAX_ATTEMPTS = 5

T = TypeVar("T")


def sqlstate(exc: DBAPIError) -> str | None:
    """The SQLSTATE of the driver's error under SQLAlchemy's, if the server sent one."""
    return getattr(exc.orig, "sqlstate", None)


async def in_transaction(
    session: AsyncSession,
    work: Callable[[], Awaitable[T]],
    what: str,
    attempts: int = MAX_ATTEMPTS,
) -> T:
    """Runs `work` in a transaction of `session` and commits it; when PostgreSQL aborts it as
    a serialization failure or deadlock, rolls back and runs `work` again, up to `attempts`
    times, then answers 503 (Unavailable). Any other error rolls back and propagates.
    `work` must start from nothing the aborted attempt left in Python state."""
    for attempt in range(1, attempts + 1):
        try:
            result = await work()
            await session.commit()
            return result
        except DBAPIError as exc:
            await session.rollback()
            if sqlstate(exc) not in RETRYABLE_SQLSTATES:
                raise
            logger.info("%s retried (attempt %d): %s", what, attempt, exc)
        except Exception:
            await session.rollback()
            raise
    raise Unavailable(f"the {what} kept colliding with concurrent writes; retry it")
