"""Two small TextWorld games with fixed seeds, a few episodes: the agent with a memory
wins more often than the same agent without one."""

from __future__ import annotations

from pathlib import Path

from rememberer_agents.agent import MemoryUse
from rememberer_agents.envs import Environment, Game
from rememberer_agents.experiment import Experiment, Row
from rememberer_agents.policy import ExemplarPolicy, ExemplarRule
from rememberer_agents.textworld_env import TextWorldEnv, trim
from rememberer_client import AsyncMemoryClient

from tests.support.http import ServerThread

GAMES = [Game("coin_collector", 101), Game("coin_collector", 102)]


async def test_the_memory_agent_beats_the_no_memory_agent(
    server: ServerThread, game_cache: Path
) -> None:
    rows: list[Row] = []

    def make_env(game: Game) -> Environment:
        return TextWorldEnv(game, game_cache)

    async with AsyncMemoryClient(server.url) as client:
        experiment = Experiment(
            client=client,
            make_env=make_env,
            make_policy=lambda rng: ExemplarPolicy(ExemplarRule(rng=rng)),
            games=GAMES,
            episodes=6,
            agents=1,
            use=MemoryUse(),
            sink=rows.append,
            progress=False,
        )
        no_memory = await experiment.condition("no_memory", GAMES, 1, memory=None)
        memory = await experiment.condition("memory", GAMES, 1, memory=await experiment.new("m"))
        reflections = await client.list_reflections(experiment.memory_name("m"))
        episodes = await client.list_episodes(experiment.memory_name("m"), limit=100)

    def wins(run_rows: tuple[Row, ...]) -> int:
        return sum(row.won for row in run_rows)

    assert len(memory.rows) == len(no_memory.rows) == 12
    assert wins(memory.rows) > wins(no_memory.rows) + 3, (memory.rows, no_memory.rows)
    # Once a game is won, the memory wins it in every later episode, by no longer a route.
    for game in GAMES:
        played = sorted((r for r in memory.rows if r.game == game.name), key=lambda r: r.episode)
        first = next((i for i, r in enumerate(played) if r.won), None)
        if first is not None:
            assert all(r.won for r in played[first:]), played
            assert all(r.steps <= played[first].steps for r in played[first + 1 :]), played
    assert all(row.memory_seconds > 0 for row in memory.rows)
    assert all(row.memory_seconds == 0 for row in no_memory.rows)
    # Every failed episode left a reflection on its task.
    failed = sum(not row.won for row in memory.rows)
    assert len(reflections.items) == failed
    # A lost episode stopped at the step limit: truncated, so its last pairs bootstrapped.
    statuses = sorted(episode.status for episode in episodes.items)
    assert statuses == sorted(["done"] * (12 - failed) + ["truncated"] * failed)


def test_observations_are_the_room_the_inventory_and_the_last_feedback(
    game_cache: Path,
) -> None:
    env = TextWorldEnv(Game("coin_collector", 101), game_cache)
    start = env.reset()
    assert start.task.startswith("Welcome to TextWorld!") or "coin" in start.task
    assert start.observation.startswith("-= ") and "Inventory: " in start.observation
    assert "look" not in start.actions and "inventory" not in start.actions
    assert start.max_score == 1
    moved = env.step(start.actions[0])
    # A move's feedback is the new room's description, which the observation has already.
    assert "Last:" not in moved.observation and moved.reward == 0 and not moved.done
    env.close()


def test_trim_cleans_game_text_the_same_way_every_time() -> None:
    raw = "\n\n  ________  \n-= Hall =-\nA   hall.\n>  \n-= Hall =-0/1\n"
    assert trim(raw, 100) == "-= Hall =-\nA hall."
    assert trim("x" * 50, 10) == "x" * 9 + "…"
