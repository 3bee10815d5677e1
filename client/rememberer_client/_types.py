"""Small shared types: the "argument not given" sentinel and option aliases."""

from __future__ import annotations

from typing import Final, Literal, TypeAlias, TypedDict, final

import httpx

__all__ = [
    "NOT_GIVEN",
    "ActionHistoryMode",
    "ExportFormat",
    "MemorySettings",
    "NotGiven",
    "ObservationSimilarity",
    "TaskFilter",
    "TimeoutTypes",
    "UpdateMode",
]


@final
class NotGiven:
    """Marks a per-call option that was not passed.

    ``None`` cannot play this role because it is a meaningful value for some
    settings (``n_step=None`` asks for Monte-Carlo returns).
    """

    _instance: NotGiven | None = None

    def __new__(cls) -> NotGiven:
        # One instance keeps `is NOT_GIVEN` checks valid even across copies and pickles.
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"

    def __reduce__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Final = NotGiven()

TimeoutTypes: TypeAlias = float | httpx.Timeout
"""A timeout in seconds for every phase, or an ``httpx.Timeout`` with all phases set."""

UpdateMode: TypeAlias = Literal["mean", "const"]
ActionHistoryMode: TypeAlias = Literal["shortest", "longest", "newest", "oldest"]
ExportFormat: TypeAlias = Literal["jsonl", "pairs"]
"""``jsonl``: one row per rated use of a reflection; ``pairs``: chosen/rejected pairs."""
ObservationSimilarity: TypeAlias = Literal["embedding", "lcs"]
TaskFilter: TypeAlias = Literal["same", "other"]
"""For ``retrieve``: ``same`` keeps only records of exactly this task, ``other`` only others'."""


class MemorySettings(TypedDict, total=False):
    """Learning settings accepted by ``create_memory``; every key is optional.

    The server applies its documented default for each key that is left out.
    ``lambda_`` is sent on the wire as ``"lambda"``.
    """

    gamma: float
    n_step: int | None
    update_mode: UpdateMode
    learning_rate: float
    lambda_: float
    action_history_mode: ActionHistoryMode
    item_capacity: int | None
    action_capacity: int | None
    embedder: str
    dimension: int
    double_q: bool
    observation_similarity: ObservationSimilarity
    bootstrap_min_score: float | None
