"""Memories: their settings as created, listed and described."""

from __future__ import annotations

from datetime import datetime

from pydantic import ConfigDict, Field

from rememberer.schemas.common import (
    MAX_DIMENSION,
    ActionHistoryMode,
    EmbedderName,
    MemoryName,
    ObservationSimilarity,
    StrictModel,
    UpdateMode,
)


class MemorySettings(StrictModel):
    gamma: float = Field(1.0, ge=0.0, le=1.0)
    n_step: int | None = Field(1, ge=1, le=1000)
    update_mode: UpdateMode = "mean"
    learning_rate: float = Field(0.1, gt=0.0, le=1.0)
    lambda_: float = Field(0.5, ge=0.0, le=1.0, alias="lambda")
    action_history_mode: ActionHistoryMode = "shortest"
    item_capacity: int | None = Field(None, ge=1, le=100_000_000)
    action_capacity: int | None = Field(None, ge=1, le=100_000)
    embedder: EmbedderName = "all-MiniLM-L6-v2"
    dimension: int = Field(384, ge=1, le=MAX_DIMENSION)
    double_q: bool = False
    observation_similarity: ObservationSimilarity = "embedding"
    bootstrap_min_score: float | None = Field(
        None,
        ge=-1.0,
        le=1.0,
        description=(
            "The least retrieval score the nearest record must reach to serve as the "
            "bootstrap of a state o_{t+n} that has no record of its own; below it the target "
            "has no bootstrap term (max Q taken as 0). A state's own record always serves. "
            "null: the paper's rule (the nearest record, whatever its score)."
        ),
    )


class MemoryCreate(MemorySettings):
    name: MemoryName


class Memory(MemorySettings):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, serialize_by_alias=True)

    name: str
    created_at: datetime


class MemoryDetail(Memory):
    records: int
    actions: int
    episodes_open: int
