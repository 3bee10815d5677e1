"""Bulk records: states with their action values, as imported and exported."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, JsonValue, model_validator

from rememberer.schemas.common import (
    MAX_TEXT_CHARS,
    ActionText,
    Finite,
    StrictModel,
    Text,
    finite,
    reject_nul,
)

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
        finite(value)
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
