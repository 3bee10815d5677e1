"""Wire models of the v1 contract (../shared/CONTRACT.md).

Every bound here exists so that hostile or mistaken input is answered with a 422, never
stored and never allowed to reach the database as a 500.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

MAX_TEXT_CHARS = 100_000
MAX_ACTION_CHARS = 2_000
MAX_TRANSITIONS_PER_CALL = 1_000
MAX_K = 100
MAX_DIMENSION = 1_000
DEFAULT_EMBEDDER = "all-MiniLM-L6-v2"
CLIENT_EMBEDDER = "client"
MEMORY_NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"


def reject_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL, nor UTF-8 a lone surrogate (JSON can spell one as
    # "\ud800"); refusing them here keeps them a 422 instead of a 500.
    if "\x00" in value:
        raise ValueError("text must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("text must be valid Unicode (no lone surrogates)") from exc
    return value


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("number must be finite")
    return value


Text = Annotated[str, Field(max_length=MAX_TEXT_CHARS), AfterValidator(reject_nul)]
ActionText = Annotated[
    str, Field(min_length=1, max_length=MAX_ACTION_CHARS), AfterValidator(reject_nul)
]
Finite = Annotated[float, AfterValidator(_finite), Field(ge=-1e12, le=1e12)]
MemoryName = Annotated[str, Field(pattern=MEMORY_NAME_PATTERN)]
EpisodeId = Annotated[str, Field(min_length=1, max_length=128), AfterValidator(reject_nul)]

UpdateMode = Literal["mean", "const"]
ActionHistoryMode = Literal["shortest", "longest", "newest", "oldest"]


class StrictModel(BaseModel):
    # strict: a wrong JSON type is a 422, not coerced ("0.5" is no number, "yes" no bool).
    model_config = ConfigDict(extra="forbid", populate_by_name=True, strict=True)


class MemorySettings(StrictModel):
    gamma: float = Field(1.0, ge=0.0, le=1.0)
    n_step: int | None = Field(1, ge=1, le=1000)
    update_mode: UpdateMode = "mean"
    learning_rate: float = Field(0.1, gt=0.0, le=1.0)
    lambda_: float = Field(0.5, ge=0.0, le=1.0, alias="lambda")
    action_history_mode: ActionHistoryMode = "shortest"
    item_capacity: int | None = Field(None, ge=1, le=100_000_000)
    action_capacity: int | None = Field(None, ge=1, le=100_000)
    embedder: Literal["all-MiniLM-L6-v2", "client"] = "all-MiniLM-L6-v2"
    dimension: int = Field(384, ge=1, le=MAX_DIMENSION)


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


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


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


class Exemplar(Record):
    score: float
    task_score: float
    observation_score: float


class RetrieveRequest(StrictModel):
    task: Text
    observation: Text
    k: int = Field(2, ge=1, le=MAX_K)
    lambda_: float | None = Field(None, ge=0.0, le=1.0, alias="lambda")


class RetrieveResponse(BaseModel):
    exemplars: list[Exemplar]


class Transition(StrictModel):
    step: int = Field(ge=0, le=10_000_000)
    observation: Text
    action: ActionText
    reward: Finite
    next_observation: Text
    done: bool = False
    note: Annotated[str, Field(max_length=MAX_TEXT_CHARS), AfterValidator(reject_nul)] | None = None


class UpdateRequest(StrictModel):
    episode_id: EpisodeId
    task: Text
    transitions: list[Transition] = Field(min_length=1, max_length=MAX_TRANSITIONS_PER_CALL)


class UpdatedValue(BaseModel):
    record_id: int
    task: str
    observation: str
    action: str
    q: float
    visits: int


class EpisodeState(BaseModel):
    episode_id: str
    next_step: int
    done: bool


class UpdateResponse(BaseModel):
    updated: list[UpdatedValue]
    episode: EpisodeState


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail


# --- API keys ---------------------------------------------------------------------------

MAX_KEY_MEMORIES = 1_000


class KeyCreate(StrictModel):
    name: Annotated[str, Field(min_length=1, max_length=200), AfterValidator(reject_nul)]
    memories: list[MemoryName] = Field(min_length=1, max_length=MAX_KEY_MEMORIES)


class ApiKey(BaseModel):
    id: int
    name: str
    memories: list[str]
    created_at: datetime


class KeyCreated(ApiKey):
    key: str = Field(description="the bearer key; shown only in this answer, stored as a hash")
