"""The pure part of the update, without a database: due pairs, written states, targets,
step sizes, and a call's plan."""

from __future__ import annotations

import pytest
from rememberer import schemas
from rememberer.errors import OutOfOrder, StepConflict
from rememberer.learning.episodes import Episode
from rememberer.learning.plan import (
    Applied,
    BootstrapFrom,
    FinalTarget,
    RepeatedInCall,
    Replayed,
    plan_call,
)
from rememberer.learning.targets import (
    Bootstrap,
    DuePair,
    discounted_sum,
    due_pairs,
    monte_carlo_target,
    moved_towards,
    n_step_target,
    written_states,
)
from rememberer.storage.keys import record_key


def transition(
    step: int, reward: float = 0.0, done: bool = False, truncated: bool = False
) -> schemas.Transition:
    return schemas.Transition(
        step=step,
        observation=f"o{step}",
        action="a",
        reward=reward,
        next_observation=f"o{step + 1}",
        done=done,
        truncated=truncated,
    )


def test_an_n_step_pair_is_due_when_its_bootstrap_state_arrives() -> None:
    assert due_pairs(0, done=False, n_step=2) == []
    assert due_pairs(1, done=False, n_step=2) == [DuePair(0, 2)]
    assert due_pairs(4, done=False, n_step=1) == [DuePair(4, 1)]
    assert due_pairs(3, done=False, n_step=None) == []


def test_done_makes_the_pending_pairs_due_without_bootstrap() -> None:
    assert due_pairs(3, done=True, n_step=2) == [DuePair(2, None), DuePair(3, None)]
    assert due_pairs(2, done=True, n_step=None) == [DuePair(t, None) for t in range(3)]


def test_truncated_makes_the_pending_pairs_bootstrap_from_the_final_state() -> None:
    # T = 4 transitions: pair t bootstraps from o_4 with horizon 4 − t.
    assert due_pairs(3, done=False, n_step=2, truncated=True) == [DuePair(2, 2), DuePair(3, 1)]
    assert due_pairs(3, done=False, n_step=None, truncated=True) == [
        DuePair(0, 4),
        DuePair(1, 3),
        DuePair(2, 2),
        DuePair(3, 1),
    ]


def test_written_states_include_a_truncated_steps_pending_pairs() -> None:
    new = [transition(0), transition(1, truncated=True)]
    assert written_states("task", [], new, n_step=3) == {
        record_key("task", "o0"),
        record_key("task", "o1"),
    }


def test_targets_are_discounted_sums() -> None:
    rewards = [0.0, 1.0, 2.0, 4.0]  # r_0 … r_3
    assert discounted_sum([1.0, 2.0, 4.0], 0.5) == 1.0 + 1.0 + 1.0
    assert monte_carlo_target(rewards, 0, 0.5) == 3.0
    assert monte_carlo_target(rewards, 2, 0.5) == 4.0
    bootstrap = n_step_target(rewards, 0, 2, 0.5)
    assert bootstrap == Bootstrap(rewards=2.0, discount=0.25)
    assert bootstrap.target(best=4.0) == 3.0


def test_step_sizes_are_the_running_mean_or_a_constant() -> None:
    assert moved_towards("mean", 0.3).format(table="a") == "(1.0::float8 / (a.visits + 1))"
    assert moved_towards("const", 0.3) == "0.3::float8"


def test_a_plan_names_outcomes_targets_and_texts() -> None:
    episode = Episode("e", "task")
    episode.steps.append(transition(0, 1.0))
    episode.answers[0] = []
    calls = [
        transition(0, 1.0),
        transition(1, 2.0),
        transition(1, 2.0),
        transition(2, truncated=True),
    ]
    plan = plan_call(episode, calls, n_step=2, gamma=1.0)
    kinds = [type(outcome) for outcome in plan.outcomes]
    assert kinds == [Replayed, Applied, RepeatedInCall, Applied]
    assert episode.status == "truncated" and episode.closed
    targets = [pair.target for pair in plan.pairs]
    # Step 1 makes pair 0 due (bootstrap from o2); the truncated step 2 pairs 1 and 2 (o3).
    assert targets == [
        BootstrapFrom(Bootstrap(3.0, 1.0), "o2", record_key("task", "o2")),
        BootstrapFrom(Bootstrap(2.0, 1.0), "o3", record_key("task", "o3")),
        BootstrapFrom(Bootstrap(0.0, 1.0), "o3", record_key("task", "o3")),
    ]
    assert plan.bootstraps
    assert plan.texts("task") == {"task", "o0", "o1", "o2", "o3"}


def test_a_done_plan_has_final_targets() -> None:
    plan = plan_call(Episode("e", "task"), [transition(0, 5.0, done=True)], 1, 1.0)
    assert [pair.target for pair in plan.pairs] == [FinalTarget(5.0)]
    assert not plan.bootstraps


def test_a_plan_refuses_changed_gapped_and_late_steps() -> None:
    episode = Episode("e", "task", steps=[transition(0)], answers={0: []})
    with pytest.raises(StepConflict):
        plan_call(episode, [transition(0, 9.0)], 1, 1.0)
    with pytest.raises(OutOfOrder):
        plan_call(Episode("e", "task"), [transition(1)], 1, 1.0)
    closed = Episode("e", "task", steps=[transition(0)], answers={0: []}, status="abandoned")
    with pytest.raises(OutOfOrder):
        plan_call(closed, [transition(1)], 1, 1.0)


def test_done_and_truncated_together_are_refused() -> None:
    with pytest.raises(ValueError, match="not both"):
        transition(0, done=True, truncated=True)
