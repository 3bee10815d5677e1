"""Real agent text for the recall benchmark: (objective, observation) pairs from TextWorld games.

Not part of `make bench` (TextWorld is not a dependency of the project): run once, in an
environment with `pip install textworld==1.7.0`, and the pairs are checked in as
`benchmarks/corpora/textworld.jsonl.gz`; the benchmark embeds them with the service's model.

    python -m benchmarks.textworld_corpus --games 24 --out benchmarks/corpora/textworld.jsonl.gz

Each game is made with `tw-make` (coin collector, treasure hunter, simple and cooking
challenges at several levels and seeds) and played by a random policy over the admissible
commands, one step in four taking the walkthrough's next command instead, so that the
episodes go as far as an agent's would. Every step gives a pair: the game's objective (the
task) and what the agent saw (the command's feedback, the room's description and the
inventory), as an agent built on REMEMBERER would store them.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import random
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import textworld

logger = logging.getLogger(__name__)

# (challenge, its options) for game g; the seed makes every game different.
CHALLENGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("tw-coin_collector", ("--level", "{level}")),
    ("tw-treasure_hunter", ("--level", "{level}")),
    ("tw-simple", ("--rewards", "dense", "--goal", "detailed")),
    ("tw-cooking", ("--recipe", "2", "--take", "2", "--go", "6", "--open", "--cut", "--cook")),
)
STEPS = 100
EPISODES_PER_GAME = 8
WALKTHROUGH_SHARE = 0.25


def make_game(folder: Path, g: int) -> Path:
    challenge, options = CHALLENGES[g % len(CHALLENGES)]
    level = str(1 + (7 * g) % 30)
    path = folder / f"game{g}.z8"
    command = ["tw-make", challenge, *(o.format(level=level) for o in options)]
    command += ["--seed", str(1000 + g), "--output", str(path), "-f", "--silent"]
    subprocess.run(command, check=True, capture_output=True)
    return path


def play(path: Path, rng: random.Random) -> Iterator[dict[str, str]]:
    infos = textworld.EnvInfos(
        admissible_commands=True,
        objective=True,
        description=True,
        inventory=True,
        policy_commands=True,
    )
    env = textworld.start(str(path), request_infos=infos)
    try:
        for _ in range(EPISODES_PER_GAME):
            state = env.reset()
            for _ in range(STEPS):
                observation = "\n".join(
                    part.strip()
                    for part in (state.feedback, state.description, state.inventory)
                    if part
                )
                yield {"task": state.objective.strip(), "observation": observation}
                walkthrough = state.policy_commands or []
                if walkthrough and rng.random() < WALKTHROUGH_SHARE:
                    command = walkthrough[0]
                else:
                    command = rng.choice(state.admissible_commands)
                state, _, done = env.step(command)
                if done:
                    break
    finally:
        env.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--games", type=int, default=24)
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    rng = random.Random(0)
    seen: set[tuple[str, str]] = set()
    with tempfile.TemporaryDirectory() as folder, gzip.open(args.out, "wt") as out:
        for g in range(args.first, args.first + args.games):
            try:
                path = make_game(Path(folder), g)
            except subprocess.CalledProcessError as error:
                logger.warning("game %d not made: %s", g, error.stderr[-300:])
                continue
            before = len(seen)
            for pair in play(path, rng):
                key = (pair["task"], pair["observation"])
                if key not in seen:
                    seen.add(key)
                    out.write(json.dumps(pair) + "\n")
            logger.info("game %d: %d new pairs, %d in all", g, len(seen) - before, len(seen))


if __name__ == "__main__":
    main()
