"""The memory features of the shared SPEC that the service on this branch lacks yet.

Each function below does, client-side, what one SPEC feature will do in the service, and
is the one place to switch over once it is there (each marked ``TODO(spec)``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rememberer_client import AsyncMemoryHandle, Exemplar, MemorySettings, Transition

__all__ = [
    "MemoryConfig",
    "create_memory",
    "final_transition",
    "retrieve_filtered",
]

TaskFilter = Literal["same", "other"] | None


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
    # a bootstrap (SPEC "bootstrap_min_score").
    bootstrap_min_score: float | None = 0.995

    def settings(self) -> MemorySettings:
        return {
            "gamma": self.gamma,
            "n_step": self.n_step,
            "update_mode": self.update_mode,
            "learning_rate": self.learning_rate,
            "lambda_": self.lambda_,
        }


async def create_memory(memory: AsyncMemoryHandle, config: MemoryConfig) -> None:
    """Create the run's memory with ``config``'s settings."""
    # TODO(spec): bootstrap_min_score — pass bootstrap_min_score=config.bootstrap_min_score
    # (and exist_ok=True) to create() once the service has the setting. Until then the
    # paper's rule applies; with Monte-Carlo targets and done-terminated episodes no
    # bootstrap happens, so nothing leaks between near-identical states meanwhile.
    await memory.create(**config.settings())


async def retrieve_filtered(
    memory: AsyncMemoryHandle,
    task: str,
    observation: str,
    k: int,
    *,
    min_score: float,
    task_filter: TaskFilter,
    lambda_: float | None = None,
) -> list[Exemplar]:
    """The ``k`` most similar exemplars scoring at least ``min_score``, of this task only
    (``"same"``), of other tasks only (``"other"``) or of any task (``None``)."""
    # TODO(spec): retrieve min_score/task_filter — replace the body by
    # `return await memory.retrieve(task, observation, k, lambda_, min_score=min_score,
    # task_filter=task_filter)`. Until then: ask for more and filter here (templated
    # objectives make every task of a kind ~0.9 similar, so other games crowd the top k).
    wanted = k if task_filter is None else min(100, k * 8)
    found = await memory.retrieve(task, observation, wanted, lambda_)
    return keep_matching(found, task, k, min_score=min_score, task_filter=task_filter)


def keep_matching(
    exemplars: Sequence[Exemplar],
    task: str,
    k: int,
    *,
    min_score: float,
    task_filter: TaskFilter,
) -> list[Exemplar]:
    """What the service's retrieve filters keep, applied to an answer (best first)."""
    kept = [
        e
        for e in exemplars
        if e.score >= min_score
        and (
            task_filter is None
            or (task_filter == "same" and e.task == task)
            or (task_filter == "other" and e.task != task)
        )
    ]
    return kept[:k]


def final_transition(
    step: int,
    observation: str,
    action: str,
    reward: float,
    next_observation: str,
    *,
    game_over: bool,
) -> Transition:
    """The last transition of an episode, which ended with the game (``game_over``) or at
    the agent's step limit."""
    # TODO(spec): truncated episodes — a step limit should send `truncated=not game_over`
    # (and done=game_over), so the pending pairs bootstrap from next_observation. Until
    # then a step-limited episode ends with done=True: its last pairs learn their return
    # without a bootstrap, as if the game had ended there.
    return Transition(
        step=step,
        observation=observation,
        action=action,
        reward=reward,
        next_observation=next_observation,
        done=True,
    )
