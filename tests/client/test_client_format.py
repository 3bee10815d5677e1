"""format_exemplars: exact, deterministic text."""

from __future__ import annotations

import doctest

import pytest
import rememberer_client as rc


def action(name: str, q: float, visits: int = 1, note: str | None = None) -> rc.ActionValue:
    return rc.ActionValue(action=name, q=q, reward=0.0, visits=visits, note=note)


def exemplar(
    actions: list[rc.ActionValue],
    *,
    history: list[str] | None = None,
    task: str = "open the door",
    observation: str = "a locked door",
    score: float = 0.5,
) -> rc.Exemplar:
    return rc.Exemplar(
        record_id=1,
        task=task,
        observation=observation,
        visits=1,
        last_reward=0.0,
        total_reward=0.0,
        action_history=history or [],
        actions=actions,
        score=score,
        task_score=score,
        observation_score=score,
    )


def test_docstring_example_holds() -> None:
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for test in doctest.DocTestFinder().find(rc.format_exemplars, "format_exemplars"):
        runner.run(test)
    results = runner.summarize(verbose=False)
    assert results.attempted > 0 and results.failed == 0


def test_full_output_of_two_exemplars() -> None:
    text = rc.format_exemplars(
        [
            exemplar(
                [action("take key", 2.0, note="key opens it"), action("kick door", -1.0)],
                history=["look", "go north", "look", "go east", "look", "search", "look"],
                score=0.876,
            ),
            exemplar(
                [action("wait", 0.0)],
                task="cross the river",
                observation="a wide river\nno bridge in sight",
            ),
        ],
        max_actions=3,
        include_scores=True,
    )
    assert text == (
        "Example 1 (similarity 0.88):\n"
        "Task: open the door\n"
        "Observation: a locked door\n"
        "Last actions:\n"
        "- look\n"
        "- search\n"
        "- look\n"
        "Encouraged:\n"
        "- take key -> Q = 2.00 (key opens it)\n"
        "Discouraged:\n"
        "- kick door -> Q = -1.00\n"
        "\n"
        "Example 2 (similarity 0.50):\n"
        "Task: cross the river\n"
        "Observation:\n"
        "  a wide river\n"
        "  no bridge in sight\n"
        "Last actions: (none)\n"
        "Encouraged: (none)\n"
        "Discouraged:\n"
        "- wait -> Q = 0.00"
    )


def test_encouraged_and_discouraged_rules() -> None:
    def sections(actions: list[rc.ActionValue]) -> str:
        text = rc.format_exemplars([exemplar(actions)], max_actions=0, include_notes=False)
        return text.split("Observation: a locked door\n", 1)[1]

    # Several actions with q <= 0: all discouraged, lowest first.
    assert sections([action("a", 0.0), action("b", 3.0), action("c", -2.0)]) == (
        "Encouraged:\n- b -> Q = 3.00\nDiscouraged:\n- c -> Q = -2.00\n- a -> Q = 0.00"
    )
    # All positive: the lowest one is discouraged for contrast.
    assert sections([action("a", 0.5), action("b", 3.0), action("c", 1.0)]) == (
        "Encouraged:\n- b -> Q = 3.00\nDiscouraged:\n- a -> Q = 0.50"
    )
    # One positive action: nothing to contrast with.
    assert sections([action("a", 0.5)]) == "Encouraged:\n- a -> Q = 0.50\nDiscouraged: (none)"
    # Never encourage an action that did not pay off.
    assert sections([action("a", -0.5), action("b", -0.25)]) == (
        "Encouraged: (none)\nDiscouraged:\n- a -> Q = -0.50\n- b -> Q = -0.25"
    )
    assert sections([]) == "Encouraged: (none)\nDiscouraged: (none)"


def test_ties_are_deterministic() -> None:
    tied = [action("zeta", 1.0, visits=1), action("alpha", 1.0, visits=1), action("mid", 1.0, 5)]
    expected = rc.format_exemplars([exemplar(tied)])
    assert "Encouraged:\n- mid -> Q = 1.00" in expected
    assert "Discouraged:\n- zeta -> Q = 1.00" in expected
    for order in ([2, 1, 0], [1, 0, 2], [0, 2, 1]):
        assert rc.format_exemplars([exemplar([tied[i] for i in order])]) == expected


def test_options() -> None:
    ex = exemplar(
        [action("a", 1.23456, note="because"), action("b", -0.0001)],
        history=["x"],
        observation="o" * 50,
    )
    text = rc.format_exemplars([ex], precision=3, include_notes=False, max_text_chars=10)
    assert "Observation: ooooooooo…\n" in text
    assert "- a -> Q = 1.235\n" in text
    assert "because" not in text
    assert "- b -> Q = 0.000" in text  # no "-0.000"
    assert "similarity" not in text
    assert "Last actions" not in rc.format_exemplars([ex], max_actions=0)


def test_plain_records_and_empty_input() -> None:
    record = rc.Record(
        record_id=1,
        task="t",
        observation="o",
        visits=1,
        last_reward=0.0,
        total_reward=0.0,
        action_history=["h"],
        actions=[action("a", 1.0)],
    )
    assert rc.format_exemplars([record], include_scores=True).startswith("Example 1:\n")
    assert rc.format_exemplars([]) == ""


def test_multiline_action_stays_inside_its_bullet() -> None:
    text = rc.format_exemplars([exemplar([action("type[line one\nline two]", 1.0)])])
    assert "- type[line one\n  line two] -> Q = 1.00" in text


@pytest.mark.parametrize("kwargs", [{"max_actions": -1}, {"precision": -1}, {"max_text_chars": 0}])
def test_bad_options(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        rc.format_exemplars([], **kwargs)  # type: ignore[arg-type]
