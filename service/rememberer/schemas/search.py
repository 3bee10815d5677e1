"""Retrieval: records as exemplars, and the vectors clients put."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, JsonValue

from rememberer.schemas.common import MAX_DIMENSION, MAX_K, Finite, StrictModel, Text
from rememberer.schemas.reflections import Reflection


class EmbeddingsPut(StrictModel):
    embeddings: dict[Text, Annotated[list[Finite], Field(max_length=MAX_DIMENSION)]] = Field(
        max_length=10_000
    )


class EmbeddingsStored(BaseModel):
    stored: int


class ActionValue(BaseModel):
    action: str
    note: str | None = None
    q: float
    reward: float
    visits: int


class Record(BaseModel):
    record_id: int
    task: str
    observation: str
    visits: int
    last_reward: float
    total_reward: float
    action_history: list[str]
    actions: list[ActionValue]
    extra: JsonValue = None


class Exemplar(Record):
    score: float
    task_score: float
    observation_score: float


class RetrieveRequest(StrictModel):
    task: Text = Field(description="the agent's task (instruction)")
    observation: Text = Field(description="what the agent sees now")
    k: int = Field(2, ge=1, le=MAX_K, description="how many exemplars to return")
    lambda_: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        alias="lambda",
        description="task weight for this query; null: the memory's lambda",
    )
    # The task's newest reflections to return beside the exemplars (0: none, key left out).
    reflections: int = Field(
        0, ge=0, le=MAX_K, description="the task's newest reflections to add (0: none)"
    )
    min_score: float | None = Field(
        None,
        ge=-1.0,
        le=1.0,
        description=(
            "Leave out exemplars whose score (λ·sim(task) + (1−λ)·sim(observation)) is below "
            "this; fewer than k exemplars may come back. null: no minimum."
        ),
    )
    task_filter: Literal["same", "other"] | None = Field(
        None,
        description=(
            '"same": only records of exactly this task; "other": only records of other '
            "tasks (to keep a game's own exemplars out, or other games' out). null: all."
        ),
    )


class RetrieveResponse(BaseModel):
    exemplars: list[Exemplar]
    # Left out of answers to callers that did not ask for reflections, which stay as before.
    reflections: list[Reflection] | None = Field(None, exclude_if=lambda value: value is None)
