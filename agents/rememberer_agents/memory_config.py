"""The learning settings a run gives its memories, and how a run creates them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rememberer_client import AsyncMemoryHandle, MemorySettings

__all__ = ["MemoryConfig", "create_memory"]


@dataclass(frozen=True)
class MemoryConfig:
    """The learning settings a run gives its memories (see docs/LEARNING.md for why).

    Monte-Carlo targets (``n_step=None``): an episode's pairs all learn the discounted
    return when it ends, so one success pays every step that led to it at once, where
    one-step targets would walk the value back one state per episode. ``gamma`` < 1 makes
    shorter routes worth more. ``update_mode="mean"``: q is the mean of the returns seen.
    ``lambda_`` weighs the task against the observation in retrieval.
    """

    gamma: float = 0.9
    n_step: int | None = None
    update_mode: Literal["mean", "const"] = "mean"
    learning_rate: float = 0.1
    lambda_: float = 0.5
    # Text-game states that differ by one phrase score ~0.99: only nearer records serve as
    # the bootstrap of a truncated episode's last pairs.
    bootstrap_min_score: float | None = 0.995

    def settings(self) -> MemorySettings:
        return {
            "gamma": self.gamma,
            "n_step": self.n_step,
            "update_mode": self.update_mode,
            "learning_rate": self.learning_rate,
            "lambda_": self.lambda_,
            "bootstrap_min_score": self.bootstrap_min_score,
        }


async def create_memory(memory: AsyncMemoryHandle, config: MemoryConfig) -> None:
    """Create the run's memory with ``config``'s settings."""
    await memory.create(**config.settings())
