"""Episodes as the API lists them: their summary, and their transitions with the values each
changed."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from rememberer.schemas.learning import UpdatedValue

EpisodeStatus = Literal["open", "done", "truncated", "abandoned"]


class EpisodeSummary(BaseModel):
    episode_id: str
    task: str
    steps: int = Field(description="Transitions received so far.")
    return_: float = Field(alias="return", description="The sum of the rewards received.")
    done: bool = Field(description='The episode is closed: true for every status but "open".')
    status: EpisodeStatus = Field(
        description=(
            '"open"; "done" (ended by a transition with done); "truncated" (cut short: its '
            'pending pairs bootstrapped from the last observation); "abandoned" (closed '
            "without updating its pending pairs)."
        )
    )
    created_at: datetime
    updated_at: datetime

    model_config = {"populate_by_name": True, "serialize_by_alias": True}


class EpisodeTransition(BaseModel):
    step: int
    observation: str
    action: str
    reward: float
    next_observation: str
    done: bool
    truncated: bool
    note: str | None = None
    updated: list[UpdatedValue] = Field(
        description="The values this transition's update changed, as the update answered."
    )


class EpisodeDetail(EpisodeSummary):
    transitions: list[EpisodeTransition]
