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
    gamma: float = Field(
        1.0, ge=0.0, le=1.0, description="discount γ of later rewards in the update targets"
    )
    n_step: int | None = Field(
        1,
        ge=1,
        le=1000,
        description="horizon n of the n-step target; null: Monte-Carlo (the return to the "
        "episode's end, no bootstrap)",
    )
    update_mode: UpdateMode = Field(
        "mean",
        description="mean: q is the mean of every target seen (step 1/visits); const: q moves "
        "by learning_rate towards each target",
    )
    learning_rate: float = Field(
        0.1, gt=0.0, le=1.0, description='step size α of update_mode "const"'
    )
    lambda_: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        alias="lambda",
        description="retrieval weight of task similarity: λ·sim(task) + (1−λ)·sim(observation)",
    )
    action_history_mode: ActionHistoryMode = Field(
        "shortest", description="which action history a revisited state keeps"
    )
    item_capacity: int | None = Field(
        None,
        ge=1,
        le=100_000_000,
        description="most records kept; when full a new state replaces the most redundant "
        "record if it is less redundant; null: unlimited",
    )
    action_capacity: int | None = Field(
        None,
        ge=1,
        le=100_000,
        description="most actions per record (the lowest q goes first); null: unlimited",
    )
    embedder: EmbedderName = Field(
        "all-MiniLM-L6-v2",
        description="who embeds texts: the service's all-MiniLM-L6-v2, or the client "
        "(PUT .../embeddings)",
    )
    dimension: int = Field(
        384, ge=1, le=MAX_DIMENSION, description="vector length (client vectors); 384 otherwise"
    )
    double_q: bool = Field(
        False, description="two estimates per action value (double Q-learning); q is their mean"
    )
    observation_similarity: ObservationSimilarity = Field(
        "embedding",
        description="embedding: cosine of sentence embeddings; lcs: LCS of the screens' "
        "element tags (WikiHow)",
    )
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
    name: MemoryName = Field(description="the memory's name: letters, digits, '.', '_', '-'")


class Memory(MemorySettings):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, serialize_by_alias=True)

    name: str
    created_at: datetime


class MemoryDetail(Memory):
    records: int
    actions: int
    episodes_open: int
