"""Retroformer reflections: lessons written after a trial, rated by the next one."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

from rememberer.schemas.common import MAX_TEXT_CHARS, EpisodeId, StrictModel, Text, reject_nul

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
