"""TextWorld games as :class:`~rememberer_agents.envs.Environment`\\ s.

Games are generated locally with ``tw-make`` from a kind and a seed the first time they
are needed, into a cache folder, and reused after; nothing is downloaded. The ``textworld``
package comes with the ``textworld`` extra and is imported only when a game is played.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rememberer_agents.envs import Game, Reset, StepResult

__all__ = ["KINDS", "GameKind", "TextWorldEnv", "default_cache_dir", "game_file", "trim"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GameKind:
    """A TextWorld challenge with the ``tw-make`` options that fix its difficulty, and the
    number of steps an agent gets per episode."""

    challenge: str
    options: tuple[str, ...]
    step_limit: int


# Difficulties chosen so that a random walk rarely wins within the step limit (measured:
# ~0.13 for coin_collector level 8 in 25 steps, ~0.03 for simple and cooking in 40),
# so that winning says something about what the agent remembered.
KINDS: dict[str, GameKind] = {
    "coin_collector": GameKind("tw-coin_collector", ("--level", "8"), step_limit=25),
    "simple": GameKind("tw-simple", ("--rewards", "dense", "--goal", "detailed"), step_limit=40),
    "cooking": GameKind(
        "tw-cooking", ("--recipe", "1", "--take", "1", "--go", "6", "--open"), step_limit=40
    ),
}

# Commands whose answer the observation already holds (the room and the inventory).
_REDUNDANT_COMMANDS = frozenset({"look", "inventory"})
_TEXT_LIMIT = 600
_FEEDBACK_LIMIT = 300


def default_cache_dir() -> Path:
    """``$REMEMBERER_AGENTS_CACHE`` or ``~/.cache/rememberer-agents``."""
    configured = os.environ.get("REMEMBERER_AGENTS_CACHE")
    if configured:
        return Path(configured)
    return Path.home() / ".cache" / "rememberer-agents"


def game_file(spec: Game, cache_dir: Path) -> Path:
    """The game's ``.z8`` file, generated with ``tw-make`` on first use."""
    if spec.kind not in KINDS:
        raise ValueError(f"unknown game kind {spec.kind!r}; known: {', '.join(KINDS)}")
    folder = cache_dir / "games" / spec.name
    path = folder / "game.z8"
    if path.exists():
        return path
    folder.parent.mkdir(parents=True, exist_ok=True)
    # Generated aside and moved in whole, so a crash or a concurrent run never leaves a
    # half-written game behind.
    with tempfile.TemporaryDirectory(dir=folder.parent, prefix=".making-") as scratch:
        _run_tw_make(spec, Path(scratch) / "game.z8")
        try:
            os.replace(scratch, folder)
        except OSError:
            if not path.exists():  # another process put it there first: use theirs
                raise
        else:
            Path(scratch).mkdir()  # TemporaryDirectory wants something to delete
    return path


def _run_tw_make(spec: Game, output: Path) -> None:
    kind = KINDS[spec.kind]
    command = [
        _tw_make(),
        kind.challenge,
        *kind.options,
        "--seed",
        str(spec.seed),
        "--output",
        str(output),
        "-f",
        "--silent",
    ]
    log.info("generating %s: %s", spec.name, " ".join(command))
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not output.exists():
        raise RuntimeError(f"tw-make failed for {spec.name}: {done.stderr.strip()[-2000:]}")


def _tw_make() -> str:
    beside_python = Path(sys.executable).parent / "tw-make"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("tw-make")
    if found is None:
        raise RuntimeError("tw-make not found: pip install 'rememberer-agents[textworld]'")
    return found


def trim(text: str | None, limit: int) -> str:
    """One consistent cleaning of game text: no prompt marks, ASCII banners or runs of
    blank space, at most ``limit`` characters."""
    if not text:
        return ""
    lines = []
    for line in text.replace(">", " ").splitlines():
        line = re.sub(r"\s+", " ", line).strip()
        # The title banner, the status line ("-= Room =-0/2") and the end-of-game
        # boilerplate say nothing about the state.
        if (
            line
            and not re.fullmatch(r"[\W_$]+", line)
            and not re.fullmatch(r"-= .* =-\d+/\d+", line)
            and "RESTART, RESTORE" not in line
        ):
            lines.append(line)
    cleaned = "\n".join(lines)
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


class TextWorldEnv:
    """One generated TextWorld game.

    Task = the game's objective. Observation = room description, inventory and the last
    feedback, each trimmed by :func:`trim`. Actions = the admissible commands (from
    ``textworld.EnvInfos``) less ``look`` and ``inventory``, whose answers the observation
    already shows; sorted, so that choices are reproducible. Reward = the score gained,
    divided by the game's maximum score, so that every game's returns lie in [0, 1].
    """

    def __init__(self, spec: Game, cache_dir: Path | None = None) -> None:
        import textworld  # the `textworld` extra; imported here so the package loads without

        self._spec = spec
        path = game_file(spec, cache_dir or default_cache_dir())
        infos = textworld.EnvInfos(
            objective=True,
            description=True,
            inventory=True,
            admissible_commands=True,
            max_score=True,
            won=True,
            lost=True,
            score=True,
        )
        self._env: Any = textworld.start(str(path), request_infos=infos)
        self._max_score = 1.0
        self._score = 0.0

    @property
    def name(self) -> str:
        return self._spec.name

    @property
    def step_limit(self) -> int:
        return KINDS[self._spec.kind].step_limit

    def reset(self) -> Reset:
        state = self._env.reset()
        self._max_score = float(state.max_score or 1)
        self._score = float(state.score or 0)
        return Reset(
            task=trim(state.objective, 2000),
            observation=self._observation(state, feedback=""),
            actions=self._actions(state),
            max_score=self._max_score,
        )

    def step(self, action: str) -> StepResult:
        state, _, done = self._env.step(action)
        score = float(state.score or 0)
        reward = (score - self._score) / self._max_score
        self._score = score
        return StepResult(
            observation=self._observation(state, feedback=state.feedback),
            reward=reward,
            done=bool(done),
            won=bool(state.won),
            actions=self._actions(state),
            score=score,
        )

    def close(self) -> None:
        self._env.close()

    @staticmethod
    def _observation(state: Any, feedback: str) -> str:
        description = trim(state.description, _TEXT_LIMIT)
        inventory = trim(state.inventory, _FEEDBACK_LIMIT)
        last = trim(feedback, _FEEDBACK_LIMIT)
        # After a move the feedback is the new room's description: said once is enough.
        title = description.split("\n", 1)[0]
        if last == description or (title.startswith("-=") and last.startswith(title)):
            last = ""
        parts = [description, f"Inventory: {inventory}"]
        if last:
            parts.append(f"Last: {last}")
        return "\n".join(parts)

    @staticmethod
    def _actions(state: Any) -> tuple[str, ...]:
        commands = state.admissible_commands or []
        return tuple(sorted(c for c in commands if c not in _REDUNDANT_COMMANDS))
