"""API keys: the admin's keys scoped to memories."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

from rememberer.schemas.common import MemoryName, StrictModel, reject_nul

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
