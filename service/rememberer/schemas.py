"""Wire models of the v1 contract (../shared/CONTRACT.md).

Every bound here exists so that hostile or mistaken input is answered with a 422, never
stored and never allowed to reach the database as a 500.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, JsonValue, model_validator

MAX_TEXT_CHARS = 100_000
MAX_ACTION_CHARS = 2_000
MAX_TRANSITIONS_PER_CALL = 1_000
MAX_K = 100
MAX_DIMENSION = 1_000
DEFAULT_EMBEDDER = "all-MiniLM-L6-v2"
CLIENT_EMBEDDER = "client"
MEMORY_NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
MAX_REFLECTION_IDS = 100


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
ReflectionId = Annotated[int, Field(ge=1, le=2**63 - 1)]

UpdateMode = Literal["mean", "const"]
ActionHistoryMode = Literal["shortest", "longest", "newest", "oldest"]
ObservationSimilarity = Literal["embedding", "lcs"]


class StrictModel(BaseModel):
    # strict: a wrong JSON type is a 422, not coerced ("0.5" is no number, "yes" no bool).
    # A field with an alias takes only the alias: "lambda_" is an unknown field, as the
    # contract has none of that name.
    model_config = ConfigDict(extra="forbid", strict=True)


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
    double_q: bool = False
    observation_similarity: ObservationSimilarity = "embedding"


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
    extra: JsonValue = None


class Exemplar(Record):
    score: float
    task_score: float
    observation_score: float


class RetrieveRequest(StrictModel):
    task: Text
    observation: Text
    k: int = Field(2, ge=1, le=MAX_K)
    lambda_: float | None = Field(None, ge=0.0, le=1.0, alias="lambda")
    # The task's newest reflections to return beside the exemplars (0: none, key left out).
    reflections: int = Field(0, ge=0, le=MAX_K)


class RetrieveResponse(BaseModel):
    exemplars: list[Exemplar]
    # Left out of answers to callers that did not ask for reflections, which stay as before.
    reflections: list[Reflection] | None = Field(None, exclude_if=lambda value: value is None)


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
    # Reflections the agent put in its prompt for this episode; rated when it ends.
    reflection_ids: list[ReflectionId] = Field(default_factory=list, max_length=MAX_REFLECTION_IDS)


class UpdatedValue(BaseModel):
    # None when item capacity refused the state (`dropped`): there is no record.
    record_id: int | None
    task: str
    observation: str
    action: str
    q: float
    visits: int
    # The update did not stick: the state was not admitted, or its action was pruned.
    dropped: bool = False


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


# --- Retroformer reflections -----------------------------------------------------------

ReflectionText = Annotated[
    str, Field(min_length=1, max_length=MAX_TEXT_CHARS), AfterValidator(reject_nul)
]


class ReflectionCreate(StrictModel):
    task: Text
    episode_id: EpisodeId
    text: ReflectionText
    # What the retrospective model was asked; reflections sharing it make training pairs.
    prompt: Text | None = None


class Reflection(BaseModel):
    """A reflection on a finished episode. `return_after` and `rating` are the means over
    the later episodes that used it and have ended (null until one has)."""

    reflection_id: int
    task: str
    episode_id: str
    text: str
    prompt: str | None
    return_before: float
    return_after: float | None
    rating: float | None
    uses: int
    rated_uses: int
    created_at: datetime


class ReflectionUse(BaseModel):
    """One episode that put the reflection in its prompt; rated once that episode ended."""

    episode_id: str
    return_after: float | None
    rating: float | None
    used_at: datetime
    rated_at: datetime | None


class ReflectionDetail(Reflection):
    used_by: list[ReflectionUse]


# --- bulk records (POST /v1/memories/{memory}/records) -------------------------------------

MAX_RECORDS_PER_CALL = 1_000
MAX_ACTIONS_PER_RECORD = 1_000
MAX_HISTORY = 10_000
MAX_EXTRA_DEPTH = 32
# Imported counts leave the int4 visit columns room for a billion more updates: a count at
# the column's limit would make every later update of its state fail.
MAX_IMPORTED_VISITS = 10**9


def _plain_json(value: JsonValue, depth: int = 0) -> JsonValue:
    """`extra` is the client's: any JSON that PostgreSQL's jsonb stores as sent."""
    if depth > MAX_EXTRA_DEPTH:
        raise ValueError(f"extra is nested deeper than {MAX_EXTRA_DEPTH} levels")
    if isinstance(value, str):
        reject_nul(value)
    elif isinstance(value, float):
        _finite(value)
    elif isinstance(value, list):
        for item in value:
            _plain_json(item, depth + 1)
    elif isinstance(value, dict):
        for key, item in value.items():
            reject_nul(key)
            _plain_json(item, depth + 1)
    return value


Extra = Annotated[JsonValue, AfterValidator(_plain_json)]
Note = Annotated[str, Field(max_length=MAX_TEXT_CHARS), AfterValidator(reject_nul)]
Count = Annotated[int, Field(ge=0, le=MAX_IMPORTED_VISITS)]


class ActionValueIn(StrictModel):
    action: ActionText
    note: Note | None = None
    q: Finite = 0.0
    reward: Finite = 0.0
    visits: Count = 0


class RecordIn(StrictModel):
    """A state record as records answer it, without `record_id`: imported as given."""

    task: Text
    observation: Text
    visits: Count = 1
    last_reward: Finite = 0.0
    total_reward: Finite = 0.0
    action_history: list[ActionText] = Field(default_factory=list, max_length=MAX_HISTORY)
    actions: list[ActionValueIn] = Field(default_factory=list, max_length=MAX_ACTIONS_PER_RECORD)
    extra: Extra = None

    @model_validator(mode="after")
    def _actions_are_distinct(self) -> RecordIn:
        seen: set[str] = set()
        for value in self.actions:
            if value.action in seen:
                raise ValueError(f"action {value.action[:200]!r} is listed twice in one record")
            seen.add(value.action)
        return self


class RecordsUpsert(StrictModel):
    items: list[RecordIn] = Field(min_length=1, max_length=MAX_RECORDS_PER_CALL)

    @model_validator(mode="after")
    def _states_are_distinct(self) -> RecordsUpsert:
        seen: set[tuple[str, str]] = set()
        for number, item in enumerate(self.items):
            state = (item.task, item.observation)
            if state in seen:
                raise ValueError(
                    f"item {number} repeats the (task, observation) of an earlier item"
                )
            seen.add(state)
        return self


UpsertStatus = Literal["created", "replaced", "dropped"]


class UpsertedRecord(BaseModel):
    # None when item capacity refused a new state (`dropped`).
    record_id: int | None
    status: UpsertStatus
    # Actions beyond the memory's action capacity, lowest q first, that were not kept.
    actions_dropped: list[str] = Field(default_factory=list)


class RecordsUpserted(BaseModel):
    items: list[UpsertedRecord]
    created: int
    replaced: int
    dropped: int
