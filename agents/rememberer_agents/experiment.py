"""The learning experiment: the same agents with and without memory, on seen and unseen
games, one agent alone and N agents sharing one memory.

Conditions (the ``condition`` of each result row):

- ``memory``: N agents share one memory across all training games; each agent plays
  every game ``episodes`` times. When N > 1, the same is run once more with a single
  agent on a memory of its own (rows with ``agents: 1``), for the 1-vs-N comparison.
- ``no_memory``: the same policy with an empty memory every episode (it never retrieves
  or learns).
- ``transfer``: the memory trained in ``memory``, on unseen games of the same kinds,
  with exemplars of other tasks allowed (its own games are new).
- ``transfer_baseline``: the same, from a fresh memory.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from rememberer_client import AsyncMemoryClient, AsyncMemoryHandle
from tqdm import tqdm

from rememberer_agents.agent import EpisodeOutcome, MemoryUse, TimedMemory, play_episode
from rememberer_agents.envs import Environment, Game
from rememberer_agents.memory_config import MemoryConfig, create_memory
from rememberer_agents.policy import Policy

__all__ = ["CONDITIONS", "ConditionRun", "Experiment", "Game", "Row"]

log = logging.getLogger(__name__)

CONDITIONS = ("memory", "no_memory", "transfer", "transfer_baseline")


@dataclass(frozen=True)
class Row:
    """One episode in ``results.jsonl``."""

    condition: str
    game: str
    seed: int
    episode: int
    agent: int
    steps: int
    score: float
    max_score: float
    won: bool
    seconds: float
    memory_seconds: float
    agents: int
    usage: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        row = asdict(self)
        usage = row.pop("usage")
        row.update(usage)  # model usage columns only where a model was asked
        return row


@dataclass(frozen=True)
class ConditionRun:
    """One condition's rows and its wall time."""

    condition: str
    agents: int
    wall_seconds: float
    rows: tuple[Row, ...]


PolicyFactory = Callable[[random.Random], Policy]
EnvFactory = Callable[[Game], Environment]


@dataclass
class Experiment:
    """Runs the conditions against one service and hands every row to ``sink``."""

    client: AsyncMemoryClient
    make_env: EnvFactory
    make_policy: PolicyFactory
    games: Sequence[Game]
    transfer_games: Sequence[Game] = ()
    episodes: int = 12
    agents: int = 4
    transfer_episodes: int | None = None
    config: MemoryConfig = field(default_factory=MemoryConfig)
    use: MemoryUse = field(default_factory=MemoryUse)
    seed: int = 0
    sink: Callable[[Row], None] = lambda row: None
    # One dict per step (the model's usage), for the LLM policies.
    step_sink: Callable[[dict[str, Any]], None] | None = None
    progress: bool = True
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:10])

    async def run(self) -> list[ConditionRun]:
        runs = [
            await self.condition("no_memory", self.games, self.agents, memory=None),
            await self.condition("memory", self.games, self.agents, memory=await self.new("m")),
        ]
        trained = runs[-1]
        if self.agents > 1:
            # The same number of agents, each alone with a memory of its own: as many
            # (agent, game) pairs as the sharing team, so the two compare like for like.
            alone = [await self.new(f"s{index}") for index in range(self.agents)]
            runs.append(await self.condition("memory", self.games, self.agents, alone))
        if self.transfer_games:
            episodes = self.transfer_episodes or self.episodes
            # Other tasks' exemplars are what transfer is made of: no task filter here.
            use = replace(self.use, task_filter=None)
            trained_memory = self.client.memory(self.memory_name("m"))
            runs.append(
                await self.condition(
                    "transfer", self.transfer_games, self.agents, trained_memory, use, episodes
                )
            )
            runs.append(
                await self.condition(
                    "transfer_baseline",
                    self.transfer_games,
                    self.agents,
                    await self.new("b"),
                    use,
                    episodes,
                )
            )
        log.info("trained memory: %s (%d rows)", self.memory_name("m"), len(trained.rows))
        return runs

    def memory_name(self, suffix: str) -> str:
        return f"agents-{self.run_id}-{suffix}"

    async def new(self, suffix: str) -> AsyncMemoryHandle:
        """A fresh memory of this run, created with the run's settings."""
        handle = self.client.memory(self.memory_name(suffix))
        await create_memory(handle, self.config)
        return handle

    async def condition(
        self,
        condition: str,
        games: Sequence[Game],
        agents: int,
        memory: AsyncMemoryHandle | Sequence[AsyncMemoryHandle] | None,
        use: MemoryUse | None = None,
        episodes: int | None = None,
    ) -> ConditionRun:
        """``agents`` agents at once, each playing every game ``episodes`` times (episode
        by episode, all games in each), sharing ``memory``; or, given one memory per agent,
        each alone with its own (the rows then say ``agents=1``: nobody shared)."""
        episodes = episodes if episodes is not None else self.episodes
        memories = memory if isinstance(memory, Sequence) else [memory] * agents
        sharing = 1 if isinstance(memory, Sequence) else agents
        label = (
            f"{condition} ({agents} agent{'s' if agents > 1 else ''}"
            f"{', each alone' if sharing == 1 and agents > 1 else ''})"
        )
        total = agents * episodes * len(games)
        rows: list[Row] = []
        started = time.perf_counter()
        with tqdm(total=total, desc=label, unit="ep", disable=not self.progress) as bar:

            def record(row: Row) -> None:
                rows.append(row)
                self.sink(row)
                bar.update()

            await asyncio.gather(
                *(
                    self._agent(
                        condition, index, sharing, games, episodes, memories[index], use, record
                    )
                    for index in range(agents)
                )
            )
        return ConditionRun(condition, agents, time.perf_counter() - started, tuple(rows))

    async def _agent(
        self,
        condition: str,
        index: int,
        agents: int,
        games: Sequence[Game],
        episodes: int,
        memory: AsyncMemoryHandle | None,
        use: MemoryUse | None,
        record: Callable[[Row], None],
    ) -> None:
        # A string seed is hashed the same way in every process: reproducible choices.
        # Agent i of the sharing team and agent i alone make the same choices until what
        # they retrieve differs: the comparison isolates the sharing.
        policy = self.make_policy(random.Random(f"{self.seed}:{condition}:{index}"))
        timed = TimedMemory(memory, use or self.use, self.config) if memory else None
        envs = {game: self.make_env(game) for game in games}
        try:
            for episode in range(episodes):
                for game in games:
                    env = envs[game]
                    outcome = await play_episode(env, policy, timed, env.step_limit)
                    record(_row(condition, game, episode, index, agents, outcome))
                    if self.step_sink is not None:
                        for number, decision in enumerate(outcome.decisions):
                            self.step_sink(
                                {
                                    "condition": condition,
                                    "game": game.name,
                                    "episode": episode,
                                    "agent": index,
                                    "step": number,
                                    **asdict(decision),
                                }
                            )
        finally:
            for env in envs.values():
                env.close()
            await policy.aclose()


def _row(
    condition: str, game: Game, episode: int, agent: int, agents: int, outcome: EpisodeOutcome
) -> Row:
    usage = outcome.totals()
    return Row(
        condition=condition,
        game=game.name,
        seed=game.seed,
        episode=episode,
        agent=agent,
        steps=outcome.steps,
        score=outcome.score,
        max_score=outcome.max_score,
        won=outcome.won,
        seconds=round(outcome.seconds, 4),
        memory_seconds=round(outcome.memory_seconds, 4),
        agents=agents,
        usage=usage if any(usage.values()) else {},
    )
