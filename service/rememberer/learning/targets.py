"""The pure part of RLEM (CONTRACT.md, "Update semantics"): which pairs a transition makes
due, which state records they write, and their targets. No database here.

Notation as in the contract: transition `t` of an episode saw o_t, took a_t and received
r_{t+1}, arriving at o_{t+1}; r_0 = 0; `rewards[t]` is r_t. With horizon n:

1. pair (o_t, a_t) is due when o_{t+n} arrives (transition t+n−1, if it is not the last),
   with target G = Σ_{k<n} γ^k r_{t+k+1} + γ^n · max_a Q(o_{t+n}, a);
2. when the episode ends (`done`), the pairs not yet updated are due in order of t with the
   discounted return to the end, no bootstrap (every pair, for Monte-Carlo `n_step: null`);
3. when it is cut short (`truncated`, Gymnasium's distinction), the same pairs are due, but
   each bootstraps from the final observation o_T: h = T − t, G = Σ_{k<h} γ^k r_{t+k+1} +
   γ^h · max_a Q(o_T, a).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rememberer import schemas
from rememberer.storage.keys import record_key


@dataclass(frozen=True)
class DuePair:
    """Pair (o_t, a_t) is due; `horizon` None means the discounted return to the end of the
    episode (no bootstrap), else the target bootstraps from o_{t+horizon}."""

    t: int
    horizon: int | None


def due_pairs(step: int, done: bool, n_step: int | None, truncated: bool = False) -> list[DuePair]:
    """The pairs to update when transition `step` arrives."""
    if done or truncated:
        first = 0 if n_step is None else max(0, step + 1 - n_step)
        return [DuePair(t, None if done else step + 1 - t) for t in range(first, step + 1)]
    if n_step is None or step + 1 - n_step < 0:
        return []
    return [DuePair(step + 1 - n_step, n_step)]


def ends_episode(transition: schemas.Transition) -> bool:
    return transition.done or transition.truncated


def written_states(
    task: str,
    stored: Sequence[schemas.Transition],
    transitions: Iterable[schemas.Transition],
    n_step: int | None,
) -> set[bytes]:
    """The keys of the state records a call's new transitions update, after the episode's
    `stored` steps: the observations o_t of their due pairs."""
    observations = [s.observation for s in stored]
    keys: set[bytes] = set()
    for transition in transitions:
        # Replayed steps write nothing; an out-of-order one fails the call before writing.
        if transition.step != len(observations):
            continue
        observations.append(transition.observation)
        due = due_pairs(transition.step, transition.done, n_step, transition.truncated)
        keys.update(record_key(task, observations[pair.t]) for pair in due)
    return keys


def discounted_sum(rewards: Sequence[float], gamma: float) -> float:
    return sum(gamma**k * reward for k, reward in enumerate(rewards))


def monte_carlo_target(rewards: Sequence[float], t: int, gamma: float) -> float:
    """The discounted return from o_t to the end: Σ_k γ^k r_{t+k+1} (`rewards[i]` = r_i)."""
    return discounted_sum(rewards[t + 1 :], gamma)


@dataclass(frozen=True)
class Bootstrap:
    """An n-step target short of its bootstrap term: G = rewards + discount · max_a Q(o)."""

    rewards: float
    discount: float

    def target(self, best: float) -> float:
        return self.rewards + self.discount * best


def n_step_target(rewards: Sequence[float], t: int, horizon: int, gamma: float) -> Bootstrap:
    """Σ_{k<h} γ^k r_{t+k+1} and γ^h, for the bootstrap from o_{t+h} (`rewards[i]` = r_i)."""
    return Bootstrap(discounted_sum(rewards[t + 1 : t + horizon + 1], gamma), gamma**horizon)


def moved_towards(mode: str, learning_rate: float) -> str:
    """SQL for the step size of `x += (target − x) · rate` on a row `{table}` with `visits`
    so far: the running mean ("mean": 1 / (visits + 1)) or a constant rate ("const")."""
    if mode == "mean":
        return "(1.0::float8 / ({table}.visits + 1))"
    return f"{float(learning_rate)!r}::float8"
