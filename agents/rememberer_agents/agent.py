"""One agent playing one episode: retrieve, decide, act; then learn and reflect."""

from __future__ import annotations

import logging
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from rememberer_client import AsyncMemoryHandle, Exemplar, Reflection, TaskFilter, Transition

from rememberer_agents.envs import Environment, StepResult
from rememberer_agents.memory_config import MemoryConfig
from rememberer_agents.policy import Decision, Policy, Situation, StepRecord

__all__ = ["EpisodeOutcome", "MemoryUse", "TimedMemory", "play_episode"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MemoryUse:
    """How an agent reads its memory.

    ``k`` exemplars scoring at least ``min_score``, of the same task only
    (``task_filter="same"``: other games' states never steer this one) or of any task
    (``None``: what transfer to unseen games needs); ``reflections`` newest reflections
    on the task go into each episode's prompt.
    """

    k: int = 4
    min_score: float = 0.95
    task_filter: TaskFilter | None = "same"
    reflections: int = 2
    lambda_: float | None = None


@dataclass
class TimedMemory:
    """A memory handle whose calls are timed, so a run can say what memory costs."""

    handle: AsyncMemoryHandle
    use: MemoryUse
    config: MemoryConfig = field(default_factory=MemoryConfig)
    seconds: float = 0.0

    async def exemplars(self, task: str, observation: str) -> list[Exemplar]:
        started = time.perf_counter()
        try:
            return await self.handle.retrieve(
                task,
                observation,
                self.use.k,
                self.use.lambda_,
                min_score=self.use.min_score,
                task_filter=self.use.task_filter,
            )
        finally:
            self.seconds += time.perf_counter() - started

    async def reflections(self, task: str) -> list[Reflection]:
        if self.use.reflections == 0:
            return []
        started = time.perf_counter()
        try:
            page = await self.handle.list_reflections(task=task, limit=self.use.reflections)
            return page.items
        finally:
            self.seconds += time.perf_counter() - started

    async def learn(
        self,
        episode_id: str,
        task: str,
        transitions: Sequence[Transition],
        reflection_ids: Sequence[int],
    ) -> None:
        # The whole episode in one call: with Monte-Carlo targets nothing is learned before
        # the end anyway, and one call instead of one per step keeps memory time small.
        started = time.perf_counter()
        try:
            await self.handle.update(
                episode_id, task, transitions, reflection_ids=list(reflection_ids)
            )
        finally:
            self.seconds += time.perf_counter() - started

    async def reflect(self, task: str, episode_id: str, text: str, prompt: str) -> None:
        started = time.perf_counter()
        try:
            await self.handle.create_reflection(task, episode_id, text, prompt)
        finally:
            self.seconds += time.perf_counter() - started


@dataclass(frozen=True)
class EpisodeOutcome:
    """What one episode came to, and what it cost."""

    steps: int
    score: float
    max_score: float
    won: bool
    seconds: float
    memory_seconds: float
    decisions: tuple[Decision, ...] = ()

    def totals(self) -> dict[str, int]:
        """Model usage over the episode (all zero for the exemplar rule)."""
        total: Counter[str] = Counter()
        for decision in self.decisions:
            total["prompt_tokens"] += decision.prompt_tokens
            total["completion_tokens"] += decision.completion_tokens
            total["retries"] += decision.retries
            total["timeouts"] += decision.timeouts
            total["unusable"] += decision.unusable
            total["fallbacks"] += decision.source == "fallback"
        return dict(total)


async def play_episode(
    env: Environment,
    policy: Policy,
    memory: TimedMemory | None,
    step_limit: int,
    episode_id: str | None = None,
) -> EpisodeOutcome:
    """Plays one episode of ``env``; with a memory, retrieves before every action, sends
    the episode to the memory when it ends, and reflects on it if it failed."""
    started = time.perf_counter()
    memory_before = memory.seconds if memory else 0.0
    episode_id = episode_id or uuid.uuid4().hex
    # Environments are called on the event loop's thread: TextWorld's loader is not
    # thread-safe, and a step takes a few milliseconds.
    start = env.reset()
    task, observation, actions = start.task, start.observation, start.actions
    reflections = await memory.reflections(task) if memory else []
    tried: dict[str, set[str]] = {}
    records: list[StepRecord] = []
    transitions: list[Transition] = []
    decisions: list[Decision] = []
    last: StepResult | None = None
    for step in range(step_limit):
        exemplars = await memory.exemplars(task, observation) if memory else []
        situation = Situation(
            task=task,
            observation=observation,
            actions=actions,
            exemplars=exemplars,
            reflections=reflections,
            tried_here=frozenset(tried.get(observation, ())),
        )
        decision = await policy.decide(situation)
        decisions.append(decision)
        tried.setdefault(observation, set()).add(decision.action)
        last = env.step(decision.action)
        records.append(StepRecord(observation, decision.action, last.reward))
        ends = last.done or step == step_limit - 1 or not last.actions
        # An episode cut short by the step limit (or a game left without actions) is
        # truncated, not done: its last pairs bootstrap from where the agent stopped.
        transitions.append(
            Transition(
                step=step,
                observation=observation,
                action=decision.action,
                reward=last.reward,
                next_observation=last.observation,
                done=last.done,
                truncated=ends and not last.done,
            )
        )
        if ends:
            break
        observation, actions = last.observation, last.actions
    won = last.won if last else False
    if memory is not None and transitions:
        reflection_ids = [r.reflection_id for r in reflections]
        await memory.learn(episode_id, task, transitions, reflection_ids)
        if not won:
            final = last.observation if last else observation
            text = await policy.reflect(task, records, final, won)
            await memory.reflect(task, episode_id, text, prompt=f"Task: {task}")
    return EpisodeOutcome(
        steps=len(transitions),
        score=last.score if last else 0.0,
        max_score=start.max_score,
        won=won,
        seconds=time.perf_counter() - started,
        memory_seconds=(memory.seconds - memory_before) if memory else 0.0,
        decisions=tuple(decisions),
    )
