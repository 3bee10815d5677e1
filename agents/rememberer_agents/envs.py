"""The small environment interface every agent plays through."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = ["Environment", "Game", "Reset", "StepResult"]


@dataclass(frozen=True, order=True)
class Game:
    """A game by kind and seed (``name`` = ``kind-seed``); the environment generates it."""

    kind: str
    seed: int

    @property
    def name(self) -> str:
        return f"{self.kind}-{self.seed}"


@dataclass(frozen=True)
class Reset:
    """The start of an episode: what to do, what the agent sees, what it may do."""

    task: str
    observation: str
    actions: tuple[str, ...]
    max_score: float


@dataclass(frozen=True)
class StepResult:
    """What one action led to. ``done`` is the game's own end (won or lost); step limits
    are the agent's business, not the environment's."""

    observation: str
    reward: float
    done: bool
    won: bool
    actions: tuple[str, ...]
    score: float


class Environment(Protocol):
    """A game an agent can play episode after episode (``reset`` starts the next one)."""

    @property
    def name(self) -> str: ...

    @property
    def step_limit(self) -> int:
        """Steps an agent gets per episode before it is cut off (truncated)."""
        ...

    def reset(self) -> Reset: ...

    def step(self, action: str) -> StepResult: ...

    def close(self) -> None: ...
