"""``rememberer-agents learn``: agents learning through the memory, measured.

Example::

    rememberer-agents learn --env textworld --games coin_collector:6,simple:6 \\
        --episodes 12 --agents 4 --policy exemplar --out runs/demo

Writes ``results.jsonl``, ``learning_curve.png`` and ``summary.md`` into ``--out``, plus
the rated reflections (``reflections.jsonl``, ``reflection_pairs.jsonl``) and, for the LLM
policies, one row per step with the model's usage (``steps.jsonl``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import random
import shlex
import statistics
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from rememberer_client import AsyncMemoryClient

from rememberer_agents import report
from rememberer_agents.agent import MemoryUse
from rememberer_agents.envs import Environment, Game
from rememberer_agents.experiment import ConditionRun, Experiment, Row
from rememberer_agents.memory_config import MemoryConfig
from rememberer_agents.policy import ExemplarPolicy, ExemplarRule, Policy

__all__ = ["main", "parse_games"]

log = logging.getLogger("rememberer_agents")

DEFAULT_SEEDS = {"coin_collector": 101, "simple": 1, "cooking": 1}
TRANSFER_SEED_OFFSET = 1000


def parse_games(text: str) -> list[Game]:
    """``kind:count,...`` (seeds counted up from the kind's first) or, with ``seeds=True``
    semantics via :func:`parse_game_seeds`, explicit seeds."""
    games = []
    for part in _parts(text):
        kind, _, count = part.partition(":")
        start = DEFAULT_SEEDS.get(kind, 1)
        games += [Game(kind, start + i) for i in range(int(count or 1))]
    return games


def parse_game_seeds(text: str) -> list[Game]:
    """``coin_collector:101,102,simple:7,8``: a kind applies to the seeds that follow it."""
    games, kind = [], None
    for part in _parts(text):
        if ":" in part:
            kind, _, seed = part.partition(":")
        else:
            seed = part
        if kind is None:
            raise argparse.ArgumentTypeError(f"a seed before any kind in {text!r}")
        games.append(Game(kind, int(seed)))
    return games


def _parts(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def transfer_games(games: Sequence[Game], per_kind: int) -> list[Game]:
    """``per_kind`` unseen games of each kind that ``games`` has, after its seeds."""
    unseen = []
    for kind in dict.fromkeys(g.kind for g in games):
        first = max(g.seed for g in games if g.kind == kind) + TRANSFER_SEED_OFFSET
        unseen += [Game(kind, first + i) for i in range(per_kind)]
    return unseen


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rememberer-agents",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    learn = commands.add_parser("learn", help="run the learning experiment and report it")
    learn.add_argument("--env", choices=["textworld"], default="textworld")
    learn.add_argument(
        "--games", default="coin_collector:6,simple:6", help="kind:count,... (default %(default)s)"
    )
    learn.add_argument("--game-seeds", help="exact games: coin_collector:101,102,simple:7,8")
    learn.add_argument(
        "--transfer-games",
        type=int,
        default=2,
        help="unseen games per kind for the transfer conditions (0: none)",
    )
    learn.add_argument("--episodes", type=int, default=12, help="per game and condition")
    learn.add_argument(
        "--transfer-episodes", type=int, help="episodes per unseen game (default: --episodes)"
    )
    learn.add_argument("--agents", type=int, default=4, help="agents sharing one memory")
    learn.add_argument("--policy", choices=["exemplar", "chat", "local"], default="exemplar")
    learn.add_argument("--out", type=Path, required=True)
    learn.add_argument("--url", help="a running Rememberer service (default: start one)")
    learn.add_argument("--api-key", help="its key (or REMEMBERER_API_KEY)")
    learn.add_argument("--seed", type=int, default=0, help="seeds the policies' choices")
    learn.add_argument("--cache-dir", type=Path, help="generated games (default ~/.cache/...)")
    learn.add_argument("--no-progress", action="store_true")
    rule = learn.add_argument_group("exemplar rule and memory")
    rule.add_argument("--k", type=int, default=MemoryUse.k, help="exemplars per step")
    rule.add_argument("--min-score", type=float, default=MemoryUse.min_score)
    rule.add_argument("--epsilon", type=float, default=ExemplarRule.epsilon)
    rule.add_argument("--q-margin", type=float, default=ExemplarRule.q_margin)
    rule.add_argument("--gamma", type=float, default=MemoryConfig.gamma)
    rule.add_argument(
        "--n-step", type=int, default=None, help="n-step targets (default: Monte-Carlo)"
    )
    rule.add_argument("--lambda", dest="lambda_", type=float, default=MemoryConfig.lambda_)
    rule.add_argument("--reflections", type=int, default=MemoryUse.reflections)
    model = learn.add_argument_group("chat and local policies")
    model.add_argument(
        "--chat-url",
        help="OpenAI-compatible base URL, e.g. "
        "http://127.0.0.1:8080/v1 (or REMEMBERER_AGENTS_CHAT_URL)",
    )
    model.add_argument("--chat-model", help="model name (or REMEMBERER_AGENTS_CHAT_MODEL)")
    model.add_argument("--chat-key", help="API key (or REMEMBERER_AGENTS_CHAT_KEY)")
    model.add_argument("--chat-timeout", type=float, default=30.0)
    model.add_argument("--local-model", help="a GGUF file (default: the `local` extra's)")
    redo = commands.add_parser(
        "report", help="write summary.md and the plot again from DIR/results.jsonl"
    )
    redo.add_argument("out", type=Path)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.command == "report":
        rows = report.load_rows(args.out / "results.jsonl")
        _write_reports(args.out, rows, command="", reflections=None)
        return 0
    return learn(args, " ".join(shlex.quote(a) for a in (argv or sys.argv[1:])))


def learn(args: argparse.Namespace, command: str) -> int:
    games = parse_game_seeds(args.game_seeds) if args.game_seeds else parse_games(args.games)
    unseen = transfer_games(games, args.transfer_games) if args.transfer_games else []
    make_env = _textworld(args.cache_dir, games + unseen, progress=not args.no_progress)
    args.out.mkdir(parents=True, exist_ok=True)
    with _service(args.url) as url:
        runs, reflections = asyncio.run(_run(args, url, games, unseen, make_env))
    rows = [row.to_json() for run in runs for row in run.rows]
    _write_reports(args.out, rows, f"rememberer-agents {command}", reflections)
    sys.stdout.write(f"wrote {args.out}/results.jsonl, summary.md, learning_curve.png\n")
    if any(r["condition"] == "no_memory" for r in rows):
        sys.stdout.write("\n".join(report.targets(rows).lines()) + "\n")
    return 0


@contextlib.contextmanager
def _service(url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    from rememberer_agents.service import own_service

    with own_service() as started:
        yield started


def _textworld(
    cache_dir: Path | None, games: Sequence[Game], progress: bool
) -> Callable[[Game], Environment]:
    from tqdm import tqdm

    from rememberer_agents.textworld_env import TextWorldEnv, default_cache_dir, game_file

    folder = cache_dir or default_cache_dir()
    # Generated now, one after another, rather than by agents racing for the same game.
    for game in tqdm(games, desc="games", unit="game", disable=not progress):
        game_file(game, folder)
    return lambda game: TextWorldEnv(game, folder)


def _policy_factory(args: argparse.Namespace) -> Callable[[random.Random], Policy]:
    def rule(rng: random.Random) -> ExemplarRule:
        return ExemplarRule(rng=rng, q_margin=args.q_margin, epsilon=args.epsilon)

    if args.policy == "chat":
        from rememberer_agents.chat import ChatSettings, chat_policy

        settings = ChatSettings(args.chat_url, args.chat_model, args.chat_key, args.chat_timeout)
        return lambda rng: chat_policy(settings, rule(rng))
    if args.policy == "local":
        from rememberer_agents.local import LocalModel, find_local_weights, local_policy

        shared = LocalModel(find_local_weights(args.local_model))  # one model for all agents
        return lambda rng: local_policy(shared, fallback=rule(rng))
    return lambda rng: ExemplarPolicy(rule(rng))


async def _run(
    args: argparse.Namespace,
    url: str,
    games: Sequence[Game],
    unseen: Sequence[Game],
    make_env: Callable[[Game], Environment],
) -> tuple[list[ConditionRun], dict[str, float]]:
    results = report.ResultsWriter(args.out / "results.jsonl")
    steps = (args.out / "steps.jsonl").open("w") if args.policy != "exemplar" else None

    def sink(row: Row) -> None:
        results.write(row.to_json())

    config = MemoryConfig(gamma=args.gamma, n_step=args.n_step, lambda_=args.lambda_)
    use = MemoryUse(k=args.k, min_score=args.min_score, reflections=args.reflections)
    try:
        async with AsyncMemoryClient(url, api_key=args.api_key) as client:
            experiment = Experiment(
                client=client,
                make_env=make_env,
                make_policy=_policy_factory(args),
                games=games,
                transfer_games=unseen,
                episodes=args.episodes,
                agents=args.agents,
                transfer_episodes=args.transfer_episodes,
                config=config,
                use=use,
                seed=args.seed,
                sink=sink,
                step_sink=(lambda step: steps.write(json.dumps(step) + "\n")) if steps else None,
                progress=not args.no_progress,
            )
            runs = await experiment.run()
            reflections = await _export_reflections(experiment, args.out)
    finally:
        results.close()
        if steps:
            steps.close()
    return runs, reflections


async def _export_reflections(experiment: Experiment, out: Path) -> dict[str, float]:
    """The trained memory's rated reflections and pairs, as files and a few numbers."""
    memory = experiment.client.memory(experiment.memory_name("m"))
    ratings = []
    with (out / "reflections.jsonl").open("w") as file:
        async for row in memory.export_reflections("jsonl"):
            ratings.append(float(row["rating"]))
            file.write(json.dumps(row) + "\n")
    pairs = 0
    with (out / "reflection_pairs.jsonl").open("w") as file:
        async for row in memory.export_reflections("pairs"):
            pairs += 1
            file.write(json.dumps(row) + "\n")
    listed = await memory.list_reflections(limit=1000)
    summary: dict[str, Any] = {
        "reflections written (memory condition, first page)": len(listed.items),
        "rated uses": len(ratings),
        "mean rating (return after − return before)": (
            statistics.fmean(ratings) if ratings else float("nan")
        ),
        "share of uses rated > 0": (
            sum(r > 0 for r in ratings) / len(ratings) if ratings else float("nan")
        ),
        "preference pairs": pairs,
    }
    return summary


def _write_reports(
    out: Path, rows: Sequence[dict[str, Any]], command: str, reflections: dict[str, float] | None
) -> None:
    (out / "summary.md").write_text(
        report.summary_markdown(rows, command=command, reflections=reflections)
    )
    report.learning_curve(rows, out / "learning_curve.png")


if __name__ == "__main__":
    sys.exit(main())
