"""Typed wire models of the v1 contract.

Answer models ignore unknown fields so that the server can add fields without
breaking deployed clients. The request models (:class:`Transition`,
:class:`RecordItem`) forbid unknown fields instead, since a misspelt key (``"Done"``)
would otherwise be dropped silently and change what the memory learns, and they are
strict about types, as every SDK argument is: ``"1.0"`` is not a float.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "ActionValue",
    "ApiKey",
    "CreatedKey",
    "EpisodeDetail",
    "EpisodeState",
    "EpisodeSummary",
    "EpisodeTransition",
    "Exemplar",
    "Memory",
    "Page",
    "Record",
    "RecordItem",
    "Reflection",
    "ReflectionDetail",
    "ReflectionUse",
    "Retrieval",
    "Transition",
    "UpdateResult",
    "UpdatedValue",
    "UpsertResult",
    "UpsertedRecord",
]

T = TypeVar("T")


class _AnswerModel(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class Memory(_AnswerModel):
    """A named experience memory: its settings and, from ``get_memory``, its counts.

    ``records``, ``actions`` and ``episodes_open`` are ``None`` when the server did not
    count them (listings may leave them out).
    """

    name: str
    created_at: datetime
    gamma: float = 1.0
    n_step: int | None = 1
    # Plain `str` rather than the Literal of known values: a newer server may add modes.
    update_mode: str = "mean"
    learning_rate: float = 0.1
    lambda_: float = Field(0.5, alias="lambda")
    action_history_mode: str = "shortest"
    item_capacity: int | None = None
    action_capacity: int | None = None
    embedder: str = "all-MiniLM-L6-v2"
    dimension: int = 384
    double_q: bool = False
    observation_similarity: str = "embedding"
    # None: the paper's bootstrap (own record, else the nearest whatever its score).
    bootstrap_min_score: float | None = None
    records: int | None = None
    actions: int | None = None
    episodes_open: int | None = None


class Page(_AnswerModel, Generic[T]):
    """One page of a cursor-paginated listing; ``next_cursor`` is ``None`` on the last."""

    items: list[T]
    next_cursor: str | None = None


class ActionValue(_AnswerModel):
    """What the memory learned about taking ``action`` in one state."""

    action: str
    note: str | None = None
    q: float
    reward: float
    visits: int


class Record(_AnswerModel):
    """One (task, observation) state with its action values."""

    record_id: int
    task: str
    observation: str
    visits: int
    last_reward: float
    total_reward: float
    action_history: list[str]
    actions: list[ActionValue]
    # The client's own JSON kept with the record (imports keep a pool's extra key parts here).
    extra: Any = None


class Exemplar(Record):
    """A retrieved record with its similarity scores; ``actions`` come by ``q`` descending."""

    score: float
    task_score: float
    observation_score: float


class Transition(BaseModel):
    """Step ``step`` of an episode: saw ``observation``, took ``action``, got ``reward``.

    ``done`` ends the episode because the task ended; ``truncated`` ends it because it
    was cut short (a step limit), so its last pairs still bootstrap from
    ``next_observation``. At most one of them is true. ``truncated`` goes on the wire
    only when true, so services that predate it accept these transitions.
    """

    model_config = ConfigDict(extra="forbid", strict=True)

    step: int = Field(ge=0)
    observation: str
    action: str
    reward: float
    next_observation: str
    done: bool = False
    note: str | None = None
    truncated: bool = False

    @model_validator(mode="after")
    def _ends_one_way(self) -> Transition:
        if self.done and self.truncated:
            raise ValueError("a transition is done or truncated, not both")
        return self

    def _to_wire(self) -> dict[str, Any]:
        """The JSON object sent for this transition."""
        sent = self.model_dump(mode="json", exclude_none=True)
        if not self.truncated:
            del sent["truncated"]
        return sent


class UpdatedValue(_AnswerModel):
    """An action value that an ``update`` call changed.

    ``dropped`` means the change did not stick: the memory's item capacity did not admit
    the new state (then ``record_id`` is ``None``), or its action capacity pruned the action.
    """

    record_id: int | None
    task: str
    observation: str
    action: str
    q: float
    visits: int
    dropped: bool = False


class EpisodeState(_AnswerModel):
    """Where the server thinks an episode stands after an ``update``."""

    episode_id: str
    next_step: int
    done: bool


class UpdateResult(_AnswerModel):
    """Answer of ``update``: the changed action values and the episode's state."""

    updated: list[UpdatedValue]
    episode: EpisodeState


