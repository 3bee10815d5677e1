"""What an update call will do, decided before any statement is sent: each transition's
outcome, each due pair's writes and target, and the texts whose vectors they need.

Planning is pure (no database): it checks the steps' order against the episode's stored
steps, appends the new ones to the episode, and names everything the sending phase needs.
The sending phase then gets the vectors as a finished mapping, so it has nothing to look up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rememberer import schemas
from rememberer.errors import OutOfOrder, StepConflict
from rememberer.learning.episodes import Episode, status_after
from rememberer.learning.targets import (
    Bootstrap,
    DuePair,
    due_pairs,
    monte_carlo_target,
    n_step_target,
    written_states,
)
from rememberer.storage.keys import record_key


@dataclass(frozen=True)
class FinalTarget:
    """The discounted return to the end of the episode: no bootstrap."""

    value: float


@dataclass(frozen=True)
class BootstrapFrom:
    """G = rewards + discount · max_a Q(o, a), o = `observation` (its record key `key`)."""

    bootstrap: Bootstrap
    observation: str
    key: bytes


@dataclass(frozen=True)
class PairUpdate:
    """Pair (o_t, a_t): its state record's writes and its action value's target."""

    key: bytes
    observation: str
    action: str
    note: str | None
    reward: float  # r_{t+1}
    last_reward: float  # r_t
    total_reward: float  # r_0 + … + r_t
    history: tuple[str, ...]  # a_0 … a_{t−1}
    target: FinalTarget | BootstrapFrom


@dataclass(frozen=True)
class Replayed:
    """A step applied by an earlier call: it answers as it did then."""

    answers: list[schemas.UpdatedValue]


@dataclass(frozen=True)
class RepeatedInCall:
    """A step sent twice in this call: it answers as its first sending."""

    step: int


@dataclass(frozen=True)
class Applied:
    """A new step and the pair updates it makes due."""

    transition: schemas.Transition
    pairs: list[PairUpdate]


Outcome = Replayed | RepeatedInCall | Applied


@dataclass(frozen=True)
class Plan:
    outcomes: list[Outcome]
    # The state records the pair updates write (to lock them first, in one order).
    written: set[bytes]

    @property
    def pairs(self) -> list[PairUpdate]:
        pairs: list[PairUpdate] = []
        for outcome in self.outcomes:
            match outcome:
                case Applied(pairs=due):
                    pairs.extend(due)
                case Replayed() | RepeatedInCall():
                    pass
        return pairs

    @property
    def bootstraps(self) -> bool:
        """Whether some pair's target bootstraps (and so ranks records)."""
        for pair in self.pairs:
            match pair.target:
                case BootstrapFrom():
                    return True
                case FinalTarget():
                    pass
        return False

    def texts(self, task: str) -> set[str]:
        """Every text whose vector the pair updates need."""
        texts = {task}
        for pair in self.pairs:
            texts.add(pair.observation)
            match pair.target:
                case BootstrapFrom(observation=following):
                    texts.add(following)
                case FinalTarget():
                    pass
        return texts


def plan_call(
    episode: Episode,
    transitions: Sequence[schemas.Transition],
    n_step: int | None,
    gamma: float,
) -> Plan:
    """The call's plan; the new steps are appended to `episode` (and its status moved)."""
    written = written_states(episode.task, episode.steps, transitions, n_step)
    first_new = len(episode.steps)
    outcomes: list[Outcome] = []
    for transition in transitions:
        if transition.step < len(episode.steps):
            outcomes.append(_replay(episode, transition, first_new))
            continue
        _check_next(episode, transition)
        episode.steps.append(transition)
        episode.status = status_after(transition)
        due = due_pairs(transition.step, transition.done, n_step, transition.truncated)
        outcomes.append(Applied(transition, [_pair(episode, pair, gamma) for pair in due]))
    return Plan(outcomes, written)


def _replay(episode: Episode, transition: schemas.Transition, first_new: int) -> Outcome:
    if episode.steps[transition.step] != transition:
        raise StepConflict(
            f"step {transition.step} of episode {episode.episode_id!r} was already applied "
            "with different content; steps cannot be changed"
        )
    if transition.step >= first_new:
        return RepeatedInCall(transition.step)
    return Replayed(episode.answers[transition.step])


def _check_next(episode: Episode, transition: schemas.Transition) -> None:
    if episode.closed:
        raise OutOfOrder(
            f"episode {episode.episode_id!r} ended at step {len(episode.steps) - 1} "
            f"({episode.status}); start a new episode_id"
        )
    if transition.step != len(episode.steps):
        raise OutOfOrder(
            f"episode {episode.episode_id!r} expects step {len(episode.steps)} next, "
            f"not {transition.step}; send the missing steps first"
        )


def _pair(episode: Episode, due: DuePair, gamma: float) -> PairUpdate:
    t, step = due.t, episode.steps[due.t]
    rewards = episode.rewards
    target: FinalTarget | BootstrapFrom
    if due.horizon is None:
        target = FinalTarget(monte_carlo_target(rewards, t, gamma))
    else:
        following = episode.observation(t + due.horizon)
        target = BootstrapFrom(
            n_step_target(rewards, t, due.horizon, gamma),
            following,
            record_key(episode.task, following),
        )
    return PairUpdate(
        key=record_key(episode.task, step.observation),
        observation=step.observation,
        action=step.action,
        note=step.note,
        reward=step.reward,
        last_reward=rewards[t],
        total_reward=sum(rewards[: t + 1]),
        history=tuple(s.action for s in episode.steps[:t]),
        target=target,
    )
