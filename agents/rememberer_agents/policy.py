"""What a policy sees and decides, and REMEMBERER's exemplar rule without a language model.

The exemplar rule is the decision REMEMBERER asks of its LLM, made by a fixed rule:
follow the encouraged action of the retrieved exemplars, else explore. It is the fast,
deterministic policy for tests and benchmarks, and the fallback of the LLM policies.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from rememberer_client import Exemplar, Reflection

__all__ = [
    "Decision",
    "ExemplarPolicy",
    "ExemplarRule",
    "Policy",
    "Situation",
    "StepRecord",
    "known_values",
    "template_reflection",
]


@dataclass(frozen=True)
class Situation:
    """Everything a policy may use to choose the next action.

    ``tried_here`` are the actions already taken in this very observation during this
    episode; ``exemplars`` are already filtered (same task, score threshold) and best first.
    """

    task: str
    observation: str
    actions: tuple[str, ...]
    exemplars: Sequence[Exemplar] = ()
    reflections: Sequence[Reflection] = ()
    tried_here: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Decision:
    """The chosen action, where it came from, and what asking a model cost.

    ``source``: ``"exemplar"`` (an encouraged action), ``"explore"``, ``"model"``, or
    ``"fallback"`` (the model's answer was unusable or failed; the exemplar rule chose).
    """

    action: str
    source: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    model_seconds: float = 0.0
    retries: int = 0
    timeouts: int = 0
    unusable: int = 0


@dataclass(frozen=True)
class StepRecord:
    """One step of a finished episode, as reflections see it."""

    observation: str
    action: str
    reward: float


class Policy(Protocol):
    """Chooses actions, and writes a reflection after a failed episode."""

    @property
    def name(self) -> str: ...

    async def decide(self, situation: Situation) -> Decision: ...

    async def reflect(
        self, task: str, steps: Sequence[StepRecord], final_observation: str, won: bool
    ) -> str: ...

    async def aclose(self) -> None: ...


def known_values(exemplars: Sequence[Exemplar], actions: Sequence[str]) -> dict[str, float]:
    """Q of each admissible action as the most similar exemplar that tried it says (the
    nearest evidence wins: exemplars come best first)."""
    admissible = set(actions)
    values: dict[str, float] = {}
    for exemplar in exemplars:
        for value in exemplar.actions:
            if value.action in admissible and value.action not in values:
                values[value.action] = value.q
    return values


@dataclass
class ExemplarRule:
    """REMEMBERER's decision rule without an LLM, made robust against loops.

    1. Among the admissible actions, those the exemplars value above ``q_margin`` are
       encouraged; the one with the highest q is taken, unless it was already taken in
       this same observation during this episode. Taken literally ("highest q > 0"), the
       rule walks back and forth between two states whose actions carry tiny positive
       values (discounted leftovers of a long, lucky episode); an action repeated in the
       same observation within an episode can only be such a loop, so it is skipped and
       the next encouraged action is considered. ``q_margin`` ignores values too small to
       mean anything.
    2. Otherwise, and with probability ``epsilon`` anyway, it explores: uniformly among
       the admissible actions not yet taken here in this episode, preferring those that no
       similar exemplar has tried (the only ones whose value is unknown; tried ones
       without value are what REMEMBERER shows as discouraged). Choosing the least-tried
       action instead was measured worse: deterministic sweeps kept oscillating in the
       same corridor, where random choices reach farther.
    """

    rng: random.Random = field(default_factory=lambda: random.Random(0))
    q_margin: float = 0.01
    epsilon: float = 0.0

    def choose(self, situation: Situation) -> Decision:
        values = known_values(situation.exemplars, situation.actions)
        encouraged = self._encouraged(values, situation.tried_here)
        if encouraged is not None and self.rng.random() >= self.epsilon:
            return Decision(encouraged, "exemplar")
        return Decision(self._explore(situation.actions, values, situation.tried_here), "explore")

    def _encouraged(self, values: Mapping[str, float], tried: frozenset[str]) -> str | None:
        candidates = [(q, a) for a, q in values.items() if q > self.q_margin and a not in tried]
        if not candidates:
            return None
        # Highest q; equal values by action text, so that the choice is reproducible.
        return min(candidates, key=lambda pair: (-pair[0], pair[1]))[1]

    def _explore(
        self, actions: Sequence[str], values: Mapping[str, float], tried: frozenset[str]
    ) -> str:
        fresh = [a for a in actions if a not in tried] or list(actions)
        untried_anywhere = [a for a in fresh if a not in values]
        return self.rng.choice(untried_anywhere or fresh)


class ExemplarPolicy:
    """The exemplar rule as a policy; its reflections come from a template."""

    name = "exemplar"

    def __init__(self, rule: ExemplarRule | None = None) -> None:
        self.rule = rule or ExemplarRule()

    async def decide(self, situation: Situation) -> Decision:
        return self.rule.choose(situation)

    async def reflect(
        self, task: str, steps: Sequence[StepRecord], final_observation: str, won: bool
    ) -> str:
        return template_reflection(steps, final_observation, won)

    async def aclose(self) -> None:
        return None


def template_reflection(
    steps: Sequence[StepRecord], final_observation: str, won: bool, listed: int = 5
) -> str:
    """A reflection written from the trajectory: which actions earned nothing, how often,
    and where the episode ended."""
    outcome = "won" if won else "did not finish the task"
    earned = sum(step.reward for step in steps)
    useless: dict[str, int] = {}
    for step in steps:
        if step.reward <= 0:
            useless[step.action] = useless.get(step.action, 0) + 1
    most = sorted(useless.items(), key=lambda item: (-item[1], item[0]))[:listed]
    listed_text = "; ".join(f"{action} ×{count}" for action, count in most) or "none"
    ended = (final_observation.splitlines() or ["where I started"])[0]
    return (
        f"I {outcome} in {len(steps)} steps and earned {earned:.2f}. "
        f"Actions that earned nothing: {listed_text}. I ended at: {ended}. "
        "Next time I should try actions I have not tried in those places and stop "
        "repeating the ones above."
    )
