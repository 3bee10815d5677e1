"""The update call: an episode's transitions in, the values they moved out."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, model_validator

from rememberer.schemas.common import (
    MAX_REFLECTION_IDS,
    MAX_TEXT_CHARS,
    MAX_TRANSITIONS_PER_CALL,
    ActionText,
    EpisodeId,
    Finite,
    ReflectionId,
    StrictModel,
    Text,
    reject_nul,
)


class Transition(StrictModel):
    step: int = Field(
        ge=0, le=10_000_000, description="number of the transition in its episode, from 0"
    )
    observation: Text = Field(description="o_t, what the agent saw before acting")
    action: ActionText = Field(description="a_t, the action taken")
    reward: Finite = Field(description="r_{t+1}, the reward the action received")
    next_observation: Text = Field(description="o_{t+1}, what the agent saw after it")
    done: bool = Field(False, description="true on the episode's last transition")
    note: Annotated[str, Field(max_length=MAX_TEXT_CHARS), AfterValidator(reject_nul)] | None = (
        Field(None, description="the agent's reason for the action, kept with its value")
    )
    truncated: bool = Field(
        False,
        description=(
            "The episode was cut short (a step limit, a time-out), not ended by the "
            "environment: like `done` it closes the episode, but its pending pairs bootstrap "
            "from this transition's `next_observation` instead of counting the episode as "
            "over. `done` and `truncated` together are a 422."
        ),
    )

    @model_validator(mode="after")
    def _one_ending(self) -> Transition:
        if self.done and self.truncated:
            raise ValueError("a transition is done or truncated, not both")
        return self


class UpdateRequest(StrictModel):
    episode_id: EpisodeId = Field(description="the client's id of the episode")
    task: Text = Field(description="the episode's task")
    transitions: list[Transition] = Field(
        min_length=1,
        max_length=MAX_TRANSITIONS_PER_CALL,
        description="consecutive transitions of the episode, in step order",
    )
    # Reflections the agent put in its prompt for this episode; rated when it ends.
    reflection_ids: list[ReflectionId] = Field(
        default_factory=list,
        max_length=MAX_REFLECTION_IDS,
        description="reflections shown in this episode's prompt; each use is rated when the "
        "episode ends",
    )


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
