"""Making retries visible: a counter of retried attempts and the event a hook receives."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeAlias

__all__ = ["RetryEvent", "RetryHook", "RetryStats"]


@dataclass(frozen=True, slots=True)
class RetryEvent:
    """One attempt that failed and is about to be retried.

    ``attempt`` is the number of the retry about to be made (1 for the first retry),
    ``delay`` the seconds the client waits before it, and ``reason`` what failed:
    ``"HTTP 503"`` for an answer, or the httpx exception's class name
    (``"ConnectError"``, ``"ReadTimeout"`` …) for a transport failure.
    """

    method: str
    url: str
    attempt: int
    reason: str
    delay: float


RetryHook: TypeAlias = Callable[[RetryEvent], None]
"""Called before each retry's wait; an exception it raises ends the call with that exception."""


class RetryStats:
    """How many attempts a client retried, in total and by reason (see :class:`RetryEvent`).

    A client's ``with_options`` copies count into the same object unless given their own;
    pass one object to several clients to count them together. Thread-safe.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_reason: dict[str, int] = {}

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self._by_reason.values())

    @property
    def by_reason(self) -> dict[str, int]:
        """A copy of the counts, e.g. ``{"HTTP 503": 2, "ConnectError": 1}``."""
        with self._lock:
            return dict(self._by_reason)

    def record(self, reason: str) -> None:
        with self._lock:
            self._by_reason[reason] = self._by_reason.get(reason, 0) + 1

    def reset(self) -> None:
        with self._lock:
            self._by_reason.clear()

    def __repr__(self) -> str:
        return f"RetryStats(total={self.total}, by_reason={self.by_reason})"
