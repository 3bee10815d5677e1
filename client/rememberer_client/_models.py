"""Typed wire models of the v1 contract.

Answer models ignore unknown fields so that the server can add fields without
breaking deployed clients. :class:`Transition` is the one request model and forbids
unknown fields instead: a misspelt key (``"Done"``) would otherwise be dropped
silently and change what the memory learns.
"""

from __future__ import annotations

from datetime import datetime
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ActionValue",
    "ApiKey",
    "CreatedKey",
    "EpisodeState",
    "Exemplar",
    "Memory",
    "Page",
    "Record",
    "Transition",
    "UpdateResult",
    "UpdatedValue",
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


class Exemplar(Record):
    """A retrieved record with its similarity scores; ``actions`` come by ``q`` descending."""

    score: float
    task_score: float
    observation_score: float


class Transition(BaseModel):
    """Step ``step`` of an episode: saw ``observation``, took ``action``, got ``reward``."""

    model_config = ConfigDict(extra="forbid")

    step: int = Field(ge=0)
    observation: str
    action: str
    reward: float
    next_observation: str
    done: bool = False
    note: str | None = None


class UpdatedValue(_AnswerModel):
    """An action value that an ``update`` call changed."""

    record_id: int
    task: str
    observation: str
    action: str
    q: float
    visits: int


class EpisodeState(_AnswerModel):
    """Where the server thinks an episode stands after an ``update``."""

    episode_id: str
    next_step: int
    done: bool


class UpdateResult(_AnswerModel):
    """Answer of ``update``: the changed action values and the episode's state."""

    updated: list[UpdatedValue]
    episode: EpisodeState


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
