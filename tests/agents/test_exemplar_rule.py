"""REMEMBERER's exemplar rule on hand-made exemplars, and the helpers around it."""

from __future__ import annotations

import random
from collections.abc import Sequence

import pytest
from rememberer_agents.cli import parse_game_seeds, parse_games, transfer_games
from rememberer_agents.envs import Game
from rememberer_agents.language_model import parse_action
from rememberer_agents.policy import (
    ExemplarRule,
    Situation,
    StepRecord,
    known_values,
    template_reflection,
)
from rememberer_client import ActionValue, Exemplar

ACTIONS = ("go east", "go west", "take coin")


def exemplar(
    values: Sequence[tuple[str, float, int]], score: float = 1.0, task: str = "find the coin"
) -> Exemplar:
    return Exemplar(
        record_id=1,
        task=task,
        observation="a room",
        visits=sum(v for _, _, v in values),
        last_reward=0.0,
        total_reward=0.0,
        action_history=[],
        actions=[ActionValue(action=a, q=q, reward=0.0, visits=v) for a, q, v in values],
        score=score,
        task_score=1.0,
        observation_score=score,
    )


def situation(exemplars: Sequence[Exemplar], tried: frozenset[str] = frozenset()) -> Situation:
    return Situation("find the coin", "a room", ACTIONS, exemplars, (), tried)


def rule(epsilon: float = 0.0) -> ExemplarRule:
    return ExemplarRule(rng=random.Random(7), q_margin=0.01, epsilon=epsilon)


def test_takes_the_admissible_action_with_the_highest_q() -> None:
    found = [exemplar([("go east", 0.5, 3), ("take coin", 0.9, 1), ("jump", 5.0, 1)])]
    decision = rule().choose(situation(found))
    assert (decision.action, decision.source) == ("take coin", "exemplar")


def test_the_nearest_exemplar_decides_an_actions_value() -> None:
    nearest = exemplar([("go east", 0.2, 1)], score=0.99)
    farther = exemplar([("go east", 0.9, 1), ("go west", 0.5, 1)], score=0.96)
    assert known_values([nearest, farther], ACTIONS) == {"go east": 0.2, "go west": 0.5}
    assert rule().choose(situation([nearest, farther])).action == "go west"


def test_an_action_taken_here_in_this_episode_is_not_repeated() -> None:
    found = [exemplar([("go east", 0.6, 4), ("go west", 0.3, 2)])]
    decision = rule().choose(situation(found, tried=frozenset({"go east"})))
    assert (decision.action, decision.source) == ("go west", "exemplar")


def test_values_within_the_margin_do_not_count_as_encouraged() -> None:
    found = [exemplar([("go east", 0.005, 9), ("go west", 0.0, 1), ("take coin", -0.2, 1)])]
    decision = rule().choose(situation(found))
    assert decision.source == "explore"


def test_exploration_prefers_actions_never_tried_and_not_taken_here() -> None:
    found = [exemplar([("go east", 0.0, 5), ("go west", 0.0, 2)])]
    assert rule().choose(situation(found)).action == "take coin"  # never tried
    found = [exemplar([("go east", 0.0, 5), ("go west", 0.0, 2), ("take coin", 0.0, 1)])]
    tried = frozenset({"take coin", "go east"})
    decision = rule().choose(situation(found, tried=tried))
    assert (decision.action, decision.source) == ("go west", "explore")


def test_every_action_taken_here_leaves_all_of_them_open() -> None:
    decision = rule().choose(situation([], tried=frozenset(ACTIONS)))
    assert decision.action in ACTIONS


def test_epsilon_one_always_explores() -> None:
    found = [exemplar([("go east", 0.9, 1)])]
    assert rule(epsilon=1.0).choose(situation(found)).source == "explore"


def test_the_same_seed_makes_the_same_choices() -> None:
    choices = [[rule().choose(situation([])).action for _ in range(10)] for _ in range(2)]
    assert choices[0] == choices[1]


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("take coin", "take coin"),
        ("Action: Go East.", "go east"),
        ("`go west`\nbecause the coin is there", "go west"),
        ("I think I should take coin now", "take coin"),
        ("go east or go west", None),
        ("dance", None),
        ("", None),
    ],
)
def test_replies_parse_to_an_admissible_action(reply: str, expected: str | None) -> None:
    assert parse_action(reply, ACTIONS) == expected


def test_the_template_reflection_names_useless_actions_and_the_end() -> None:
    steps = [
        StepRecord("Kitchen", "go east", 0.0),
        StepRecord("Hall", "go west", 0.0),
        StepRecord("Kitchen", "go east", 0.0),
    ]
    text = template_reflection(steps, "-= Hall =-\nA hall.", won=False)
    assert "go east ×2" in text and "go west ×1" in text
    assert "-= Hall =-" in text and "3 steps" in text


def test_games_parse_from_counts_and_from_seeds() -> None:
    assert parse_games("coin_collector:2,simple:1") == [
        Game("coin_collector", 101),
        Game("coin_collector", 102),
        Game("simple", 1),
    ]
    assert parse_game_seeds("coin_collector:101,102,simple:7,8") == [
        Game("coin_collector", 101),
        Game("coin_collector", 102),
        Game("simple", 7),
        Game("simple", 8),
    ]
    unseen = transfer_games(parse_games("coin_collector:2"), 2)
    assert unseen == [Game("coin_collector", 1102), Game("coin_collector", 1103)]