class EpisodeSummary(_AnswerModel):
    """An episode as the memory keeps it: ``steps`` received, their ``return`` (the sum
    of rewards; ``return_`` in Python) and ``status``, one of ``"open"``, ``"done"``,
    ``"truncated"`` and ``"abandoned"``; ``done`` is true for every status but open."""

    episode_id: str
    task: str
    steps: int
    return_: float = Field(alias="return")
    done: bool
    # Plain `str` rather than a Literal: a newer server may add statuses.
    status: str
    created_at: datetime
    updated_at: datetime


class EpisodeTransition(_AnswerModel):
    """One received step of an episode, with the action values its update changed."""

    step: int
    observation: str
    action: str
    reward: float
    next_observation: str
    done: bool = False
    truncated: bool = False
    note: str | None = None
    updated: list[UpdatedValue] = Field(default_factory=list)


class EpisodeDetail(EpisodeSummary):
    """An episode with its transitions, in step order."""

    transitions: list[EpisodeTransition]


class _EmbeddingsStored(_AnswerModel):
    stored: int


class _RetrieveResponse(_AnswerModel):
    exemplars: list[Exemplar]


class ApiKey(_AnswerModel):
    """An API key as the admin lists it: its scope, never the key itself."""

    id: int
    name: str
    memories: list[str]
    created_at: datetime


class CreatedKey(ApiKey):
    """A freshly minted key; ``key`` is the bearer secret, shown only in this answer."""

    key: str = Field(repr=False)


class Reflection(_AnswerModel):
    """A reflection written on a finished episode (Retroformer).

    ``return_before`` is the return of the episode reflected on; ``return_after`` and
    ``rating`` (= return_after − return_before) are means over the later episodes that
    put it in their prompt and have ended, ``None`` until one has.
    """

    reflection_id: int
    task: str
    episode_id: str
    text: str
    prompt: str | None = None
    return_before: float
    return_after: float | None = None
    rating: float | None = None
    uses: int = 0
    rated_uses: int = 0
    created_at: datetime


class ReflectionUse(_AnswerModel):
    """One later episode that used a reflection, and its rating once it ended."""

    episode_id: str
    return_after: float | None = None
    rating: float | None = None
    used_at: datetime
    rated_at: datetime | None = None


class ReflectionDetail(Reflection):
    """A reflection with each of its uses, newest first."""

    used_by: list[ReflectionUse]


class Retrieval(_AnswerModel):
    """Answer of ``retrieve_with_reflections``: exemplars and the task's newest reflections."""

    exemplars: list[Exemplar]
    reflections: list[Reflection] = Field(default_factory=list)


class RecordItem(BaseModel):
    """A record to create or replace with ``upsert_records``: a :class:`Record` without
    ``record_id``, its values stored as given."""

    model_config = ConfigDict(extra="forbid", strict=True)

    task: str
    observation: str
    visits: int = 1
    last_reward: float = 0.0
    total_reward: float = 0.0
    action_history: list[str] = Field(default_factory=list)
    actions: list[ActionValue] = Field(default_factory=list)
    extra: Any = None


class UpsertedRecord(_AnswerModel):
    """What ``upsert_records`` did with one item; ``record_id`` is ``None`` if dropped."""

    record_id: int | None
    status: Literal["created", "replaced", "dropped"]
    actions_dropped: list[str] = Field(default_factory=list)


class UpsertResult(_AnswerModel):
    """Answer of ``upsert_records``: one entry per item, in order, and the totals."""

    items: list[UpsertedRecord]
    created: int
    replaced: int
    dropped: int
